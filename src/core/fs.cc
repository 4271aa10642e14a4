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

void fsync_dir(const fs::path& p) {  // best effort: not every file system syncs folders
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Writes all of `data` to `fd`; returns 0 or the errno of the failed write.
int write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

// The first line of an exception's message (LibTorch's carry a stack trace).
std::string first_line(const char* what) {
  std::string s = what;
  return s.substr(0, s.find('\n'));
}

}  // namespace

void atomic_write_with(const fs::path& path, const std::function<void(const fs::path&)>& writer, bool durable) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  auto drop_tmp = [&] {
    std::error_code ec;
    fs::remove(tmp, ec);
  };
  try {
    writer(tmp);
  } catch (const Error&) {
    drop_tmp();
    throw;
  } catch (const std::exception& e) {  // a library's writer (LibTorch, HDF5, LIBSVM)
    drop_tmp();
    throw Error("cannot write " + path.string() + ": " + first_line(e.what()), __FILE__, __LINE__);
  }
  if (durable) {
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    const int err = fd < 0 ? errno : ::fsync(fd) != 0 ? errno : 0;
    if (fd >= 0) ::close(fd);
    if (err != 0) {
      drop_tmp();
      throw IoError(path.string(), err, __FILE__, __LINE__);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    drop_tmp();
    throw IoError(path.string(), err, __FILE__, __LINE__);
  }
  if (durable) fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

void atomic_write(const fs::path& path, const std::string& content, bool durable) {
  atomic_write_with(path, [&](const fs::path& tmp) {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw IoError(path.string(), errno, __FILE__, __LINE__);
    int err = write_all(fd, content.data(), content.size());
    if (::close(fd) != 0 && err == 0) err = errno;  // NFS and quotas may report here
    if (err != 0) throw IoError(path.string(), err, __FILE__, __LINE__);
  }, durable);
}

void append_bytes(const fs::path& path, const std::string& bytes, bool durable) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(path.string(), errno, __FILE__, __LINE__);
  struct stat st {};
  const bool sized = ::fstat(fd, &st) == 0;
  int err = write_all(fd, bytes.data(), bytes.size());
  if (err == 0 && durable && ::fsync(fd) != 0) err = errno;
  if (err != 0 && sized) {
    const int cut = ::ftruncate(fd, st.st_size);  // drop a partial append: earlier lines stay whole
    (void)cut;
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) throw IoError(path.string(), err, __FILE__, __LINE__);
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

void append_line(const fs::path& path, const std::string& line) { append_bytes(path, line + "\n", false); }

}  // namespace tf
