// TensorBoard event files, written without TensorFlow: TFRecord framing
// (little-endian length, masked CRC-32C of the length, the record, masked
// CRC-32C of the record) around hand-encoded `Event` protocol buffers
// (tensorflow/core/util/event.proto, summary.proto): a first record with
// file_version "brain.Event:2", then one Event per step with a Summary of
// simple_value scalars. The file is events.out.tfevents.<time>.<host>.<pid>
// in the given folder; `tensorboard --logdir` on a CV or study folder shows
// every fold or trial as its own run.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

namespace tf {

// CRC-32C (Castagnoli), and TFRecord's masked form of it.
uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);

class EventWriter {
 public:
  explicit EventWriter(const std::filesystem::path& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // One Event at `step` holding every (tag, value) scalar.
  void scalars(int64_t step, const std::map<std::string, double>& values, double wall_time = -1);
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void record(const std::string& event);
  std::filesystem::path path_;
  std::FILE* f_ = nullptr;
};

}  // namespace tf
