// Cross-validation splitters with scikit-learn 1.2's semantics. Without
// shuffling, folds are index-for-index those of sklearn.model_selection
// (KFold, StratifiedKFold, GroupKFold, StratifiedGroupKFold, LeaveOneOut,
// LeaveOneGroupOut, LeavePGroupsOut, TimeSeriesSplit) on the same inputs.
//
// With shuffle (kfold, stratified_kfold, group_kfold, stratified_group_kfold)
// the algorithm is: a std::mt19937_64 seeded with random_state shuffles,
// with std::shuffle, the row order (kfold), each class's fold assignment list
// (stratified_kfold), or the group order before the size-balancing
// (group_kfold, stratified_group_kfold); deterministic for a seed, but not
// sklearn's RandomState stream.
//
// Plain C++; every bad combination is a BadInput naming the splitter and the numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tf::cv {

struct Fold {
  std::vector<int64_t> train, test;  // sorted row indices (time_series_split: in time order)
};

struct SplitSpec {
  std::string method = "stratified_kfold";
  int64_t n_splits = 5;
  bool shuffle = false;
  uint64_t random_state = 0;
  int64_t p_groups = 2;        // leave_p_groups_out
  int64_t gap = 0;             // time_series_split
  int64_t test_size = 0;       // time_series_split, 0 = n_samples / (n_splits + 1)
  int64_t max_train_size = 0;  // time_series_split, 0 = no limit
};

struct SplitInput {
  int64_t n = 0;
  const std::vector<int64_t>* y = nullptr;       // labels (stratified splitters)
  const std::vector<int64_t>* groups = nullptr;  // group ids (group splitters)
};

// The folds; `warnings` receives sklearn's warnings (e.g. a class with fewer
// members than n_splits).
std::vector<Fold> split(const SplitSpec& spec, const SplitInput& in, std::vector<std::string>* warnings = nullptr);

const std::vector<std::string>& method_names();
bool needs_groups(const std::string& method);
bool needs_labels(const std::string& method);
bool is_time_series(const std::string& method);

// numpy's default argsort (introsort, kind='quicksort') of int64 values:
// the same order as numpy 1.24 including among ties.
std::vector<int64_t> numpy_argsort(const std::vector<int64_t>& v);

}  // namespace tf::cv
