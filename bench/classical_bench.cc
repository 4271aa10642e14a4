// trainfleet's side of bench/classical_vs_sklearn.py: the features of every
// window, and the accuracy of the LIBSVM and XGBoost random-forest models on
// folds given by the script (features standardised on each fold's training rows).
//   classical_bench DATA.h5 FOLDS.json OUT.json
// FOLDS.json: {"folds": [[test rows], ...], "svm": {C, gamma}, "rf": {n_estimators, max_depth, ...},
//              "features": {kind, fft_bands}}
// OUT.json: {"features": [[...] per row], "y": [...], "folds": [{"svm": acc, "random_forest": acc}, ...]}
#include <cstdio>
#include <fstream>
#include <iostream>

#include "config/config.h"
#include "core/fs.h"
#include "data/h5io.h"
#include "models/classical.h"
#include "models/features.h"

using namespace tf;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: classical_bench DATA.h5 FOLDS.json OUT.json\n");
    return 2;
  }
  Dataset d = read_h5(argv[1]);
  auto spec = nlohmann::json::parse(read_file(argv[2]));
  nlohmann::json doc = {{"model", {{"svm", spec["svm"]}, {"random_forest", spec["rf"]},
                                   {"features", spec.value("features", nlohmann::json::object())}}}};
  nlohmann::json out;
  FeatureExtractor raw_fx(config::Config::resolve(doc));
  auto raw = raw_fx.raw(d);
  const int64_t D = raw_fx.dim(d.t, d.c);
  out["features"] = nlohmann::json::array();  // flatten: the script reads /X itself
  if (raw_fx.dim(d.t, d.c) != d.t * d.c || spec.value("features", nlohmann::json::object()).value("kind", "stats") != "flatten")
    for (int64_t i = 0; i < d.n; ++i)
      out["features"].push_back(std::vector<double>(raw.begin() + i * D, raw.begin() + (i + 1) * D));
  out["y"] = d.y;
  out["folds"] = nlohmann::json::array();
  for (const auto& test_rows : spec["folds"]) {
    std::vector<bool> is_test(static_cast<size_t>(d.n), false);
    for (int64_t r : test_rows) is_test[static_cast<size_t>(r)] = true;
    std::vector<int64_t> tr, te;
    for (int64_t i = 0; i < d.n; ++i) (is_test[i] ? te : tr).push_back(i);
    Dataset train = d.subset(tr), test = d.subset(te);
    nlohmann::json fold;
    for (const std::string m : {"svm", "random_forest"}) {
      doc["model"]["name"] = m;
      auto cfg = config::Config::resolve(doc);
      FeatureExtractor fx(cfg);
      Features ftr{fx.fit_transform(train), train.n, D}, fte{fx.transform(test), test.n, D};
      auto model = make_classical(cfg, 2);
      model->fit(ftr, train.y, d.num_classes);
      auto pred = model->predict(fte);
      int64_t right = 0;
      for (int64_t i = 0; i < test.n; ++i) right += pred[i] == test.y[i];
      fold[m] = static_cast<double>(right) / static_cast<double>(test.n);
    }
    out["folds"].push_back(fold);
    std::fprintf(stderr, "fold %zu: %s\n", out["folds"].size() - 1, fold.dump().c_str());
  }
  atomic_write(argv[3], out.dump());
  return 0;
}
