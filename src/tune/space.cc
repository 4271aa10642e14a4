#include "tune/space.h"

#include <algorithm>
#include <cmath>

#include "config/apply.h"
#include "config/aliases.h"
#include "config/schema.h"
#include "core/error.h"
#include "core/strings.h"

namespace tf::tune {

namespace {
[[noreturn]] void bad(const std::string& path, const std::string& msg) {
  throw BadInput("tuning.space." + path + ": " + msg, __FILE__, __LINE__);
}

// A value as the user wrote it: nan and inf by name (JSON would print null).
std::string text(const nlohmann::json& v) { return v.is_number_float() ? format_number(v.get<double>()) : v.dump(); }

// Keys that name where or how a run is kept, not what it learns: tuning them
// would only scatter trials or change the study itself.
void check_tunable(const std::string& path) {
  for (const char* section : {"experiment.", "tuning.", "runtime."})
    if (path.rfind(section, 0) == 0)
      bad(path, "cannot be tuned: " + std::string(section) +
                    "* keys choose where and how runs are kept, not what a model learns (tune model.*, training.*, "
                    "features or data keys)");
}

std::vector<std::string> all_keys() {
  std::vector<std::string> k;
  for (const auto& s : config::schema()) k.push_back(s.path);
  return k;
}

// A float or int parameter: values or low/high, log, step.
void parse_range(const std::string& path, const std::string& type, const nlohmann::json& spec, Param& p) {
  p.kind = type == "float" ? Param::Kind::kFloat : Param::Kind::kInt;
  if (spec.contains("values")) {
    if (!spec["values"].is_array() || spec["values"].empty()) bad(path, "values: expected a non-empty list");
    for (const auto& v : spec["values"]) p.choices.push_back(v);
    p.low = spec["values"].front().get<double>();
    p.high = spec["values"].back().get<double>();
  } else {
    if (!spec.contains("low") || !spec.contains("high") || !spec["low"].is_number() || !spec["high"].is_number())
      bad(path, "a " + type + " needs numbers low and high");
    p.low = spec["low"].get<double>();
    p.high = spec["high"].get<double>();
    for (const char* end : {"low", "high"})
      if (!std::isfinite(spec[end].get<double>()))
        bad(path, std::string(end) + ": expected a finite number, got " + text(spec[end]));
    if (!(p.low <= p.high)) bad(path, "low must not exceed high");
  }
  p.log = spec.value("log", false);
  if (spec.contains("step")) {
    const auto& st = spec["step"];
    if (!st.is_number() || !std::isfinite(st.get<double>()) || st.get<double>() <= 0)
      bad(path, "step: expected a number > 0, got " + text(st) + " (leave step out for a continuous range)");
    if (p.kind == Param::Kind::kInt && st.get<double>() != std::floor(st.get<double>()))
      bad(path, "step: an int parameter needs a whole step, got " + text(st));
    p.step = st.get<double>();
  }
  if (p.log && p.low <= 0) bad(path, "log: true needs low > 0");
}

// The extremes and every choice must make a valid config.
void check_probes(const std::string& path, const Param& p, const config::Config& base) {
  std::vector<nlohmann::json> probes =
      p.kind == Param::Kind::kCategorical || !p.choices.empty() ? p.choices : std::vector<nlohmann::json>{};
  if (probes.empty()) {
    if (p.kind == Param::Kind::kInt) probes = {static_cast<int64_t>(p.low), static_cast<int64_t>(p.high)};
    else probes = {p.low, p.high};
  }
  for (const auto& v : probes) {
    try {
      config::apply(base, {{path, v}});
    } catch (const BadInput& e) {
      bad(path, "value " + text(v) + " is not valid: " + e.what());
    }
  }
}
}  // namespace

bool active(const Param& p, const nlohmann::json& params, const config::Config& base) {
  for (const auto& [path, value] : p.when) {
    const nlohmann::json& have = params.contains(path) ? params.at(path) : base.at(path);
    if (have != value) return false;
  }
  return true;
}

std::vector<nlohmann::json> grid_values(const Param& p) {
  if (!p.choices.empty()) return p.choices;
  std::vector<nlohmann::json> v;
  if (p.kind == Param::Kind::kInt) {
    int64_t step = p.step > 0 ? static_cast<int64_t>(p.step) : 1;
    for (int64_t x = static_cast<int64_t>(p.low); x <= static_cast<int64_t>(p.high); x += step) v.push_back(x);
    return v;
  }
  if (p.step > 0)
    for (double x = p.low; x <= p.high + 1e-12 * std::fabs(p.high); x += p.step) v.push_back(x);
  return v;
}

Space parse_space(const nlohmann::json& space, const config::Config& base) {
  Space out;
  if (space.is_null()) return out;
  if (!space.is_object()) throw BadInput("tuning.space: expected a mapping {config key: range}", __FILE__, __LINE__);
  for (auto it = space.begin(); it != space.end(); ++it) {
    const std::string& path = it.key();
    const config::KeySpec* key = config::find_key(path);
    if (!key) {
      std::string hint = config::key_hint(path);
      const std::string near = did_you_mean(path, all_keys());
      if (hint.empty() && !near.empty()) hint = "did you mean " + near + "?";
      bad(path, "not a config key" + (hint.empty() ? std::string() : " (" + hint + ")"));
    }
    check_tunable(path);
    // A plain list (scikit-learn's param_grid form) is a categorical over its values.
    const nlohmann::json spec = it.value().is_array() ? nlohmann::json{{"type", "categorical"}, {"choices", it.value()}}
                                                      : it.value();
    if (!spec.is_object() || !spec.contains("type"))
      bad(path, "expected {type: float|int|categorical, ...} or a list of values, got " + spec.dump());
    Param p;
    p.path = path;
    std::string type = spec["type"].is_string() ? spec["type"].get<std::string>() : "";
    if (type == "float" || type == "int") {
      parse_range(path, type, spec, p);
    } else if (type == "categorical") {
      p.kind = Param::Kind::kCategorical;
      if (!spec.contains("choices") || !spec["choices"].is_array() || spec["choices"].empty())
        bad(path, "a categorical needs a non-empty list of choices");
      for (const auto& v : spec["choices"]) p.choices.push_back(v);
    } else {
      bad(path, "type must be float, int or categorical");
    }
    if (spec.contains("when")) {
      if (!spec["when"].is_object()) bad(path, "when: expected {config key: value}");
      for (auto w = spec["when"].begin(); w != spec["when"].end(); ++w) {
        if (!config::find_key(w.key())) bad(path, "when: " + w.key() + " is not a config key");
        p.when.emplace_back(w.key(), w.value());
      }
    }
    for (auto k = spec.begin(); k != spec.end(); ++k) {
      static const std::vector<std::string> known = {"type", "low", "high", "log", "step", "choices", "values", "when"};
      if (std::find(known.begin(), known.end(), k.key()) == known.end())
        bad(path, "unknown field " + k.key() + "; expected one of " + join(known));
    }
    check_probes(path, p, base);
    out.push_back(std::move(p));
  }
  // Keys come in sorted order; parameters with a `when` go after the others so
  // that the values they depend on are chosen first.
  std::stable_partition(out.begin(), out.end(), [](const Param& p) { return p.when.empty(); });
  return out;
}

Space space_of(const config::Config& cfg) {
  nlohmann::json s = cfg.at("tuning.space");
  TF_CHECK_INPUT(!s.is_null(), "tuning.space: empty; give the parameters to tune (or \"auto\")");
  if (s.is_string()) s = suggest_space(cfg.get_string("model.name"));
  return parse_space(s, cfg);
}

nlohmann::json suggest_space(const std::string& model) {
  using nlohmann::json;
  // Classical models: no training loop to tune.
  if (model == "svm")
    return {{"model.svm.C", {{"type", "float"}, {"low", 1e-2}, {"high", 1e3}, {"log", true}}},
            {"model.svm.gamma", {{"type", "float"}, {"low", 1e-4}, {"high", 1.0}, {"log", true}}},
            {"model.features.fft_bands", {{"type", "int"}, {"low", 0}, {"high", 16}}}};
  if (model == "random_forest")
    return {{"model.random_forest.n_estimators", {{"type", "int"}, {"low", 50}, {"high", 500}, {"log", true}}},
            {"model.random_forest.max_depth", {{"type", "int"}, {"low", 4}, {"high", 20}}},
            {"model.random_forest.subsample", {{"type", "float"}, {"low", 0.4}, {"high", 0.9}}},
            {"model.features.fft_bands", {{"type", "int"}, {"low", 0}, {"high", 16}}}};
  if (model == "gradient_boosting")
    return {{"model.gradient_boosting.n_estimators", {{"type", "int"}, {"low", 50}, {"high", 1000}, {"log", true}}},
            {"model.gradient_boosting.max_depth", {{"type", "int"}, {"low", 2}, {"high", 10}}},
            {"model.gradient_boosting.learning_rate", {{"type", "float"}, {"low", 1e-3}, {"high", 0.3}, {"log", true}}},
            {"model.gradient_boosting.subsample", {{"type", "float"}, {"low", 0.5}, {"high", 1.0}}},
            {"model.gradient_boosting.colsample_bytree", {{"type", "float"}, {"low", 0.5}, {"high", 1.0}}}};
  json common = {
      {"training.learning_rate", {{"type", "float"}, {"low", 1e-4}, {"high", 1e-2}, {"log", true}}},
      {"training.batch_size", {{"type", "categorical"}, {"choices", {16, 32, 64, 128}}}},
      {"training.optimizer", {{"type", "categorical"}, {"choices", {"adam", "adamw"}}}},
      {"training.optimizer_config.weight_decay", {{"type", "float"}, {"low", 1e-6}, {"high", 1e-2}, {"log", true}}}};
  if (model == "mlp") {
    common["model.mlp.dropout"] = {{"type", "float"}, {"low", 0.0}, {"high", 0.5}};
    common["model.mlp.hidden_units"] = {{"type", "categorical"}, {"choices", {{64}, {128, 64}, {256, 128}}}};
  } else if (model == "cnn1d") {
    common["model.cnn1d.dropout"] = {{"type", "float"}, {"low", 0.0}, {"high", 0.5}};
    common["model.cnn1d.pool_size"] = {{"type", "int"}, {"low", 2}, {"high", 4}};
    common["model.cnn1d.channels"] = {{"type", "categorical"}, {"choices", {{16, 32, 32}, {32, 64, 64}, {64, 128, 128}}}};
    common["model.cnn1d.kernel_sizes"] = {{"type", "categorical"}, {"choices", {{7, 5, 3}, {9, 7, 5}, {5, 3, 3}}}};
  } else if (model == "lstm") {
    common["model.lstm.hidden_size"] = {{"type", "int"}, {"low", 16}, {"high", 128}, {"log", true}};
    common["model.lstm.num_layers"] = {{"type", "int"}, {"low", 1}, {"high", 2}};
    common["model.lstm.bidirectional"] = {{"type", "categorical"}, {"choices", {false, true}}};
    common["model.lstm.downsample"] = {{"type", "categorical"}, {"choices", {4, 8, 16}}};
    common["model.lstm.dropout"] = {{"type", "float"}, {"low", 0.0}, {"high", 0.5}};
  } else {
    throw BadInput("--suggest-space " + model + ": unknown model; expected mlp, cnn1d, lstm, svm, random_forest or gradient_boosting", __FILE__, __LINE__);
  }
  return common;
}

}  // namespace tf::tune
