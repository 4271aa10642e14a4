// In-memory data set of multichannel windows: X [N, T, C] float32 row-major,
// labels y [N] in 0..K-1, optional group ids and time stamps. Plain C++ (no
// LibTorch) so readers, splitters and tests stay light.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tf {

struct Dataset {
  int64_t n = 0, t = 0, c = 0;
  int64_t num_classes = 0;
  std::vector<float> x;         // n * t * c
  std::vector<int64_t> y;       // n
  std::vector<int64_t> groups;  // n or empty
  std::vector<double> time;     // n or empty
  std::vector<std::string> class_names;  // num_classes or empty
  std::string source;           // file it came from, for messages

  int64_t row_size() const { return t * c; }
  const float* row(int64_t i) const { return x.data() + i * row_size(); }

  // Rows `idx` in that order (metadata copied).
  Dataset subset(const std::vector<int64_t>& idx) const;
  // Per-class counts (size num_classes).
  std::vector<int64_t> class_counts() const;
  // Name of class k (class_names[k] or its number).
  std::string class_name(int64_t k) const;
};

// Stratified, seeded split of `rows` into (rest, held_out) with about
// `fraction` of every class in held_out (at least one row of each class that
// has two or more). Deterministic for a given seed.
void stratified_split(const std::vector<int64_t>& labels, const std::vector<int64_t>& rows, double fraction,
                      uint64_t seed, std::vector<int64_t>* rest, std::vector<int64_t>* held_out);

}  // namespace tf
