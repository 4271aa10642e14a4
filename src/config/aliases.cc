#include "config/aliases.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "core/strings.h"

namespace tf::config {

namespace {

using nlohmann::json;

struct Misplaced {
  std::string name;  // last part of the path (or the whole dotted path)
  std::string hint;
};

// Names from scikit-learn, Keras and Optuna with no key of the same name.
const std::vector<Misplaced>& misplaced() {
  static const std::vector<Misplaced> m = {
      {"training.class_weights", "class_weights is a top-level key: write class_weights: {...} at the top level, "
                                 "not under training"},
      {"class_weight", "did you mean class_weights (a top-level key)?"},
      {"min_samples_split",
       "scikit-learn's min_samples_split has no equivalent here; the nearest knob is "
       "model.random_forest.min_child_weight (minimum hessian sum in a leaf), which is not the same"},
      {"min_samples_leaf",
       "scikit-learn's min_samples_leaf has no equivalent here; the nearest knob is "
       "model.random_forest.min_child_weight (minimum hessian sum in a leaf), which is not the same"},
      {"max_features",
       "scikit-learn's max_features has no equivalent here; the nearest knob is "
       "model.random_forest.colsample_bynode (a share of the features, or sqrt), which is not the same"},
      {"bootstrap",
       "scikit-learn's bootstrap has no equivalent here; the nearest knob is model.random_forest.subsample "
       "(rows drawn without replacement), which is not the same"},
      {"param_grid", "a grid is tuning.space with tuning.sampler: grid"},
      {"param_dist", "a distribution is tuning.space with tuning.sampler: random"},
      {"tuning.method", "did you mean tuning.sampler (grid, random, tpe; bayesian = tpe)?"},
  };
  return m;
}

std::string last_part(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& value_aliases(const std::string& path) {
  static const std::vector<std::pair<std::string, std::string>> none, sampler = {{"bayesian", "tpe"}};
  return path == "tuning.sampler" ? sampler : none;
}

json normalize_value(const KeySpec& k, const json& v) {
  auto alias_of = [&](const json& x) -> json {
    if (!x.is_string()) return x;
    for (const auto& [from, to] : value_aliases(k.path))
      if (x.get<std::string>() == from) return to;
    return x;
  };
  if (k.type == Type::kStringList) {
    json list = v.is_string() ? json::array({v}) : v;
    if (!list.is_array()) return v;
    for (auto& x : list) x = alias_of(x);
    return list;
  }
  return k.type == Type::kString ? alias_of(v) : v;
}

std::string key_hint(const std::string& path) {
  const std::string name = last_part(path);
  for (const auto& m : misplaced())
    if (m.name == path || m.name == name) return m.hint;
  // Keys with the same last part (case-insensitively): model sections first.
  std::vector<std::string> model, other;
  for (const auto& k : schema()) {
    if (k.path == path || lower(last_part(k.path)) != lower(name)) continue;
    (k.path.rfind("model.", 0) == 0 ? model : other).push_back(k.path);
  }
  model.insert(model.end(), other.begin(), other.end());
  if (model.empty()) return "";
  return "did you mean " + join(model, " or ") + "?";
}

void derive_defaults(json& doc) {
  const auto ptr = json::json_pointer("/tuning/objective");
  if (!doc.contains(ptr) || doc[ptr] != "auto") return;
  bool f1 = false;
  for (const auto& m : doc["training"]["metrics"]) f1 = f1 || m == "f1_macro";
  doc[ptr] = f1 ? "val_f1_macro" : "val_loss";
  if (!doc["tuning"]["space"].is_null())
    spdlog::info("tuning.objective: {} (the default: {})", doc[ptr].get<std::string>(),
                 f1 ? "f1_macro is in training.metrics"
                    : "val_f1_macro needs f1_macro in training.metrics, which lists " +
                          join(doc["training"]["metrics"].get<std::vector<std::string>>()) +
                          "; set tuning.objective to choose another");
}

}  // namespace tf::config
