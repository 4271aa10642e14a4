#include "train/epoch_rows.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "train/batch_tensors.h"

namespace tf {

EpochRows::EpochRows(const RowSource& source, int rank, int world, int64_t batch, torch::Device device)
    : source_(source),
      rank_(rank),
      world_(world),
      n_(source.size()),
      batch_(batch),
      steps_((source.size() + batch - 1) / batch),
      device_(device),
      local_(static_cast<size_t>(source.size()), -1) {
  // One rank with every row in memory: the rows become tensors once.
  if (const Dataset* whole = world == 1 ? source.in_memory() : nullptr) {
    std::tie(x_all_, y_all_) = to_tensors(*whole, device_);
    std::iota(local_.begin(), local_.end(), 0);
  }
}

EpochRows::Share EpochRows::share(int64_t b) const {
  const int64_t g0 = b * batch_, gn = std::min(batch_, n_ - g0);
  return {gn * rank_ / world_, gn * (rank_ + 1) / world_, gn};
}

void EpochRows::begin_epoch(const std::vector<int64_t>& perm, int64_t first, int64_t epoch) {
  perm_ = &perm;
  if (source_.streamed()) {
    std::vector<std::vector<int64_t>> batches;
    for (int64_t b = first; b < steps_; ++b) {
      const Share s = share(b);
      if (s.hi > s.lo) batches.emplace_back(perm.begin() + b * batch_ + s.lo, perm.begin() + b * batch_ + s.hi);
    }
    stream_ = std::make_unique<BatchStream>(source_, std::move(batches));
    return;
  }
  if (world_ == 1 && source_.in_memory()) return;
  // This epoch's share of every step, read at once (sorted: one hyperslab per run of rows).
  std::vector<int64_t> need;
  for (int64_t b = 0; b < steps_; ++b) {
    const Share s = share(b);
    need.insert(need.end(), perm.begin() + b * batch_ + s.lo, perm.begin() + b * batch_ + s.hi);
  }
  std::sort(need.begin(), need.end());
  const auto t0 = std::chrono::steady_clock::now();
  x_all_ = y_all_ = torch::Tensor();
  {
    Dataset part = source_.load(need);
    std::tie(x_all_, y_all_) = to_tensors(part, device_);
  }
  spdlog::debug("epoch {}: read {} training rows in {:.3f}s", epoch, need.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  for (size_t i = 0; i < need.size(); ++i) local_[static_cast<size_t>(need[i])] = static_cast<int64_t>(i);
}

std::pair<torch::Tensor, torch::Tensor> EpochRows::step(int64_t b) {
  const Share s = share(b);
  const int64_t m = s.hi - s.lo;
  if (stream_) return to_tensors(stream_->next(), device_);
  idx_buf_.resize(static_cast<size_t>(m));
  for (int64_t k = 0; k < m; ++k) idx_buf_[k] = local_[static_cast<size_t>((*perm_)[b * batch_ + s.lo + k])];
  auto idx = torch::from_blob(idx_buf_.data(), {m}, torch::kInt64).to(device_);
  return {x_all_.index_select(0, idx), y_all_.index_select(0, idx)};
}

double EpochRows::end_epoch() {
  const double waited = stream_ ? stream_->waited_seconds() : 0.0;
  stream_.reset();
  return waited;
}

}  // namespace tf
