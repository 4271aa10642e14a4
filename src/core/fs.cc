#include "core/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace tf {

namespace {
void fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

void atomic_write_with(const fs::path& path, const std::function<void(const fs::path&)>& writer, bool durable) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  try {
    writer(tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  if (durable) fsync_path(tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message(),
                __FILE__, __LINE__);
  }
  if (durable) fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

void atomic_write(const fs::path& path, const std::string& content, bool durable) {
  atomic_write_with(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + tmp.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
    out << content;
    out.flush();
    if (!out) throw Error("short write to " + tmp.string(), __FILE__, __LINE__);
  }, durable);
}

void check_regular_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || st.type() == fs::file_type::regular) return;  // a missing file is reported by its reader
  const char* kind = st.type() == fs::file_type::directory  ? "a folder"
                     : st.type() == fs::file_type::fifo     ? "a FIFO (named pipe)"
                     : st.type() == fs::file_type::socket   ? "a socket"
                     : st.type() == fs::file_type::block || st.type() == fs::file_type::character ? "a device"
                                                                                                    : "not a regular file";
  throw BadInput(what + " " + path.string() + " is " + kind + "; expected a regular file", __FILE__, __LINE__);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput("cannot read file " + path.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_line(const fs::path& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  if (!out) throw Error("cannot append to " + path.string(), __FILE__, __LINE__);
  out << line << '\n';
  out.flush();
}

}  // namespace tf
