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

fs::path create_run_dir(const fs::path& root, const std::string& experiment, const std::string& id) {
  fs::path parent = root / experiment;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw BadInput("cannot create output folder " + parent.string() + ": " + ec.message(), __FILE__, __LINE__);
  auto try_make = [&](const fs::path& p) { return ::mkdir(p.c_str(), 0755) == 0; };
  if (!id.empty()) {
    fs::path dir = parent / id;
    if (!try_make(dir)) {
      if (errno == EEXIST)
        throw BadInput("run folder " + dir.string() + " exists already; a run never overwrites another "
                       "(choose another experiment.run_id or leave it empty)", __FILE__, __LINE__);
      throw BadInput("cannot create run folder " + dir.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
    }
    return dir;
  }
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  for (int n = 0; n < 1000; ++n) {
    fs::path dir = parent / (n == 0 ? std::string(stamp) : std::string(stamp) + "-" + std::to_string(n));
    if (try_make(dir)) return dir;
    if (errno != EEXIST)
      throw BadInput("cannot create run folder " + dir.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
  }
  throw Error("could not find a free run folder name under " + parent.string(), __FILE__, __LINE__);
}

fs::path resumable_dir(const fs::path& root, const std::string& experiment, const std::string& run_id,
                       const std::string& prefix, const std::string& config_yaml) {
  std::string id = run_id;
  if (id.empty()) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char c : config_yaml) h = (h ^ c) * 1099511628211ULL;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(h & 0xffffffffffffULL));
    id = prefix + buf;
  }
  return root / experiment / id;
}

void open_resumable(const fs::path& dir, const std::string& config_yaml, const std::string& what) {
  // Several jobs (a Slurm array) may open the same folder at once: one at a
  // time, under a lock file inside it.
  const bool existed = fs::exists(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw BadInput("cannot create " + what + " folder " + dir.string() + ": " + ec.message(), __FILE__, __LINE__);
  const fs::path lock_path = dir / ".open.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw BadInput("cannot create " + lock_path.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{fd};
  ::flock(fd, LOCK_EX);
  if (fs::exists(dir / "config.yaml")) {
    if (read_file(dir / "config.yaml") != config_yaml)
      throw BadInput(what + " folder " + dir.string() + " holds a " + what +
                         " with a different config; refusing to mix them (change experiment.run_id, or remove "
                         "that folder)",
                     __FILE__, __LINE__);
    return;
  }
  bool empty = true;
  for (const auto& e : fs::directory_iterator(dir)) empty = empty && e.path().filename() == ".open.lock";
  if (existed && !empty)
    throw BadInput(what + " folder " + dir.string() + " exists and is not a " + what + " of this config", __FILE__,
                   __LINE__);
  atomic_write(dir / "config.yaml", config_yaml);
}

fs::path reuse_or_fresh(const fs::path& dir) {
  if (fs::exists(dir / "resume" / "state.json")) return dir;
  std::error_code ec;
  fs::remove_all(dir, ec);  // an interrupted attempt with nothing to resume from
  fs::create_directories(dir);
  return dir;
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
