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
