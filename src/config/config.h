// Loading, validating and resolving configs (YAML or JSON) against the schema.
//
// A resolved Config holds every schema key with defaults filled in. All
// errors are BadInput (exit code 2) naming the full key path, the bad value,
// what was expected and, for misspelled keys, the closest valid key.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "config/schema.h"

namespace tf::config {

using nlohmann::json;

// Parses YAML (a superset of JSON) text into JSON values; `source` names the
// file in error messages.
json parse_text(const std::string& text, const std::string& source);

// JSON pointer of a dotted key path ("training.epochs" -> /training/epochs).
nlohmann::json::json_pointer pointer(const std::string& dotted);

// Applies one `--set key.path=value` override; the value is parsed as YAML.
void apply_override(json& doc, const std::string& assignment);

class Config {
 public:
  Config() = default;

  // Reads the file, applies overrides in order, validates, fills defaults.
  static Config load(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});
  // Validates `user` (a partial document) and fills defaults.
  static Config resolve(const json& user, const std::string& source = "<config>");
  // The defaults alone.
  static Config defaults();

  const json& doc() const { return doc_; }
  const json& at(const std::string& dotted) const;

  bool get_bool(const std::string& k) const { return at(k).get<bool>(); }
  long long get_int(const std::string& k) const { return at(k).get<long long>(); }
  double get_float(const std::string& k) const { return at(k).get<double>(); }
  std::string get_string(const std::string& k) const { return at(k).get<std::string>(); }
  std::vector<long long> get_int_list(const std::string& k) const { return at(k).get<std::vector<long long>>(); }

  // YAML text of the resolved config (what is saved as config.yaml).
  std::string to_yaml() const;

 private:
  json doc_;
};

// Converts JSON to block-style YAML text.
std::string to_yaml(const json& j);

// Markdown table of every key (the README's configuration reference).
std::string reference_markdown();

}  // namespace tf::config
