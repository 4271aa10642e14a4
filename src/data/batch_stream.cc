#include "data/batch_stream.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/error.h"

namespace tf {

namespace {

// load() wants sorted positions: read them sorted, then put the rows in the asked order.
Dataset load_in_order(const RowSource& source, const std::vector<int64_t>& positions) {
  if (std::is_sorted(positions.begin(), positions.end())) return source.load(positions);
  std::vector<int64_t> order(positions.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return positions[a] < positions[b]; });
  std::vector<int64_t> sorted(positions.size()), where(positions.size());
  for (size_t j = 0; j < order.size(); ++j) {
    sorted[j] = positions[static_cast<size_t>(order[j])];
    where[static_cast<size_t>(order[j])] = static_cast<int64_t>(j);
  }
  return source.load(sorted).subset(where);
}

}  // namespace

BatchStream::BatchStream(const RowSource& source, std::vector<std::vector<int64_t>> batches, size_t depth)
    : source_(source), batches_(std::move(batches)), depth_(std::max<size_t>(1, depth)) {
  reader_ = std::thread([this] { run(); });
}

BatchStream::~BatchStream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_ = true;
  }
  cv_.notify_all();
  reader_.join();
}

void BatchStream::run() {
  try {
    for (const auto& positions : batches_) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return cancel_ || ready_.size() < depth_; });
        if (cancel_) return;
      }
      Dataset d = load_in_order(source_, positions);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ready_.push_back(std::move(d));
      }
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
    cv_.notify_all();
  }
}

Dataset BatchStream::next() {
  TF_CHECK(taken_ < batches_.size(), "BatchStream: no batch left");
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty() || error_; });
  waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ready_.empty()) std::rethrow_exception(error_);
  Dataset d = std::move(ready_.front());
  ready_.pop_front();
  ++taken_;
  lock.unlock();
  cv_.notify_all();
  return d;
}

std::vector<std::vector<int64_t>> consecutive_batches(int64_t begin, int64_t end, int64_t size) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t b = begin; b < end; b += size) {
    out.emplace_back(static_cast<size_t>(std::min(size, end - b)));
    std::iota(out.back().begin(), out.back().end(), b);
  }
  return out;
}

}  // namespace tf
