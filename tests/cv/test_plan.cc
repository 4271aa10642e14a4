// CV planning: leakage guarantees and clear errors, on real label sets.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "cv/runner.h"

namespace tf::cv {

namespace {
Dataset labels(int64_t n, int64_t n_groups) {
  Dataset d;
  d.n = n;
  d.t = 8;
  d.c = 2;
  d.num_classes = 3;
  d.source = "mem.h5";
  for (int64_t i = 0; i < n; ++i) {
    d.y.push_back(i % 3);
    d.groups.push_back(i % n_groups);
    d.time.push_back(1000.0 - i);  // rows stored newest first
  }
  return d;
}
config::Config cfg_with(nlohmann::json cv) { return config::Config::resolve(nlohmann::json{{"cv", cv}}); }
std::string error_of(const nlohmann::json& cv, const Dataset& d) {
  try {
    plan(cfg_with(cv), d, nullptr);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(CvPlan, NestedInnerFoldsNeverSeeOuterTestRows) {
  Dataset d = labels(90, 9);
  auto tasks = plan(cfg_with({{"method", "stratified_kfold"}, {"n_splits", 3}, {"nested", true}, {"inner_n_splits", 3}}),
                    d, nullptr);
  ASSERT_EQ(tasks.size(), 3u * 4u);
  std::map<int64_t, const Task*> outer;
  for (const auto& t : tasks)
    if (t.inner < 0) outer[t.outer] = &t;
  ASSERT_EQ(outer.size(), 3u);
  for (const auto& t : tasks) {
    if (t.inner < 0) continue;
    std::set<int64_t> otest(outer[t.outer]->test.begin(), outer[t.outer]->test.end());
    std::set<int64_t> otrain(outer[t.outer]->train.begin(), outer[t.outer]->train.end());
    for (auto r : t.train) {
      EXPECT_FALSE(otest.count(r)) << t.name;
      EXPECT_TRUE(otrain.count(r)) << t.name;
    }
    for (auto r : t.test) {
      EXPECT_FALSE(otest.count(r)) << t.name;
      EXPECT_TRUE(otrain.count(r)) << t.name;
    }
  }
}

TEST(CvPlan, GroupFoldsShareNoGroupAndCoverEveryRowOnce) {
  Dataset d = labels(60, 7);
  auto tasks = plan(cfg_with({{"method", "group_kfold"}, {"n_splits", 3}}), d, nullptr);
  std::vector<int> seen(60, 0);
  for (const auto& t : tasks) {
    std::set<int64_t> tg;
    for (auto r : t.test) tg.insert(d.groups[r]), seen[r]++;
    for (auto r : t.train) EXPECT_FALSE(tg.count(d.groups[r]));
  }
  for (int s : seen) EXPECT_EQ(s, 1);
}

TEST(CvPlan, TimeSeriesFollowsTheTimeStampsWithTheGap) {
  Dataset d = labels(40, 4);
  auto tasks = plan(cfg_with({{"method", "time_series_split"}, {"n_splits", 3}, {"gap", 2}}), d, nullptr);
  ASSERT_EQ(tasks.size(), 3u);
  for (const auto& t : tasks) {
    double last_train = -1e9, first_test = 1e9;
    for (auto r : t.train) last_train = std::max(last_train, d.time[r]);
    for (auto r : t.test) first_test = std::min(first_test, d.time[r]);
    EXPECT_LT(last_train + 2, first_test) << t.name;  // gap of 2 rows, one time unit apart
  }
}

TEST(CvPlan, BadCombinationsNameSplitterAndNumbers) {
  Dataset d = labels(30, 3);
  std::string e = error_of({{"method", "group_kfold"}, {"n_splits", 5}}, d);
  EXPECT_NE(e.find("group_kfold"), std::string::npos) << e;
  EXPECT_NE(e.find("5"), std::string::npos) << e;
  EXPECT_NE(e.find("(3)"), std::string::npos) << e;
  e = error_of({{"method", "kfold"}, {"n_splits", 31}}, d);
  EXPECT_NE(e.find("31"), std::string::npos) << e;
  EXPECT_NE(e.find("30"), std::string::npos) << e;
  Dataset no_groups = d;
  no_groups.groups.clear();
  e = error_of({{"method", "leave_one_group_out"}}, no_groups);
  EXPECT_NE(e.find("/groups"), std::string::npos) << e;
  Dataset no_time = d;
  no_time.time.clear();
  e = error_of({{"method", "time_series_split"}}, no_time);
  EXPECT_NE(e.find("/time"), std::string::npos) << e;
  e = error_of({{"method", "stratified_group_kfold"}, {"n_splits", 4}}, d);  // 3 groups: a fold is empty
  EXPECT_NE(e.find("no test rows"), std::string::npos) << e;
}

TEST(CvPlan, StratifiedWarnsAboutSmallClasses) {
  Dataset d = labels(30, 3);
  d.y[0] = 2;
  for (int i = 1; i < 30; ++i) d.y[i] = i < 4 ? 1 : 0;  // class 1 has 3 members, class 2 one
  std::vector<std::string> w;
  plan(cfg_with({{"method", "stratified_kfold"}, {"n_splits", 4}}), d, &w);
  ASSERT_FALSE(w.empty());
  EXPECT_NE(w[0].find("only 1 members"), std::string::npos) << w[0];
}

}  // namespace tf::cv
