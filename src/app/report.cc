#include "app/report.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"
#include "app/report_svg.h"

namespace tf {

namespace {

using nlohmann::json;
using report::bars;
using report::chart;
using report::ChartOptions;
using report::confusion;
using report::esc;
using report::num;
using report::Series;
using report::table;

json read_json(const fs::path& p) {
  try {
    return json::parse(read_file(p));
  } catch (const json::exception& e) {
    throw BadInput(p.string() + ": not valid JSON: " + e.what(), __FILE__, __LINE__);
  }
}

// CSV with RFC 4180 quoting (a parameter value such as [16, 32] is quoted).
std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(p));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cells.back() += '"', ++i;
        else if (c == '"') quoted = false;
        else cells.back() += c;
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        cells.emplace_back();
      } else {
        cells.back() += c;
      }
    }
    rows.push_back(cells);
  }
  return rows;
}

std::vector<std::string> class_names(const json& metrics) {
  std::vector<std::string> n;
  if (metrics.contains("per_class"))
    for (const auto& c : metrics["per_class"]) n.push_back(c.value("class", std::string()));
  return n;
}

std::string train_section(const fs::path& dir) {
  std::ostringstream o;
  // Classical models have no epochs: just the scores.
  auto rows = fs::exists(dir / "history.csv") ? read_csv(dir / "history.csv") : std::vector<std::vector<std::string>>{};
  if (rows.size() >= 2) {
  const auto& head = rows[0];
  std::map<std::string, std::vector<double>> col;
  for (size_t r = 1; r < rows.size(); ++r)
    for (size_t c = 0; c < head.size() && c < rows[r].size(); ++c)
      col[head[c]].push_back(rows[r][c].empty() ? NAN : std::atof(rows[r][c].c_str()));
  const auto& ep = col["epoch"];
  ChartOptions per_epoch;
  per_epoch.whole_x = true;
  if (fs::exists(dir / "summary.json")) {
    const json s = read_json(dir / "summary.json");
    if (s.value("best_epoch", 0) > 0) {
      per_epoch.mark_x = s["best_epoch"].get<double>();
      per_epoch.mark_label = "best epoch " + std::to_string(s["best_epoch"].get<int>());
    }
  }
  o << "<h2>Learning curves</h2><div class=\"row\">";
  std::vector<Series> loss = {{"loss", ep, col["loss"]}};
  if (col.count("val_loss")) loss.push_back({"val_loss", ep, col["val_loss"]});
  o << chart("curve-loss", "loss per epoch", loss, "epoch", "loss", per_epoch);
  for (const auto& [name, v] : col) {
    if (name == "epoch" || name == "loss" || name == "val_loss" || name == "lr" || name == "time_s" ||
        name == "samples_per_s" || name.rfind("val_", 0) == 0)
      continue;
    std::vector<Series> s = {{name, ep, v}};
    if (col.count("val_" + name)) s.push_back({"val_" + name, ep, col["val_" + name]});
    o << chart("curve-" + name, name + " per epoch", s, "epoch", name, per_epoch);
  }
  if (col.count("lr")) o << chart("curve-lr", "learning rate", {{"lr", ep, col["lr"]}}, "epoch", "lr", per_epoch);
  o << "</div>";
  }
  if (fs::exists(dir / "summary.json")) {
    json s = read_json(dir / "summary.json");
    for (const char* part : {"val", "test"})
      if (s.contains(part)) {
        const json& m = s[part];
        o << "<h2>" << part << " set (" << m.value("rows", 0) << " rows)</h2><p>accuracy " << num(m["accuracy"])
          << ", macro-F1 " << num(m["f1_macro"]) << ", leak recall " << num(m["leak_recall"]) << ", loss "
          << num(m["loss"]) << "</p>";
        if (std::string(part) == "test" || !s.contains("test"))
          o << confusion(std::string("confusion-") + part, std::string(part) + " confusion matrix (rows: true)",
                         m["confusion_matrix"], class_names(m));
      }
  }
  return o.str();
}

