#include "cv/splitters.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "core/error.h"
#include "core/strings.h"

namespace tf::cv {

namespace {

[[noreturn]] void bad(const std::string& method, const std::string& msg) {
  throw BadInput("cv.method " + method + ": " + msg, __FILE__, __LINE__);
}

std::vector<int64_t> complement(int64_t n, const std::vector<int64_t>& test) {
  std::vector<char> in(static_cast<size_t>(n), 0);
  for (auto i : test) in[static_cast<size_t>(i)] = 1;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    if (!in[static_cast<size_t>(i)]) out.push_back(i);
  return out;
}

// Folds from a per-row fold id (rows with id -1 are in no test fold).
std::vector<Fold> from_assignment(const std::vector<int64_t>& fold_of, int64_t k) {
  std::vector<Fold> folds(static_cast<size_t>(k));
  for (size_t i = 0; i < fold_of.size(); ++i)
    if (fold_of[i] >= 0) folds[static_cast<size_t>(fold_of[i])].test.push_back(static_cast<int64_t>(i));
  for (auto& f : folds) f.train = complement(static_cast<int64_t>(fold_of.size()), f.test);
  return folds;
}

// np.unique(v, return_inverse=True): sorted unique values and each row's index into them.
std::vector<int64_t> unique_inverse(const std::vector<int64_t>& v, std::vector<int64_t>* uniq) {
  std::map<int64_t, int64_t> index;
  for (auto x : v) index[x] = 0;
  uniq->clear();
  for (auto& [value, idx] : index) {
    idx = static_cast<int64_t>(uniq->size());
    uniq->push_back(value);
  }
  std::vector<int64_t> inv(v.size());
  for (size_t i = 0; i < v.size(); ++i) inv[i] = index[v[i]];
  return inv;
}

void check_splits(const SplitSpec& s, int64_t n) {
  if (s.n_splits < 2)
    bad(s.method, "cv.n_splits = " + std::to_string(s.n_splits) + ": at least 2 folds are needed");
  if (s.n_splits > n)
    bad(s.method, "cannot have cv.n_splits = " + std::to_string(s.n_splits) +
                      " greater than the number of samples (" + std::to_string(n) + ")");
}

std::vector<Fold> kfold(const SplitSpec& s, int64_t n) {
  check_splits(s, n);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (s.shuffle) {
    std::mt19937_64 rng(s.random_state);
    std::shuffle(order.begin(), order.end(), rng);
  }
  std::vector<int64_t> fold_of(static_cast<size_t>(n));
  int64_t pos = 0;
  for (int64_t f = 0; f < s.n_splits; ++f) {
    int64_t size = n / s.n_splits + (f < n % s.n_splits ? 1 : 0);
    for (int64_t j = 0; j < size; ++j) fold_of[static_cast<size_t>(order[pos++])] = f;
  }
  return from_assignment(fold_of, s.n_splits);
}

std::vector<Fold> stratified_kfold(const SplitSpec& s, const std::vector<int64_t>& y, std::vector<std::string>* warn) {
  const int64_t n = static_cast<int64_t>(y.size());
  check_splits(s, n);
  // Classes numbered by first appearance (sklearn's y_encoded).
  std::map<int64_t, int64_t> first;
  for (int64_t i = 0; i < n; ++i) first.emplace(y[i], i);
  std::vector<std::pair<int64_t, int64_t>> by_first;  // (first index, class value)
  for (auto& [value, idx] : first) by_first.emplace_back(idx, value);
  std::sort(by_first.begin(), by_first.end());
  std::map<int64_t, int64_t> code;
  for (size_t k = 0; k < by_first.size(); ++k) code[by_first[k].second] = static_cast<int64_t>(k);
  const int64_t classes = static_cast<int64_t>(code.size());
  std::vector<int64_t> enc(static_cast<size_t>(n)), counts(static_cast<size_t>(classes), 0);
  for (int64_t i = 0; i < n; ++i) counts[static_cast<size_t>(enc[i] = code[y[i]])]++;
  int64_t min_count = *std::min_element(counts.begin(), counts.end());
  if (std::all_of(counts.begin(), counts.end(), [&](int64_t c) { return s.n_splits > c; }))
    bad(s.method, "cv.n_splits = " + std::to_string(s.n_splits) +
                      " cannot be greater than the number of members in each class (largest class: " +
                      std::to_string(*std::max_element(counts.begin(), counts.end())) + ")");
  if (s.n_splits > min_count && warn)
    warn->push_back("the least populated class in y has only " + std::to_string(min_count) +
                    " members, which is less than cv.n_splits = " + std::to_string(s.n_splits));
  std::vector<int64_t> order = enc;
  std::sort(order.begin(), order.end());
  // allocation[f][k]: members of class k in order[f::n_splits]
  std::vector<std::vector<int64_t>> alloc(static_cast<size_t>(s.n_splits), std::vector<int64_t>(classes, 0));
  for (int64_t i = 0; i < n; ++i) alloc[static_cast<size_t>(i % s.n_splits)][static_cast<size_t>(order[i])]++;
  std::mt19937_64 rng(s.random_state);
  std::vector<int64_t> fold_of(static_cast<size_t>(n));
  for (int64_t k = 0; k < classes; ++k) {
    std::vector<int64_t> folds_for_class;
    for (int64_t f = 0; f < s.n_splits; ++f)
      folds_for_class.insert(folds_for_class.end(), alloc[static_cast<size_t>(f)][static_cast<size_t>(k)], f);
    if (s.shuffle) std::shuffle(folds_for_class.begin(), folds_for_class.end(), rng);
    size_t j = 0;
    for (int64_t i = 0; i < n; ++i)
      if (enc[i] == k) fold_of[static_cast<size_t>(i)] = folds_for_class[j++];
  }
  return from_assignment(fold_of, s.n_splits);
}

std::vector<Fold> group_kfold(const SplitSpec& s, const std::vector<int64_t>& groups) {
  const int64_t n = static_cast<int64_t>(groups.size());
  std::vector<int64_t> uniq;
  std::vector<int64_t> inv = unique_inverse(groups, &uniq);
  const int64_t ng = static_cast<int64_t>(uniq.size());
  if (s.n_splits > ng)
    bad(s.method, "cannot have cv.n_splits = " + std::to_string(s.n_splits) +
                      " greater than the number of groups (" + std::to_string(ng) + ")");
  check_splits(s, n);
  std::vector<int64_t> per_group(static_cast<size_t>(ng), 0);
  for (auto g : inv) per_group[static_cast<size_t>(g)]++;
  // Largest groups first (numpy's argsort()[::-1], ties included), then each
  // group into the currently lightest fold.
  std::vector<int64_t> idx = numpy_argsort(per_group);
  std::reverse(idx.begin(), idx.end());
  if (s.shuffle) {  // documented deviation: shuffle group order, then a stable sort by size
    std::mt19937_64 rng(s.random_state);
    std::shuffle(idx.begin(), idx.end(), rng);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return per_group[a] > per_group[b]; });
  }
  std::vector<double> fold_weight(static_cast<size_t>(s.n_splits), 0.0);
  std::vector<int64_t> group_fold(static_cast<size_t>(ng), 0);
  for (auto g : idx) {
    size_t lightest = static_cast<size_t>(std::min_element(fold_weight.begin(), fold_weight.end()) - fold_weight.begin());
    fold_weight[lightest] += static_cast<double>(per_group[static_cast<size_t>(g)]);
    group_fold[static_cast<size_t>(g)] = static_cast<int64_t>(lightest);
  }
  std::vector<int64_t> fold_of(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) fold_of[static_cast<size_t>(i)] = group_fold[static_cast<size_t>(inv[i])];
  return from_assignment(fold_of, s.n_splits);
}

