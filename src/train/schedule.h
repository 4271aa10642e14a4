// Learning-rate schedules, evaluated in closed form for a global step
// (stepped every batch). Plain C++: the trainer sets the value it returns on
// every optimizer parameter group. Formulas (t = step, b = base LR):
//   constant     b
//   step         b * decay_rate^floor(t / decay_steps)               (torch StepLR)
//   exponential  b * decay_rate^(t / decay_steps)  [floor if staircase] (Keras ExponentialDecay)
//   polynomial   (b - end_lr) * (1 - min(t, decay_steps)/decay_steps)^power + end_lr (Keras PolynomialDecay)
//   warmup       t < W: initial_lr + (b - initial_lr) * t / W; then b * decay_rate^((t - W) / decay_steps)
//   cosine       t < W: as warmup; then min_lr + (b - min_lr) * (1 + cos(pi * (t - W) / (total - W))) / 2,
//                held at min_lr after total_steps                     (torch CosineAnnealingLR)
#pragma once

#include <cstdint>
#include <string>

namespace tf {

struct ScheduleSpec {
  std::string name = "constant";
  double base_lr = 1e-3;
  double initial_lr = 0.0;
  int64_t warmup_steps = 0;
  double decay_rate = 0.96;
  int64_t decay_steps = 1000;
  bool staircase = false;
  double min_lr = 0.0;
  int64_t total_steps = 0;
  double end_lr = 0.0;
  double power = 1.0;
};

double schedule_lr(const ScheduleSpec& s, int64_t step);

}  // namespace tf
