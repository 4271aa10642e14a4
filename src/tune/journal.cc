#include "tune/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace tf::tune {

uint32_t crc32(const std::string& s) {
  static uint32_t table[256] = {0};
  if (table[1] == 0)
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

Journal::Journal(std::filesystem::path path) : path_(std::move(path)) {
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

const std::vector<nlohmann::json>& Journal::read() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return records_;
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  if (size < parsed_bytes_) {  // replaced by another file: start over
    records_.clear();
    parsed_bytes_ = 0;
  }
  in.seekg(static_cast<std::streamoff>(parsed_bytes_));
  std::string text(size - parsed_bytes_, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  size_t pos = 0;
  while (true) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // an incomplete last line: maybe still being written
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t tab = line.rfind('\t');
    bool ok = tab != std::string::npos;
    if (ok) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08x", crc32(line.substr(0, tab)));
      ok = line.substr(tab + 1) == buf;
    }
    // A record whose checksum does not match was torn by a writer killed
    // mid-append (appends after it start on a fresh line): it never counted.
    if (ok) records_.push_back(nlohmann::json::parse(line.substr(0, tab)));
  }
  parsed_bytes_ += pos;
  return records_;
}

void Journal::append(const nlohmann::json& record, bool durable) const {
  std::string body = record.dump();
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", crc32(body));
  std::string line = body + "\t" + buf + "\n";
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) throw Error("cannot open " + path_.string() + ": " + std::strerror(errno), __FILE__, __LINE__);
  // A torn tail from a killed writer would glue onto this record: start on a fresh line.
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    char last = '\n';
    int rfd = ::open(path_.c_str(), O_RDONLY);
    if (rfd >= 0) {
      if (::pread(rfd, &last, 1, st.st_size - 1) != 1) last = '\n';
      ::close(rfd);
    }
    if (last != '\n') line = "\n" + line;
  }
  ssize_t w = ::write(fd, line.data(), line.size());
  if (durable) ::fsync(fd);
  ::close(fd);
  if (w != static_cast<ssize_t>(line.size())) throw Error("short write to " + path_.string(), __FILE__, __LINE__);
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