// numpy's np.std along one axis of a few values: mean, squared deviations, sequential sums.
double np_std(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  double mean = sum / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / static_cast<double>(v.size()));
}

bool np_isclose(double a, double b) { return std::fabs(a - b) <= 1e-8 + 1e-5 * std::fabs(b); }

std::vector<Fold> stratified_group_kfold(const SplitSpec& s, const std::vector<int64_t>& y,
                                         const std::vector<int64_t>& groups, std::vector<std::string>* warn) {
  const int64_t n = static_cast<int64_t>(y.size());
  check_splits(s, n);
  std::vector<int64_t> classes, uniq_groups;
  std::vector<int64_t> y_inv = unique_inverse(y, &classes);
  std::vector<int64_t> g_inv = unique_inverse(groups, &uniq_groups);
  const size_t nc = classes.size(), ng = uniq_groups.size();
  std::vector<double> y_cnt(nc, 0);
  for (auto c : y_inv) y_cnt[static_cast<size_t>(c)] += 1;
  if (std::all_of(y_cnt.begin(), y_cnt.end(), [&](double c) { return s.n_splits > c; }))
    bad(s.method, "cv.n_splits = " + std::to_string(s.n_splits) +
                      " cannot be greater than the number of members in each class");
  // Like sklearn 1.2, more folds than groups is accepted here (some test folds
  // stay empty); the CV runner rejects empty test folds.
  double smallest = *std::min_element(y_cnt.begin(), y_cnt.end());
  if (s.n_splits > smallest && warn)
    warn->push_back("the least populated class in y has only " + std::to_string(static_cast<int64_t>(smallest)) +
                    " members, which is less than cv.n_splits = " + std::to_string(s.n_splits));
  std::vector<std::vector<double>> per_group(ng, std::vector<double>(nc, 0.0));
  for (int64_t i = 0; i < n; ++i) per_group[static_cast<size_t>(g_inv[i])][static_cast<size_t>(y_inv[i])] += 1;
  std::vector<int64_t> order(ng);
  std::iota(order.begin(), order.end(), 0);
  if (s.shuffle) {
    std::mt19937_64 rng(s.random_state);
    std::shuffle(order.begin(), order.end(), rng);
  }
  // Groups with the most uneven class distribution first (stable: mergesort on -std).
  std::vector<double> neg_std(ng);
  for (size_t g = 0; g < ng; ++g) neg_std[g] = -np_std(per_group[g]);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return neg_std[a] < neg_std[b]; });
  std::vector<std::vector<double>> fold_counts(static_cast<size_t>(s.n_splits), std::vector<double>(nc, 0.0));
  std::vector<int64_t> group_fold(ng, -1);
  for (auto g : order) {
    const auto& gc = per_group[static_cast<size_t>(g)];
    int64_t best = -1;
    double min_eval = INFINITY, min_samples = INFINITY;
    for (int64_t f = 0; f < s.n_splits; ++f) {
      auto& fc = fold_counts[static_cast<size_t>(f)];
      for (size_t c = 0; c < nc; ++c) fc[c] += gc[c];
      // std over folds (axis 0) of counts / class totals, per class; then their mean
      double eval_sum = 0;
      for (size_t c = 0; c < nc; ++c) {
        double col_sum = 0;
        for (int64_t r = 0; r < s.n_splits; ++r) col_sum += fold_counts[static_cast<size_t>(r)][c] / y_cnt[c];
        double mean = col_sum / static_cast<double>(s.n_splits);
        double sq = 0;
        for (int64_t r = 0; r < s.n_splits; ++r) {
          double d = fold_counts[static_cast<size_t>(r)][c] / y_cnt[c] - mean;
          sq += d * d;
        }
        eval_sum += std::sqrt(sq / static_cast<double>(s.n_splits));
      }
      for (size_t c = 0; c < nc; ++c) fc[c] -= gc[c];
      double fold_eval = eval_sum / static_cast<double>(nc);
      double samples = 0;
      for (size_t c = 0; c < nc; ++c) samples += fc[c];
      if (fold_eval < min_eval || (np_isclose(fold_eval, min_eval) && samples < min_samples)) {
        min_eval = fold_eval;
        min_samples = samples;
        best = f;
      }
    }
    for (size_t c = 0; c < nc; ++c) fold_counts[static_cast<size_t>(best)][c] += gc[c];
    group_fold[static_cast<size_t>(g)] = best;
  }
  std::vector<int64_t> fold_of(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) fold_of[static_cast<size_t>(i)] = group_fold[static_cast<size_t>(g_inv[i])];
  return from_assignment(fold_of, s.n_splits);
}

