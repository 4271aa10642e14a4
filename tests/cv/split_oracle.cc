// Reads one JSON split request per line on stdin and prints the folds (or the
// error) as one JSON line: the bridge for test_splitters_sklearn.py.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "cv/splitters.h"

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto req = nlohmann::json::parse(line);
    tf::cv::SplitSpec s;
    s.method = req.at("method");
    s.n_splits = req.value("n_splits", 5);
    s.p_groups = req.value("p_groups", 2);
    s.gap = req.value("gap", 0);
    s.test_size = req.value("test_size", 0);
    s.max_train_size = req.value("max_train_size", 0);
    std::vector<int64_t> y = req.value("y", std::vector<int64_t>{});
    std::vector<int64_t> groups = req.value("groups", std::vector<int64_t>{});
    tf::cv::SplitInput in;
    in.n = req.at("n");
    in.y = &y;
    in.groups = &groups;
    nlohmann::json out;
    try {
      std::vector<std::string> warnings;
      auto folds = tf::cv::split(s, in, &warnings);
      out["test"] = nlohmann::json::array();
      out["train"] = nlohmann::json::array();
      for (auto& f : folds) {
        out["test"].push_back(f.test);
        out["train"].push_back(f.train);
      }
      out["warnings"] = warnings;
    } catch (const tf::BadInput& e) {
      out["error"] = e.what();
    }
    std::cout << out.dump() << "\n";
  }
  return 0;
}
