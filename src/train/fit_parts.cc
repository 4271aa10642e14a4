#include "train/fit_parts.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

namespace tf {

ProgressBar::ProgressBar(bool rank0, int64_t epochs, int64_t steps)
    : on_(rank0 && ::isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info &&
          !std::getenv("TRAINFLEET_NO_PROGRESS_BAR")),
      every_(std::getenv("TRAINFLEET_PROGRESS_INTERVAL_S") ? std::atof(std::getenv("TRAINFLEET_PROGRESS_INTERVAL_S"))
                                                            : 0.5),
      epochs_(epochs),
      steps_(steps) {}

void ProgressBar::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  t_epoch_ = last_ = Clock::now();
  shown_ = false;
}

void ProgressBar::update(int64_t b) {
  if (!on_ || std::chrono::duration<double>(Clock::now() - last_).count() < every_) return;
  last_ = Clock::now();
  const int width = 30, filled = static_cast<int>(width * b / steps_);
  std::fprintf(stderr, "\r  epoch %lld/%lld [%s%s] step %lld/%lld  %.0fs\033[K", static_cast<long long>(epoch_),
               static_cast<long long>(epochs_), std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<long long>(b),
               static_cast<long long>(steps_), std::chrono::duration<double>(Clock::now() - t_epoch_).count());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressBar::finish_epoch() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

EpochStats::EpochStats(int64_t classes, torch::Device device, const ResumePoint* resumed, bool rank0)
    : classes_(classes),
      start_(classes),
      loss_sum_(torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device))) {
  if (resumed && rank0) {
    start_ = ConfusionMatrix::from_doubles(resumed->cm, classes);
    loss_sum_ += resumed->loss_sum;
  }
}

void EpochStats::add(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& loss, int64_t m) {
  loss_sum_ += loss.detach().to(torch::kFloat64) * m;
  preds_.push_back(logits.detach().argmax(1));
  truths_.push_back(y);
}

void EpochStats::reduce(Communicator& comm, ConfusionMatrix* cm, double* loss_sum) const {
  ConfusionMatrix mine = start_;
  if (!preds_.empty()) {
    auto p = torch::cat(preds_).to(torch::kCPU);
    auto t = torch::cat(truths_).to(torch::kCPU);
    auto pa = p.accessor<int64_t, 1>();
    auto ta = t.accessor<int64_t, 1>();
    for (int64_t i = 0; i < p.size(0); ++i) mine.add(ta[i], pa[i]);
  }
  std::vector<double> buf = mine.as_doubles();
  buf.push_back(loss_sum_.item<double>());
  comm.allreduce_sum(buf.data(), buf.size());
  *loss_sum = buf.back();
  buf.pop_back();
  *cm = ConfusionMatrix::from_doubles(buf, classes_);
}

}  // namespace tf