std::vector<Fold> leave_p_groups_out(const SplitSpec& s, const std::vector<int64_t>& groups, int64_t p) {
  std::vector<int64_t> uniq;
  std::vector<int64_t> inv = unique_inverse(groups, &uniq);
  const int64_t ng = static_cast<int64_t>(uniq.size());
  if (p >= ng || (p == 1 && ng < 2))
    bad(s.method, "needs at least " + std::to_string(p + 1) + " distinct groups, found " + std::to_string(ng));
  const int64_t n = static_cast<int64_t>(groups.size());
  std::vector<Fold> folds;
  std::vector<int64_t> combo(static_cast<size_t>(p));
  std::iota(combo.begin(), combo.end(), 0);
  while (true) {  // itertools.combinations order
    std::vector<char> in(static_cast<size_t>(ng), 0);
    for (auto g : combo) in[static_cast<size_t>(g)] = 1;
    Fold f;
    for (int64_t i = 0; i < n; ++i)
      if (in[static_cast<size_t>(inv[i])]) f.test.push_back(i);
    f.train = complement(n, f.test);
    folds.push_back(std::move(f));
    if (folds.size() > 100000) bad(s.method, "more than 100000 folds; lower cv.p_groups");
    int64_t i = p - 1;
    while (i >= 0 && combo[static_cast<size_t>(i)] == ng - p + i) --i;
    if (i < 0) break;
    ++combo[static_cast<size_t>(i)];
    for (int64_t j = i + 1; j < p; ++j) combo[static_cast<size_t>(j)] = combo[static_cast<size_t>(j - 1)] + 1;
  }
  return folds;
}

