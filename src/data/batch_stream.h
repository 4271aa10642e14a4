// Reads batches of rows ahead of their use, on a background thread, so that
// training and evaluation do not wait for the file: at most `depth` batches
// wait in a bounded queue (depth 2: double buffering), so memory stays a few
// batches whatever the data set's size.
// Thread contract: one consumer thread calls next(); the source's load() runs
// on the reader thread only while the stream lives.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/row_source.h"

namespace tf {

class BatchStream {
 public:
  // batches[i]: source positions of batch i, in the order the consumer wants
  // its rows (unique within a batch, any order).
  BatchStream(const RowSource& source, std::vector<std::vector<int64_t>> batches, size_t depth = 2);
  ~BatchStream();  // stops the reader and waits for it
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  // The next batch, rows in the asked order (normalised as the source does);
  // rethrows the reader's error (a bad value in the file, say).
  Dataset next();
  // Seconds next() spent waiting for the reader so far.
  double waited_seconds() const { return waited_; }

 private:
  void run();

  const RowSource& source_;
  std::vector<std::vector<int64_t>> batches_;
  size_t depth_;
  size_t taken_ = 0;
  double waited_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Dataset> ready_;
  std::exception_ptr error_;
  bool cancel_ = false;
  std::thread reader_;
};

// Positions [begin, end) cut into consecutive batches of at most `size`.
std::vector<std::vector<int64_t>> consecutive_batches(int64_t begin, int64_t end, int64_t size);

// Reads source rows [begin, end) chunk by chunk (ahead of use) and calls
// fn(first_position, chunk) for each chunk in order.
template <typename Fn>
void for_each_chunk(const RowSource& source, int64_t begin, int64_t end, int64_t size, Fn&& fn) {
  if (begin >= end) return;
  BatchStream stream(source, consecutive_batches(begin, end, size));
  for (int64_t b = begin; b < end; b += size) fn(b, stream.next());
}

}  // namespace tf
