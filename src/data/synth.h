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
#include <filesystem>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "data/h5io.h"

namespace tf {

struct SynthOptions {
  int64_t samples = 3000;
  int64_t steps = 1024;
  int64_t channels = 9;
  int64_t sites = 12;
  uint64_t seed = 7;
  double leak_fraction = 0.3;  // split evenly over the three leak classes
};

// BadInput naming the make-data option that is out of range.
void check_synth_options(const SynthOptions& opt);

// The windows one after another, a block at a time: the concatenated blocks
// equal make_airleak_data(opt) bit for bit.
class AirleakGenerator {
 public:
  explicit AirleakGenerator(const SynthOptions& opt);
  ~AirleakGenerator();
  // Fills `block` with the next min(rows, remaining()) windows.
  void next(Dataset& block, int64_t rows);
  int64_t remaining() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The whole data set in memory.
Dataset make_airleak_data(const SynthOptions& opt);

// Writes the data set to `path` block by block (memory: one block), with /X
// stored as `layout` says; returns the class counts. Refuses to replace a file.
std::vector<int64_t> write_airleak_h5(const std::filesystem::path& path, const SynthOptions& opt,
                                      const H5Layout& layout, int64_t block_rows = 256);

}  // namespace tf