std::vector<Fold> time_series_split(const SplitSpec& s, int64_t n) {
  const int64_t folds = s.n_splits + 1;
  if (s.n_splits < 2) bad(s.method, "cv.n_splits = " + std::to_string(s.n_splits) + ": at least 2 folds are needed");
  const int64_t test_size = s.test_size > 0 ? s.test_size : n / folds;
  if (folds > n)
    bad(s.method, "cannot have cv.n_splits + 1 = " + std::to_string(folds) + " folds with " + std::to_string(n) +
                      " samples");
  if (n - s.gap - test_size * s.n_splits <= 0)
    bad(s.method, "too many splits: cv.n_splits = " + std::to_string(s.n_splits) + " for " + std::to_string(n) +
                      " samples with cv.test_size = " + std::to_string(test_size) + " and cv.gap = " +
                      std::to_string(s.gap));
  std::vector<Fold> out;
  for (int64_t start = n - s.n_splits * test_size; start < n; start += test_size) {
    Fold f;
    int64_t train_end = start - s.gap;
    int64_t train_begin = (s.max_train_size > 0 && s.max_train_size < train_end) ? train_end - s.max_train_size : 0;
    for (int64_t i = train_begin; i < train_end; ++i) f.train.push_back(i);
    for (int64_t i = start; i < std::min(n, start + test_size); ++i) f.test.push_back(i);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> m = {"kfold",          "stratified_kfold",    "group_kfold",
                                             "stratified_group_kfold", "leave_one_out", "leave_one_group_out",
                                             "leave_p_groups_out",     "time_series_split"};
  return m;
}

bool needs_groups(const std::string& m) {
  return m == "group_kfold" || m == "stratified_group_kfold" || m == "leave_one_group_out" ||
         m == "leave_p_groups_out";
}
bool needs_labels(const std::string& m) { return m == "stratified_kfold" || m == "stratified_group_kfold"; }
bool is_time_series(const std::string& m) { return m == "time_series_split"; }

std::vector<Fold> split(const SplitSpec& s, const SplitInput& in, std::vector<std::string>* warnings) {
  if (needs_labels(s.method) && (!in.y || static_cast<int64_t>(in.y->size()) != in.n))
    bad(s.method, "needs the labels /y");
  if (needs_groups(s.method) && (!in.groups || static_cast<int64_t>(in.groups->size()) != in.n))
    bad(s.method, "needs group ids: the data file has no /groups dataset");
  if (s.method == "kfold") return kfold(s, in.n);
  if (s.method == "stratified_kfold") return stratified_kfold(s, *in.y, warnings);
  if (s.method == "group_kfold") return group_kfold(s, *in.groups);
  if (s.method == "stratified_group_kfold") return stratified_group_kfold(s, *in.y, *in.groups, warnings);
  if (s.method == "leave_one_out") {
    if (in.n < 2) bad(s.method, "needs at least 2 samples, found " + std::to_string(in.n));
    std::vector<int64_t> fold_of(static_cast<size_t>(in.n));
    std::iota(fold_of.begin(), fold_of.end(), 0);
    return from_assignment(fold_of, in.n);
  }
  if (s.method == "leave_one_group_out") return leave_p_groups_out(s, *in.groups, 1);
  if (s.method == "leave_p_groups_out") return leave_p_groups_out(s, *in.groups, s.p_groups);
  if (s.method == "time_series_split") return time_series_split(s, in.n);
  std::string hint = did_you_mean(s.method, method_names());
  throw BadInput("cv.method: unknown value \"" + s.method + "\"; expected one of " + join(method_names()) +
                     (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"),
                 __FILE__, __LINE__);
}

}  // namespace tf::cv
