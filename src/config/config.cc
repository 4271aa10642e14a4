#include "config/config.h"

#include <cmath>
#include <set>
#include <sstream>

#include "config/aliases.h"
#include "config/limits.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"

namespace tf::config {

namespace {

// ------------------------------------------------------------------ validation
std::string show(const json& v) {
  std::string s = v.is_number_float() ? format_number(v.get<double>())  // nan, inf by name
                                       : v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

[[noreturn]] void bad(const std::string& source, const std::string& path, const std::string& msg) {
  throw BadInput(source + ": " + path + ": " + msg, __FILE__, __LINE__);
}

bool is_number(const json& v) { return v.is_number() && !v.is_boolean(); }

void check_number(const std::string& src, const KeySpec& k, const json& v, bool integer, const std::string& where) {
  if (integer ? !v.is_number_integer() : !is_number(v))
    bad(src, where, "expected " + std::string(integer ? "an integer" : "a number") + ", got " + show(v));
  double d = v.get<double>();
  if (!std::isfinite(d)) bad(src, where, "expected a finite number, got " + show(v));
  bool low = k.min_exclusive ? d <= k.min : d < k.min;
  bool high = k.max_exclusive ? d >= k.max : d > k.max;
  if (low || high) bad(src, where, "value " + show(v) + " is out of range: expected " + constraint_text(k));
}

void check_choice(const std::string& src, const KeySpec& k, const json& v, const std::string& where) {
  if (!v.is_string()) bad(src, where, "expected a string, got " + show(v));
  if (k.choices.empty()) return;
  auto s = v.get<std::string>();
  for (const auto& c : k.choices)
    if (c == s) return;
  std::string hint = did_you_mean(s, k.choices);
  bad(src, where,
      "value \"" + s + "\" is not allowed: expected one of " + join(k.choices) +
          (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
}

json check_value(const std::string& src, const KeySpec& k, const json& v) {
  const std::string& p = k.path;
  switch (k.type) {
    case Type::kBool:
      if (!v.is_boolean()) bad(src, p, "expected true or false, got " + show(v));
      return v;
    case Type::kInt: check_number(src, k, v, true, p); return v;
    case Type::kFloat: check_number(src, k, v, false, p); return v.get<double>();
    case Type::kString: check_choice(src, k, v, p); return v;
    case Type::kFloatOrChoice:
      if (v.is_string()) {
        check_choice(src, k, v, p);
        return v;
      }
      check_number(src, k, v, false, p);
      return v.get<double>();
    case Type::kOptionalFloat:
      if (v.is_null()) return v;
      check_number(src, k, v, false, p);
      return v.get<double>();
    case Type::kIntList:
    case Type::kFloatList:
    case Type::kStringList:
    case Type::kFloatOrList: {
      if (k.type == Type::kFloatOrList && !v.is_array()) {
        check_number(src, k, v, false, p);
        return v.get<double>();
      }
      if (!v.is_array()) bad(src, p, "expected a " + type_name(k.type) + ", got " + show(v));
      if (v.empty()) bad(src, p, "expected a non-empty " + type_name(k.type));
      json out = json::array();
      for (size_t i = 0; i < v.size(); ++i) {
        std::string where = p + "[" + std::to_string(i) + "]";
        if (k.type == Type::kStringList) {
          check_choice(src, k, v[i], where);
          out.push_back(v[i]);
        } else {
          KeySpec elem = k;
          if (k.type == Type::kIntList && elem.min == -std::numeric_limits<double>::infinity()) elem.min = 1;
          check_number(src, elem, v[i], k.type == Type::kIntList, where);
          out.push_back(k.type == Type::kIntList ? v[i] : json(v[i].get<double>()));
        }
      }
      return out;
    }
    case Type::kEntries:
      if (v.is_null() || v.is_object()) return v;
      bad(src, p, "expected a mapping {entry name: {model: ..., set: {...}} or {ensemble: [...]}}, got " + show(v));
    case Type::kSearchSpace:
      if (v.is_null() || v.is_object() || (v.is_string() && v.get<std::string>() == "auto")) return v;
      bad(src, p, "expected \"auto\" or a mapping {config key: range}, got " + show(v));
    case Type::kClassWeights: {
      if (v.is_null()) return v;
      if (v.is_string()) {
        if (v.get<std::string>() != "balanced")
          bad(src, p, "expected \"balanced\" or a map {class: weight}, got " + show(v));
        return v;
      }
      if (!v.is_object() || v.empty()) bad(src, p, "expected \"balanced\" or a map {class: weight}, got " + show(v));
      json out = json::object();
      for (auto it = v.begin(); it != v.end(); ++it) {
        std::string where = p + "." + it.key();
        if (!is_number(it.value()) || !std::isfinite(it.value().get<double>()) || it.value().get<double>() < 0)
          bad(src, where, "expected a weight >= 0, got " + show(it.value()));
        out[it.key()] = it.value().get<double>();
      }
      return out;
    }
  }
  return v;
}

// Children (next path component) of a dotted prefix, from the schema.
std::vector<std::string> children_of(const std::string& prefix) {
  std::set<std::string> out;
  for (const auto& k : schema()) {
    if (prefix.empty() || k.path.rfind(prefix + ".", 0) == 0) {
      std::string rest = prefix.empty() ? k.path : k.path.substr(prefix.size() + 1);
      out.insert(rest.substr(0, rest.find('.')));
    }
  }
  return {out.begin(), out.end()};
}

void walk(const std::string& src, const json& node, const std::string& prefix) {
  if (!node.is_object()) bad(src, prefix.empty() ? "<top>" : prefix, "expected a mapping, got " + show(node));
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (find_key(path)) continue;
    std::vector<std::string> kids = children_of(path);
    if (!kids.empty()) {
      walk(src, it.value(), path);
      continue;
    }
    std::vector<std::string> siblings = children_of(prefix);
    std::string hint = did_you_mean(it.key(), siblings);
    std::string msg = "unknown key";
    if (!key_hint(path).empty())
      msg += " (" + key_hint(path) + ")";
    else if (!hint.empty())
      msg += " (did you mean " + (prefix.empty() ? hint : prefix + "." + hint) + "?)";
    else
      msg += "; valid keys here: " + join(siblings);
    bad(src, path, msg);
  }
}

// Rules that involve more than one key.
void cross_checks(const std::string& src, const json& d) {
  auto at = [&](const std::string& k) -> const json& { return d.at(pointer(k)); };
  if (at("model.cnn1d.channels").size() != at("model.cnn1d.kernel_sizes").size())
    bad(src, "model.cnn1d.kernel_sizes",
        "has " + std::to_string(at("model.cnn1d.kernel_sizes").size()) + " entries but model.cnn1d.channels has " +
            std::to_string(at("model.cnn1d.channels").size()) + ": give one kernel size per conv block");
  if (at("training.optimizer_config.nesterov").get<bool>() && at("training.optimizer").get<std::string>() == "sgd" &&
      at("training.optimizer_config.momentum").get<double>() <= 0)
    bad(src, "training.optimizer_config.nesterov", "true needs training.optimizer_config.momentum > 0");
  if (at("data.test_split").get<double>() + at("data.validation_split").get<double>() >= 0.95)
    bad(src, "data.validation_split", "data.test_split + data.validation_split must stay below 0.95");

  // The tuning objective must be a logged validation quantity (checked when the config tunes).
  if (!at("tuning.space").is_null()) {
    std::string obj = at("tuning.objective").get<std::string>();
    bool ok = obj == "val_loss";
    for (const auto& m : at("training.metrics")) ok = ok || obj == "val_" + m.get<std::string>();
    if (!ok)
      bad(src, "tuning.objective",
          "\"" + obj + "\" is not a logged validation quantity: use val_loss or val_<metric> with the metric "
          "listed in training.metrics");
  }
  // Monitored quantities must be ones the trainer logs.
  std::vector<std::string> logged = {"loss", "val_loss"};
  for (const auto& m : at("training.metrics")) {
    logged.push_back(m.get<std::string>());
    logged.push_back("val_" + m.get<std::string>());
  }
  for (const char* key : {"training.callbacks.early_stopping_monitor", "training.callbacks.checkpoint_monitor",
                          "training.callbacks.reduce_lr_monitor"}) {
    std::string m = at(key).get<std::string>();
    bool ok = false;
    for (const auto& l : logged) ok = ok || l == m;
    if (!ok) {
      std::string hint = did_you_mean(m, logged);
      bad(src, key,
          "\"" + m + "\" is not a logged quantity; expected one of " + join(logged) +
              (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
              " (a metric must also be listed in training.metrics)");
    }
  }
}

}  // namespace

json::json_pointer pointer(const std::string& dotted) {
  std::string p;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    p += "/" + dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return json::json_pointer(p);
}

void apply_override(json& doc, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw BadInput("--set " + assignment + ": expected key.path=value", __FILE__, __LINE__);
  std::string key = assignment.substr(0, eq);
  json value = parse_text(assignment.substr(eq + 1), "--set " + key);
  if (assignment.substr(eq + 1).empty()) value = "";
  if (value.is_object() && value.empty() && assignment.substr(eq + 1) != "{}") value = nullptr;
  if (!doc.is_object()) doc = json::object();
  doc[pointer(key)] = value;
}

Config Config::resolve(const json& user, const std::string& source) {
  walk(source, user.is_null() ? json::object() : user, "");
  Config c;
  c.doc_ = json::object();
  for (const auto& k : schema()) {
    auto ptr = pointer(k.path);
    if (user.is_object() && user.contains(ptr)) {
      c.doc_[ptr] = check_value(source, k, normalize_value(k, user.at(ptr)));
    } else {
      c.doc_[ptr] = k.def;
    }
  }
  derive_defaults(c.doc_);
  cross_checks(source, c.doc_);
  return c;
}

Config Config::load(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  if (!std::filesystem::exists(file)) throw BadInput("config file " + file.string() + " does not exist", __FILE__, __LINE__);
  check_regular_file(file, "config file");
  const auto bytes = std::filesystem::file_size(file);
  if (bytes > kMaxConfigBytes)
    throw BadInput(file.string() + ": " + std::to_string(bytes) + " bytes; a config may have at most " +
                       std::to_string(kMaxConfigBytes) + " bytes (1 MiB)",
                   __FILE__, __LINE__);
  json user = parse_text(read_file(file), file.string());
  if (!user.is_object()) throw BadInput(file.string() + ": expected a mapping at the top level", __FILE__, __LINE__);
  for (const auto& o : overrides) apply_override(user, o);
  return resolve(user, file.string());
}

Config Config::defaults() { return resolve(json::object(), "<defaults>"); }

const json& Config::at(const std::string& dotted) const {
  auto p = pointer(dotted);
  if (!doc_.contains(p)) throw Error("internal: config key " + dotted + " is not in the schema", __FILE__, __LINE__);
  return doc_.at(p);
}

std::string Config::to_yaml() const { return config::to_yaml(doc_); }

std::string reference_markdown() {
  std::ostringstream os;
  os << "| key | type | default | allowed | description |\n|---|---|---|---|---|\n";
  for (const auto& k : schema()) {
    std::string c = constraint_text(k);
    os << "| `" << k.path << "` | " << type_name(k.type) << " | `" << k.def.dump() << "` | " << c << " | " << k.doc
       << " |\n";
  }
  return os.str();
}

}  // namespace tf::config
