#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace tf {

Dataset Dataset::subset(const std::vector<int64_t>& idx) const {
  Dataset d;
  d.n = static_cast<int64_t>(idx.size());
  d.t = t;
  d.c = c;
  d.num_classes = num_classes;
  d.class_names = class_names;
  d.source = source;
  d.x.resize(static_cast<size_t>(d.n * row_size()));
  d.y.resize(idx.size());
  if (!groups.empty()) d.groups.resize(idx.size());
  if (!time.empty()) d.time.resize(idx.size());
  for (size_t k = 0; k < idx.size(); ++k) {
    int64_t i = idx[k];
    std::copy(row(i), row(i) + row_size(), d.x.data() + k * row_size());
    d.y[k] = y[i];
    if (!groups.empty()) d.groups[k] = groups[i];
    if (!time.empty()) d.time[k] = time[i];
  }
  return d;
}

std::vector<int64_t> Dataset::class_counts() const {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (auto v : y) counts[static_cast<size_t>(v)]++;
  return counts;
}

std::string Dataset::class_name(int64_t k) const {
  if (k >= 0 && k < static_cast<int64_t>(class_names.size())) return class_names[k];
  return std::to_string(k);
}

void stratified_split(const std::vector<int64_t>& labels, const std::vector<int64_t>& rows, double fraction,
                      uint64_t seed, std::vector<int64_t>* rest, std::vector<int64_t>* held_out) {
  rest->clear();
  held_out->clear();
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (auto r : rows) by_class[labels[r]].push_back(r);
  std::mt19937_64 rng(seed);
  for (auto& [label, members] : by_class) {
    std::shuffle(members.begin(), members.end(), rng);
    size_t take = static_cast<size_t>(std::llround(fraction * static_cast<double>(members.size())));
    if (fraction > 0 && take == 0 && members.size() >= 2) take = 1;
    if (take >= members.size() && members.size() >= 2) take = members.size() - 1;
    held_out->insert(held_out->end(), members.begin(), members.begin() + take);
    rest->insert(rest->end(), members.begin() + take, members.end());
  }
  std::sort(rest->begin(), rest->end());
  std::sort(held_out->begin(), held_out->end());
}

}  // namespace tf
