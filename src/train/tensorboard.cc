#include "train/tensorboard.h"

#include <unistd.h>

#include <chrono>
#include <cstring>

#include "core/error.h"

namespace tf {

namespace {

const uint32_t* crc_table() {
  static uint32_t table[256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)init;
  return table;
}

// Protocol buffer wire format, the few pieces an Event needs.
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void key(std::string& out, int field, int wire) { varint(out, static_cast<uint64_t>(field) << 3 | wire); }
void bytes_field(std::string& out, int field, const std::string& b) {
  key(out, field, 2);
  varint(out, b.size());
  out += b;
}
void double_field(std::string& out, int field, double v) {
  key(out, field, 1);
  char b[8];
  std::memcpy(b, &v, 8);  // little-endian hosts
  out.append(b, 8);
}
void float_field(std::string& out, int field, float v) {
  key(out, field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  const uint32_t* t = crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  const double t = now_s();
  path_ = dir / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(t)) + "." + host + "." +
                 std::to_string(::getpid()));
  f_ = std::fopen(path_.c_str(), "ab");
  if (!f_) throw IoError(path_.string(), errno, __FILE__, __LINE__);
  std::string ev;
  double_field(ev, 1, t);
  bytes_field(ev, 3, "brain.Event:2");
  record(ev);
  flush();
}

EventWriter::~EventWriter() {
  if (f_) std::fclose(f_);
}

void EventWriter::scalars(int64_t step, const std::map<std::string, double>& values, double wall_time) {
  std::string summary;
  for (const auto& [tag, v] : values) {
    std::string value;
    bytes_field(value, 1, tag);
    float_field(value, 2, static_cast<float>(v));
    bytes_field(summary, 1, value);
  }
  std::string ev;
  double_field(ev, 1, wall_time >= 0 ? wall_time : now_s());
  key(ev, 2, 0);
  varint(ev, static_cast<uint64_t>(step));
  bytes_field(ev, 5, summary);
  record(ev);
}

void EventWriter::record(const std::string& data) {
  const uint64_t len = data.size();
  char head[12];
  std::memcpy(head, &len, 8);
  const uint32_t len_crc = masked_crc32c(head, 8), data_crc = masked_crc32c(data.data(), data.size());
  std::memcpy(head + 8, &len_crc, 4);
  if (std::fwrite(head, 1, 12, f_) != 12 || std::fwrite(data.data(), 1, data.size(), f_) != data.size() ||
      std::fwrite(&data_crc, 1, 4, f_) != 4)
    throw IoError(path_.string(), errno ? errno : EIO, __FILE__, __LINE__);
}

void EventWriter::flush() {
  if (std::fflush(f_) != 0) throw IoError(path_.string(), errno ? errno : EIO, __FILE__, __LINE__);
}

}  // namespace tf
