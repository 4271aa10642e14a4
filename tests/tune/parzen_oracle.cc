// Oracle driver for tests/tune/test_parzen_optuna.py: reads one case as JSON
// on stdin — {"space": {...tuning.space...}, "below": [{path: value}...],
// "above": [...], "points": [...], "multivariate": bool} — and prints, for
// every point, the log densities of the below and above estimators.
#include <iostream>

#include "config/config.h"
#include "tune/parzen.h"
#include "tune/space.h"

int main() {
  using nlohmann::json;
  json in = json::parse(std::cin);
  auto base = tf::config::Config::defaults();
  tf::tune::Space space = tf::tune::parse_space(in["space"], base);
  std::vector<tf::tune::Dim> dims;
  for (const auto& p : space) dims.emplace_back(p);
  auto coords = [&](const json& rows) {
    std::vector<std::vector<double>> out;
    for (const auto& r : rows) {
      std::vector<double> x;
      for (const auto& d : dims) x.push_back(d.encode(r[d.p->path]));
      out.push_back(x);
    }
    return out;
  };
  const bool mv = in["multivariate"];
  tf::tune::Parzen l(dims, coords(in["below"]), mv, 1.0), g(dims, coords(in["above"]), mv, 1.0);
  json out = json::array();
  for (const auto& x : coords(in["points"])) out.push_back({l.log_pdf(x), g.log_pdf(x)});
  std::cout << out.dump() << "\n";
  return 0;
}
