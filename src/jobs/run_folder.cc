#include "jobs/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/error.h"
#include "core/fs.h"
#include "jobs/same_program.h"

namespace tf::jobs {

namespace {
constexpr size_t kMaxName = 200;

std::string host_name() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// Everything in `dir` but the lock files.
// A folder with nothing but locks and the temp file of a write that was cut
// short (core/fs.h: "<name>.tmp.<pid>"): a job killed as it started.
bool holds_only_locks(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n != kLockFile && n != ".open.lock" && n.find(".tmp.") == std::string::npos) return false;
  }
  return true;
}
}  // namespace

void check_name(const std::string& key, const std::string& value) {
  auto bad = [&](const std::string& why) {
    std::string shown;
    for (unsigned char c : value.substr(0, 60)) shown += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    throw BadInput(key + ": \"" + shown + (value.size() > 60 ? "..." : "") + "\" is not a usable folder name (" + why +
                       "); use letters, digits, '-', '_' or '.'",
                   __FILE__, __LINE__);
  };
  if (value.empty()) bad("empty");
  if (value.size() > kMaxName) bad(std::to_string(value.size()) + " bytes, at most " + std::to_string(kMaxName));
  if (value.find('/') != std::string::npos) bad("it contains '/'");
  if (value.find("..") != std::string::npos || value == ".") bad("it contains '..' or is '.'");
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f) bad("it contains a control character");
}

void check_names(const config::Config& cfg) {
  check_name("experiment.name", cfg.get_string("experiment.name"));
  if (!cfg.get_string("experiment.run_id").empty()) check_name("experiment.run_id", cfg.get_string("experiment.run_id"));
}

std::string lock_holder(const fs::path& dir) {
  std::string text;
  try {
    text = read_file(dir / kLockFile);
  } catch (const std::exception&) {
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "unknown" : text;
}

FolderLock::FolderLock(const fs::path& dir, const std::string& what, Mode mode) : dir_(dir) {
  const fs::path path = dir / kLockFile;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw BadInput("cannot create " + path.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
  if (::flock(fd_, (mode == Mode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw BadInput(what + " folder " + dir.string() + " is in use by another job (" + lock_holder(dir) +
                         "); wait for it to end, or stop it",
                     __FILE__, __LINE__);
    throw BadInput("cannot lock " + path.string() + ": " + std::strerror(err), __FILE__, __LINE__);
  }
  const std::string me = "host " + host_name() + ", pid " + std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) == static_cast<ssize_t>(me.size())) return;
  // The record is for messages only; the flock is what counts.
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

fs::path create_run_dir(const fs::path& root, const std::string& experiment, const std::string& id) {
  check_name("experiment.name", experiment);
  if (!id.empty()) check_name("experiment.run_id", id);
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

fs::path job_dir(const config::Config& cfg, const std::string& prefix) {
  check_names(cfg);
  std::string id = cfg.get_string("experiment.run_id");
  if (id.empty()) {
    const std::string yaml = cfg.to_yaml();
    const uint64_t h = text_hash(yaml);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(h & 0xffffffffffffULL));
    id = prefix + buf;
  }
  return fs::path(cfg.get_string("experiment.output_dir")) / cfg.get_string("experiment.name") / id;
}

JobFolder open_job_folder(const config::Config& cfg, const std::string& prefix, const std::string& what, bool lock,
                          FolderLock::Mode mode) {
  JobFolder out;
  out.dir = job_dir(cfg, prefix);
  const fs::path& dir = out.dir;
  const std::string yaml = cfg.to_yaml();
  const bool existed = fs::exists(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw BadInput("cannot create " + what + " folder " + dir.string() + ": " + ec.message(), __FILE__, __LINE__);
  if (lock) out.lock = std::make_unique<FolderLock>(dir, what, mode);
  // Jobs that share a folder (a Slurm array, tune sessions) open it one at a time.
  const fs::path open_lock = dir / ".open.lock";
  int fd = ::open(open_lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw BadInput("cannot create " + open_lock.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{fd};
  ::flock(fd, LOCK_EX);
  if (fs::exists(dir / "config.yaml")) {
    if (read_file(dir / "config.yaml") != yaml)
      throw BadInput(what + " folder " + dir.string() + " holds a " + what +
                         " with a different config; refusing to mix them (change experiment.run_id, or remove "
                         "that folder)",
                     __FILE__, __LINE__);
    return out;
  }
  if (existed && !holds_only_locks(dir))
    throw BadInput(what + " folder " + dir.string() + " exists and is not a " + what + " of this config", __FILE__,
                   __LINE__);
  atomic_write(dir / "config.yaml", yaml);
  return out;
}

fs::path reuse_or_fresh(const fs::path& dir) {
  if (fs::exists(dir / "resume" / "state.json")) return dir;
  std::error_code ec;
  fs::remove_all(dir, ec);  // an interrupted attempt with nothing to resume from
  fs::create_directories(dir);
  return dir;
}

TrainFolder::TrainFolder(const config::Config& cfg) {
  check_names(cfg);
  const fs::path root = cfg.get_string("experiment.output_dir");
  const std::string name = cfg.get_string("experiment.name"), id = cfg.get_string("experiment.run_id");
  if (id.empty()) {
    dir_ = create_run_dir(root, name, "");
    lock_ = std::make_unique<FolderLock>(dir_, "run");
    return;
  }
  dir_ = root / name / id;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw BadInput("cannot create run folder " + dir_.string() + ": " + ec.message(), __FILE__, __LINE__);
  lock_ = std::make_unique<FolderLock>(dir_, "run");
  TF_CHECK_INPUT(!fs::exists(dir_ / "summary.json"),
                 "run folder " + dir_.string() + " exists already and holds a finished run (summary.json); a run "
                 "never overwrites another (choose another experiment.run_id)");
  if (fs::exists(dir_ / "config.yaml")) {
    TF_CHECK_INPUT(read_file(dir_ / "config.yaml") == cfg.to_yaml(),
                   "run folder " + dir_.string() + " holds a run of another config; a run never overwrites another "
                   "(choose another experiment.run_id)");
    if (fs::exists(dir_ / "resume" / "state.json")) {
      resuming_ = true;
      return;
    }
  } else {
    TF_CHECK_INPUT(holds_only_locks(dir_), "run folder " + dir_.string() +
                                               " exists and holds no run of this config; a run never overwrites "
                                               "another (choose another experiment.run_id)");
  }
  // Stopped before its first resume checkpoint: start again, in the same folder.
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().filename() != kLockFile) fs::remove_all(e.path(), ec);
}

std::string train_rerun_hint(const config::Config& cfg, const fs::path& dir) {
  if (cfg.get_string("experiment.run_id").empty())
    return "experiment.run_id is empty, so rerunning the same command starts a new run from the beginning in a new "
           "folder (give experiment.run_id to make a run resumable)";
  if (fs::exists(dir / "resume" / "state.json"))
    return "rerunning the same command continues this run from its resume checkpoint in " + dir.string();
  return "rerunning the same command starts this run again from the beginning in " + dir.string();
}

}  // namespace tf::jobs
