// Synthetic air-leak data: the bundled default data set (`trainfleet make-data`).
//
// 9 sensor channels x 1024 steps, 4 classes (no leak, small, medium, large):
//   channels 0-3  acoustic: low-frequency background (pump tones + slow AR
//                 noise, random loudness per window) and sensor hiss; a leak
//                 adds high-frequency broadband noise whose level grows with size.
//   channels 4-5  pressure: site offset, random slow drift; a leak adds an
//                 exponential pressure decay whose depth grows with size.
//   channels 6-8  flow / temperature: pump pattern and drift; a leak adds a
//                 small flow increase.
// Each window comes from a site (group) with its own gains and offsets, and
// leak strengths of neighbouring classes overlap, so the task is learnable
// but not trivial: per-channel mean and std alone do not separate it.
// Deterministic for a seed.
#pragma once

#include <cstdint>

#include "data/dataset.h"

namespace tf {

struct SynthOptions {
  int64_t samples = 3000;
  int64_t steps = 1024;
  int64_t channels = 9;
  int64_t sites = 12;
  uint64_t seed = 7;
  double leak_fraction = 0.3;  // split evenly over the three leak classes
};

Dataset make_airleak_data(const SynthOptions& opt);

}  // namespace tf