std::string cv_section(const fs::path& dir) {
  json r = read_json(dir / "cv_results.json");
  std::ostringstream o;
  o << "<h2>Cross-validation: " << esc(r.value("method", "")) << ", " << r["folds"].size() << " folds</h2>";
  std::vector<std::string> names;
  std::vector<double> means, stds;
  for (const auto& m : r["scoring"]) {
    names.push_back(m.get<std::string>());
    means.push_back(r["summary"][m.get<std::string>()]["mean"].get<double>());
    stds.push_back(r["summary"][m.get<std::string>()]["std"].get<double>());
  }
  o << "<div class=\"row\">" << bars("cv-summary", "mean ± std over the folds", names, means, stds);
  std::vector<Series> per;
  for (const auto& m : r["scoring"]) {
    Series s{m.get<std::string>(), {}, {}, true};
    for (const auto& f : r["folds"]) {
      s.x.push_back(f["fold"].get<double>());
      s.y.push_back(f[m.get<std::string>()].get<double>());
    }
    per.push_back(s);
  }
  ChartOptions folds;
  folds.whole_x = true;
  o << chart("cv-folds", "score per fold", per, "fold", "score", folds) << "</div>";
  o << confusion("confusion-pooled", "pooled out-of-fold confusion matrix (rows: true)",
                 r["pooled_oof"]["confusion_matrix"], class_names(r["pooled_oof"]));
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : r["folds"]) {
    std::vector<std::string> row = {std::to_string(f["fold"].get<int>())};
    for (const auto& m : r["scoring"]) row.push_back(num(f[m.get<std::string>()].get<double>()));
    rows.push_back(row);
  }
  std::vector<std::string> head = {"fold"};
  head.insert(head.end(), names.begin(), names.end());
  o << table(head, rows, "cv-table");
  return o.str();
}

std::string study_section(const fs::path& dir) {
  auto rows = read_csv(dir / "trials.csv");
  TF_CHECK_INPUT(rows.size() >= 2, (dir / "trials.csv").string() + ": no trials");
  json summary = fs::exists(dir / "study_summary.json") ? read_json(dir / "study_summary.json") : json::object();
  const bool maximize = summary.value("direction", "maximize") == "maximize";
  const auto& head = rows[0];
  auto idx = [&](const std::string& n) { return std::find(head.begin(), head.end(), n) - head.begin(); };
  const size_t i_num = idx("number"), i_state = idx("state"), i_value = idx("value");
  std::vector<size_t> params;
  for (size_t c = 0; c < head.size(); ++c)
    if (head[c] != "number" && head[c] != "state" && head[c] != "value" && head[c] != "duration_s" &&
        head[c] != "group" && head[c] != "reason")
      params.push_back(c);
  Series values{"trial value", {}, {}, true}, best{"best so far", {}, {}};
  double b = maximize ? -INFINITY : INFINITY;
  std::ostringstream o;
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() <= i_value || rows[r][i_state] != "complete") continue;
    const double n = std::atof(rows[r][i_num].c_str()), v = std::atof(rows[r][i_value].c_str());
    values.x.push_back(n), values.y.push_back(v);
    b = maximize ? std::max(b, v) : std::min(b, v);
    best.x.push_back(n), best.y.push_back(b);
  }
  const std::string objective = summary.value("objective", "value");
  o << "<h2>Optimisation history (" << esc(objective) << ", " << (maximize ? "maximise" : "minimise") << ")</h2>";
  ChartOptions trials;
  trials.whole_x = true;
  o << chart("study-history", "value per trial and best so far", {values, best}, "trial", objective, trials);
  o << "<h2>Parameters against the value</h2><div class=\"row\">";
  for (size_t c : params) {
    Series s{head[c], {}, {}, true};
    bool numeric = true, positive = true;
    for (size_t r = 1; r < rows.size(); ++r) {
      if (rows[r].size() <= c || rows[r][i_state] != "complete" || rows[r][c].empty()) continue;
      char* end = nullptr;
      const double x = std::strtod(rows[r][c].c_str(), &end);
      if (end == rows[r][c].c_str() || *end) numeric = false;
      positive = positive && x > 0;
      s.x.push_back(x), s.y.push_back(std::atof(rows[r][i_value].c_str()));
    }
    if (!numeric || s.x.empty()) continue;
    double lo = *std::min_element(s.x.begin(), s.x.end()), hi = *std::max_element(s.x.begin(), s.x.end());
    ChartOptions param;
    param.log_x = positive && hi / lo > 50;
    o << chart("param-" + head[c], head[c], {s}, head[c], objective, param);
  }
  o << "</div>";
  if (summary.contains("importances") && !summary["importances"].empty()) {
    std::vector<std::string> names;
    std::vector<double> v, zero;
    for (const auto& [k, x] : summary["importances"].items()) names.push_back(k), v.push_back(x.get<double>()), zero.push_back(0);
    o << bars("study-importances", "parameter importances", names, v, zero);
  }
  std::vector<std::vector<std::string>> body(rows.begin() + 1, rows.end());
  o << "<h2>Trials</h2>" << table(head, body, "trials-table");
  return o.str();
}

