#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tf {

namespace {
double decayed(const ScheduleSpec& s, double periods) {
  if (s.staircase) periods = std::floor(periods);
  return s.base_lr * std::pow(s.decay_rate, periods);
}
double warm(const ScheduleSpec& s, int64_t t) {
  return s.initial_lr + (s.base_lr - s.initial_lr) * static_cast<double>(t) / static_cast<double>(s.warmup_steps);
}
}  // namespace

double schedule_lr(const ScheduleSpec& s, int64_t t) {
  const std::string& n = s.name;
  if (n == "constant") return s.base_lr;
  if (n == "step") return s.base_lr * std::pow(s.decay_rate, std::floor(static_cast<double>(t) / s.decay_steps));
  if (n == "exponential") return decayed(s, static_cast<double>(t) / s.decay_steps);
  if (n == "polynomial") {
    double frac = 1.0 - static_cast<double>(std::min(t, s.decay_steps)) / static_cast<double>(s.decay_steps);
    return (s.base_lr - s.end_lr) * std::pow(frac, s.power) + s.end_lr;
  }
  if (n == "warmup") {
    if (t < s.warmup_steps) return warm(s, t);
    return decayed(s, static_cast<double>(t - s.warmup_steps) / s.decay_steps);
  }
  if (n == "cosine") {
    if (t < s.warmup_steps) return warm(s, t);
    int64_t span = std::max<int64_t>(1, s.total_steps - s.warmup_steps);
    double progress = static_cast<double>(std::min(t - s.warmup_steps, span)) / static_cast<double>(span);
    const double kPi = 3.14159265358979323846;
    return s.min_lr + (s.base_lr - s.min_lr) * (1.0 + std::cos(kPi * progress)) / 2.0;
  }
  throw Error("unknown lr schedule " + n, __FILE__, __LINE__);
}

}  // namespace tf
