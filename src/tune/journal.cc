#include "tune/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"

namespace tf::tune {

Journal::Journal(std::filesystem::path path, bool warn) : path_(std::move(path)), warn_(warn) {
  lock_path_ = path_;
  lock_path_ += ".lock";
}

Journal::Lock::Lock(const Journal& j) {
  fd_ = ::open(j.lock_path_.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd_ < 0) throw Error("cannot open " + j.lock_path_.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd_);
      throw Error("cannot lock " + j.lock_path_.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
    }
  }
}

Journal::Lock::~Lock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

const StudyState& Journal::read() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return replay_.state();
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  if (size < parsed_bytes_) {  // replaced by another file: start over
    replay_ = Replay();
    skipped_.clear();
    parsed_bytes_ = 0;
  }
  in.seekg(static_cast<std::streamoff>(parsed_bytes_));
  std::string text(size - parsed_bytes_, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  size_t pos = 0;
  // An incomplete last line may still be being written: it waits. A torn
  // line of a killed writer is followed by the next append's line and then
  // skipped like any damaged line.
  for (size_t nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    const std::string why = replay_.apply(text.substr(pos, nl - pos));
    if (why.empty()) continue;
    skipped_.push_back(replay_.lines());
    if (warn_) spdlog::warn("{} line {}: {}; skipped", path_.string(), replay_.lines(), why);
  }
  parsed_bytes_ += pos;
  return replay_.state();
}

void Journal::append(const nlohmann::json& record, bool durable) const {
  std::string line = journal_line(record) + "\n";
  // A torn tail from a killed writer would glue onto this record: start on a fresh line.
  int rfd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd >= 0) {
    struct stat st;
    char last = '\n';
    if (::fstat(rfd, &st) == 0 && st.st_size > 0 && ::pread(rfd, &last, 1, st.st_size - 1) != 1) last = '\n';
    ::close(rfd);
    if (last != '\n') line = "\n" + line;
  }
  append_bytes(path_, line, durable);
}

void check_results_kept(const Journal& j, const StudyState& s, const std::filesystem::path& study_dir) {
  namespace fs = std::filesystem;
  std::vector<int64_t> finished, with_folds;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(study_dir / "trials", ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 7 || name.size() > 15 || name.compare(0, 6, "trial_") != 0 ||
        name.find_first_not_of("0123456789", 6) != std::string::npos)
      continue;
    const int64_t n = std::stoll(name.substr(6));
    if (fs::exists(e.path() / "summary.json")) finished.push_back(n);
    for (const auto& sub : fs::directory_iterator(e.path(), ec))  // folds of a cross-validated trial
      if (fs::exists(sub.path() / "summary.json")) {
        with_folds.push_back(n);
        break;
      }
  }
  const auto lost = lost_results(s, finished, with_folds,
                                 [&](const std::string& session) { return SessionLock::alive(study_dir, session); });
  if (lost.empty()) return;
  std::string msg = j.path().string() + " does not match the trial folders beside it, which hold finished results "
                    "(trials/trial_NNNN/summary.json, or a fold's):";
  for (const auto& l : lost) msg += "\n  " + l;
  if (!j.skipped_lines().empty()) {
    msg += "\nthe journal lost records: line(s)";
    for (size_t i = 0; i < j.skipped_lines().size() && i < 20; ++i) msg += " " + std::to_string(j.skipped_lines()[i]);
    msg += j.skipped_lines().size() > 20 ? " ... were skipped" : " were skipped";
  }
  msg += "\nrefusing to run those trials again over their results: restore " + j.path().filename().string() +
         " from a copy, or move those trial folders out of " + (study_dir / "trials").string() + " to run them again";
  throw BadInput(msg, __FILE__, __LINE__);
}

namespace {
std::filesystem::path session_lock_path(const std::filesystem::path& dir, const std::string& session) {
  return dir / "sessions" / (session + ".lock");
}
}  // namespace

SessionLock::SessionLock(const std::filesystem::path& study_dir, const std::string& session) {
  std::filesystem::create_directories(study_dir / "sessions");
  const auto p = session_lock_path(study_dir, session);
  fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0)
    throw Error("cannot lock " + p.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
}

SessionLock::~SessionLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

bool SessionLock::alive(const std::filesystem::path& study_dir, const std::string& session) {
  const auto p = session_lock_path(study_dir, session);
  int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;  // never locked, or cleaned up: gone
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

}  // namespace tf::tune
