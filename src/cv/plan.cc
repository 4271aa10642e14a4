// CV planning: the splitter over data.path's rows (time order, groups),
// leakage checks, and the task list of a plain or nested CV (cv/runner.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>

#include "core/error.h"
#include "cv/runner.h"
#include "cv/splitters.h"

namespace tf::cv {

namespace {

SplitSpec spec_from(const config::Config& cfg, int64_t n_splits) {
  SplitSpec s;
  s.method = cfg.get_string("cv.method");
  s.n_splits = n_splits;
  s.shuffle = cfg.get_bool("cv.shuffle");
  s.random_state = static_cast<uint64_t>(cfg.get_int("cv.random_state"));
  s.p_groups = cfg.get_int("cv.p_groups");
  s.gap = cfg.get_int("cv.gap");
  s.test_size = cfg.get_int("cv.test_size");
  s.max_train_size = cfg.get_int("cv.max_train_size");
  return s;
}

// Splits `rows` (of data.path) with `spec`; fold indices come back as rows.
std::vector<Fold> split_rows(const SplitSpec& spec, const Dataset& labels, const std::vector<int64_t>& rows,
                             std::vector<std::string>* warnings) {
  std::vector<int64_t> order = rows;
  if (is_time_series(spec.method)) {
    TF_CHECK_INPUT(!labels.time.empty(), "cv.method time_series_split: " + labels.source +
                                             " has no /time dataset to order the rows by");
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return labels.time[a] < labels.time[b]; });
  }
  std::vector<int64_t> y, g;
  for (auto r : order) {
    y.push_back(labels.y[r]);
    if (!labels.groups.empty()) g.push_back(labels.groups[r]);
  }
  if (needs_groups(spec.method))
    TF_CHECK_INPUT(!labels.groups.empty(), "cv.method " + spec.method + ": " + labels.source +
                                               " has no /groups dataset (group ids per row are needed)");
  SplitInput in;
  in.n = static_cast<int64_t>(order.size());
  in.y = &y;
  in.groups = g.empty() ? nullptr : &g;
  std::vector<Fold> folds = split(spec, in, warnings);
  for (auto& f : folds) {
    for (auto& i : f.train) i = order[i];
    for (auto& i : f.test) i = order[i];
    if (!is_time_series(spec.method)) {
      std::sort(f.train.begin(), f.train.end());
      std::sort(f.test.begin(), f.test.end());
    }
  }
  return folds;
}

void check_leakage(const SplitSpec& spec, const Dataset& labels, const std::vector<Fold>& folds, const std::string& what) {
  for (size_t k = 0; k < folds.size(); ++k) {
    const Fold& f = folds[k];
    const std::string fold = what + " fold " + std::to_string(k);
    TF_CHECK_INPUT(!f.test.empty(), "cv.method " + spec.method + ": " + fold +
                                        " has no test rows (more folds than the data allows: cv.n_splits = " +
                                        std::to_string(spec.n_splits) + ")");
    TF_CHECK_INPUT(!f.train.empty(), "cv.method " + spec.method + ": " + fold + " has no training rows");
    if (needs_groups(spec.method)) {
      std::set<int64_t> test_groups;
      for (auto r : f.test) test_groups.insert(labels.groups[r]);
      for (auto r : f.train)
        TF_CHECK(!test_groups.count(labels.groups[r]),
                 "leakage: " + fold + " has group " + std::to_string(labels.groups[r]) + " in train and test");
    }
    if (is_time_series(spec.method)) {
      double last_train = -INFINITY, first_test = INFINITY;
      for (auto r : f.train) last_train = std::max(last_train, labels.time[r]);
      for (auto r : f.test) first_test = std::min(first_test, labels.time[r]);
      TF_CHECK_INPUT(last_train < first_test,
                     "cv.method time_series_split: " + fold + " would train on rows at time " +
                         std::to_string(last_train) + " and test on rows from time " + std::to_string(first_test) +
                         " (equal time stamps across the split boundary)");
    }
  }
}

std::string task_name(int64_t outer, int64_t inner, bool nested) {
  char buf[64];
  if (!nested) std::snprintf(buf, sizeof buf, "fold_%02lld", static_cast<long long>(outer));
  else if (inner < 0) std::snprintf(buf, sizeof buf, "outer_%02lld", static_cast<long long>(outer));
  else std::snprintf(buf, sizeof buf, "outer_%02lld_inner_%02lld", static_cast<long long>(outer),
                     static_cast<long long>(inner));
  return buf;
}

}  // namespace

std::vector<Task> plan(const config::Config& cfg, const Dataset& labels, std::vector<std::string>* warnings) {
  SplitSpec spec = spec_from(cfg, cfg.get_int("cv.n_splits"));
  std::vector<int64_t> all(static_cast<size_t>(labels.n));
  std::iota(all.begin(), all.end(), 0);
  std::vector<Fold> outer = split_rows(spec, labels, all, warnings);
  check_leakage(spec, labels, outer, "outer");
  const bool nested = cfg.get_bool("cv.nested");
  std::vector<Task> tasks;
  for (size_t o = 0; o < outer.size(); ++o) {
    if (nested) {
      SplitSpec inner_spec = spec_from(cfg, cfg.get_int("cv.inner_n_splits"));
      std::vector<int64_t> outer_train = outer[o].train;
      std::sort(outer_train.begin(), outer_train.end());
      std::vector<Fold> inner = split_rows(inner_spec, labels, outer_train, warnings);
      check_leakage(inner_spec, labels, inner, "outer fold " + std::to_string(o) + " inner");
      std::set<int64_t> outer_test(outer[o].test.begin(), outer[o].test.end());
      for (size_t i = 0; i < inner.size(); ++i) {
        for (const auto* part : {&inner[i].train, &inner[i].test})
          for (auto r : *part) TF_CHECK(!outer_test.count(r), "leakage: an outer test row in an inner fold");
        tasks.push_back({task_name(static_cast<int64_t>(o), static_cast<int64_t>(i), true), static_cast<int64_t>(o),
                         static_cast<int64_t>(i), inner[i].train, inner[i].test});
      }
    }
    tasks.push_back({task_name(static_cast<int64_t>(o), -1, nested), static_cast<int64_t>(o), -1, outer[o].train,
                     outer[o].test});
  }
  return tasks;
}

std::vector<Task> plan_folds(const config::Config& cfg, const Dataset& labels, const std::vector<int64_t>& rows,
                             std::vector<std::string>* warnings) {
  SplitSpec spec = spec_from(cfg, cfg.get_int("cv.n_splits"));
  std::vector<int64_t> sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  std::vector<Fold> folds = split_rows(spec, labels, sorted, warnings);
  check_leakage(spec, labels, folds, "inner");
  std::vector<Task> tasks;
  for (size_t k = 0; k < folds.size(); ++k)
    tasks.push_back({task_name(static_cast<int64_t>(k), -1, false), static_cast<int64_t>(k), -1, folds[k].train,
                     folds[k].test});
  return tasks;
}

}  // namespace tf::cv
