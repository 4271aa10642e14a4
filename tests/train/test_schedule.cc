#include <gtest/gtest.h>

#include "config/config.h"
#include "train/schedule.h"
#include "test_util.h"

namespace tf {

// Every schedule against PyTorch's own lr_scheduler code (Keras's forms through
// the PyTorch scheduler that computes them), except Keras's PolynomialDecay with
// an end learning rate, whose closed form make_references.py writes out; each
// case's `source` names which (tests/reference/make_references.py), to 1e-9.
TEST(Schedule, MatchesTorchAndKerasReferences) {
  // Held by value: a range-for over test::references()["schedules"] would
  // iterate a member of a destroyed temporary (and so checked nothing).
  const nlohmann::json refs = test::references();
  ASSERT_EQ(refs.at("schedules").size(), 11u);
  for (const auto& c : refs.at("schedules")) {
    ScheduleSpec s;
    s.name = c["lr_schedule"];
    s.base_lr = c["learning_rate"];
    const auto& k = c["config"];
    s.initial_lr = k.value("initial_lr", s.initial_lr);
    s.warmup_steps = k.value("warmup_steps", s.warmup_steps);
    s.decay_rate = k.value("decay_rate", s.decay_rate);
    s.decay_steps = k.value("decay_steps", s.decay_steps);
    s.staircase = k.value("staircase", s.staircase);
    s.min_lr = k.value("min_lr", s.min_lr);
    s.total_steps = k.value("total_steps", s.total_steps);
    s.end_lr = k.value("end_lr", s.end_lr);
    s.power = k.value("power", s.power);
    auto lrs = c["lrs"].get<std::vector<double>>();
    for (size_t t = 0; t < lrs.size(); ++t)
      ASSERT_NEAR(schedule_lr(s, static_cast<int64_t>(t)), lrs[t], 1e-9)
          << c["name"] << " (" << c["source"] << ") at step " << t;
  }
}

TEST(Schedule, ReferenceConfigsAreValidConfigs) {
  const nlohmann::json refs = test::references();
  ASSERT_FALSE(refs.at("schedules").empty());
  for (const auto& c : refs.at("schedules")) {
    nlohmann::json doc = {{"training",
                           {{"lr_schedule", c["lr_schedule"]},
                            {"learning_rate", c["learning_rate"]},
                            {"lr_schedule_config", c["config"]}}}};
    EXPECT_NO_THROW(config::Config::resolve(doc)) << c["name"];
  }
}

}  // namespace tf