std::string compare_section(const fs::path& dir) {
  json r = read_json(dir / "compare.json");
  std::ostringstream o;
  std::vector<std::string> names;
  std::vector<double> means, stds;
  for (const auto& e : r["ranking"]) {
    names.push_back(e["entry"]);
    means.push_back(e["mean"]);
    stds.push_back(e["std"]);
  }
  o << "<h2>Ranking by " << esc(r["metric"].get<std::string>()) << " (" << r["folds"].get<int>() << " folds)</h2>";
  o << bars("compare-ranking", "mean ± std over the folds", names, means, stds);
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : names) {
    std::vector<std::string> row = {a};
    for (const auto& b : names) {
      std::string cell = "-";
      for (const auto& p : r["pairs"])
        if ((p["a"] == a && p["b"] == b) || (p["a"] == b && p["b"] == a))
          cell = num(p["p"].get<double>(), 3) + (p["significant"].get<bool>() ? " *" : "");
      row.push_back(cell);
    }
    rows.push_back(row);
  }
  std::vector<std::string> head = {"p-value"};
  head.insert(head.end(), names.begin(), names.end());
  o << "<h2>Pairwise tests: " << esc(r["test"].get<std::string>()) << " (* p &lt; " << num(r["alpha"].get<double>())
    << ")</h2>" << table(head, rows, "compare-pvalues");
  o << "<h2>Verdict</h2><ul id=\"verdict\">";
  for (const auto& v : r["verdict"]) o << "<li>" << esc(v.get<std::string>()) << "</li>";
  o << "</ul>";
  return o.str();
}

}  // namespace

std::string run_kind(const fs::path& d) {
  if (fs::exists(d / "compare.json")) return "compare";
  if (fs::exists(d / "study.jsonl")) return "study";
  if (fs::exists(d / "cv_results.json")) return "cv";
  if (fs::exists(d / "history.csv") || fs::exists(d / "summary.json")) return "train";
  return "";
}

fs::path write_report(const fs::path& dir) {
  TF_CHECK_INPUT(fs::is_directory(dir), "report: " + dir.string() + " is not a folder");
  const std::string kind = run_kind(dir);
  TF_CHECK_INPUT(!kind.empty(), "report: " + dir.string() +
                                    " is not a trainfleet run, CV, study or compare folder (no history.csv, "
                                    "summary.json, cv_results.json, study.jsonl or compare.json)");
  if (kind == "study") TF_CHECK_INPUT(fs::exists(dir / "trials.csv"), "report: " + dir.string() + " has no trials.csv yet");
  std::string body = kind == "compare" ? compare_section(dir)
                     : kind == "study" ? study_section(dir)
                     : kind == "cv"    ? cv_section(dir)
                                       : train_section(dir);
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>trainfleet report: "
    << esc(dir.filename().string()) << "</title><style>"
    << "body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
    << ".row{display:flex;flex-wrap:wrap;gap:12px}.chart{background:#fff;border:1px solid #ddd}"
    << ".t{font-size:13px;font-weight:bold}.a{font-size:11px}table{border-collapse:collapse;font-size:12px}"
    << "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f4f4f4}"
    << "</style></head><body data-kind=\"" << kind << "\"><h1>trainfleet " << kind << " report</h1><p>"
    << esc(dir.string()) << "</p>";
  if (fs::exists(dir / "config.yaml"))
    o << "<details><summary>config.yaml</summary><pre>" << esc(read_file(dir / "config.yaml")) << "</pre></details>";
  o << body << "</body></html>\n";
  // An earlier report stays as it is: the new one is report-2.html, report-3.html, ...
  fs::path out = dir / "report.html";
  for (int n = 2; fs::exists(out); ++n) out = dir / ("report-" + std::to_string(n) + ".html");
  if (out.filename() != "report.html")
    spdlog::info("{} exists already and is kept; this report is {}", (dir / "report.html").string(),
                 out.filename().string());
  atomic_write(out, o.str());
  return out;
}

}  // namespace tf
