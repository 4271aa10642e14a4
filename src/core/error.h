// Error types shared by every module, and the exit codes the CLI maps them to.
//
// BadInput   : the user's config, data or command line is wrong (exit code 2).
//              The message names the key, file or value at fault.
// Error      : anything else that went wrong (exit code 1).
// IoError    : writing a file failed (disk full, read-only file system,
//              quota, I/O error): exit code 1, the message names the file and
//              the system's reason ("No space left on device").
// Both carry the source location where they were raised; the app layer adds
// host and rank when it prints them.
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>

namespace tf {

enum ExitCode : int { kExitOk = 0, kExitInternal = 1, kExitBadInput = 2 };

class Error : public std::runtime_error {
 public:
  Error(const std::string& what, const char* file = "", int line = 0)
      : std::runtime_error(what), file_(file), line_(line) {}
  virtual int exit_code() const { return kExitInternal; }
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  const char* file_;
  int line_;
};

class BadInput : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitBadInput; }
};

class IoError : public Error {
 public:
  // `err`: the errno of the failed call.
  IoError(const std::string& path, int err, const char* file = "", int line = 0)
      : Error("cannot write " + path + ": " + std::strerror(err), file, line), err_(err) {}
  int error_number() const { return err_; }

 private:
  int err_;
};

}  // namespace tf

// Brace-safe checks (never a bare `if`): TF_CHECK raises Error, TF_CHECK_INPUT raises BadInput.
#define TF_CHECK(cond, msg)                                   \
  do {                                                        \
    if (!(cond)) throw ::tf::Error((msg), __FILE__, __LINE__); \
  } while (0)
#define TF_CHECK_INPUT(cond, msg)                                \
  do {                                                           \
    if (!(cond)) throw ::tf::BadInput((msg), __FILE__, __LINE__); \
  } while (0)
