#include "app/report.h"

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

namespace tf {

namespace {

using nlohmann::json;

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v, int prec = 4) {
  if (!std::isfinite(v)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%.*g", prec, v);
  return b;
}

const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

struct Series {
  std::string name;
  std::vector<double> x, y;
  bool dots = false;
};

// Axis range with a little margin; a flat range is widened.
std::pair<double, double> range_of(const std::vector<const std::vector<double>*>& vs) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto* v : vs)
    for (double x : *v)
      if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!std::isfinite(lo)) return {0, 1};
  if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  const double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

// About five round tick values (1, 2 or 5 times a power of ten apart) in [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  const double raw = (hi - lo) / 4, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step && t.size() < 12; v += step)
    t.push_back(std::fabs(v) < 1e-12 * step ? 0.0 : v);
  return t;
}

// A line (or dot) chart as inline SVG, with axes, ticks and a legend.
std::string chart(const std::string& id, const std::string& title, const std::vector<Series>& series,
                  const std::string& xlabel, const std::string& ylabel, bool log_x = false) {
  const double W = 520, H = 300, L = 66, R = 130, T = 30, B = 45;
  std::vector<const std::vector<double>*> xs, ys;
  std::vector<Series> s = series;
  if (log_x)
    for (auto& se : s)
      for (auto& x : se.x) x = x > 0 ? std::log10(x) : NAN;
  for (const auto& se : s) xs.push_back(&se.x), ys.push_back(&se.y);
  // Plain variables, not structured bindings: clang before 16 cannot capture those in lambdas.
  const auto xr = range_of(xs), yr = range_of(ys);
  const double x0 = xr.first, x1 = xr.second, y0 = yr.first, y1 = yr.second;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream o;
  o << "<svg id=\"" << esc(id) << "\" class=\"chart\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">";
  o << "<title>" << esc(title) << "</title>";
  o << "<text x=\"" << L << "\" y=\"18\" class=\"t\">" << esc(title) << "</text>";
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << (W - L - R) << "\" height=\"" << (H - T - B)
    << "\" fill=\"none\" stroke=\"#bbb\"/>";
  for (double yv : ticks(y0, y1)) {
    o << "<text x=\"" << (L - 6) << "\" y=\"" << py(yv) + 4 << "\" class=\"a\" text-anchor=\"end\">" << num(yv, 3)
      << "</text>";
    o << "<line x1=\"" << L << "\" x2=\"" << (W - R) << "\" y1=\"" << py(yv) << "\" y2=\"" << py(yv)
      << "\" stroke=\"#eee\"/>";
  }
  for (double xv : ticks(x0, x1))
    o << "<text x=\"" << px(xv) << "\" y=\"" << (H - B + 16) << "\" class=\"a\" text-anchor=\"middle\">"
      << (log_x ? "1e" + num(xv, 2) : num(xv, 3)) << "</text>";
  o << "<text x=\"" << (L + (W - L - R) / 2) << "\" y=\"" << (H - 6) << "\" class=\"a\" text-anchor=\"middle\">"
    << esc(xlabel) << (log_x ? " (log)" : "") << "</text>";
  o << "<text x=\"12\" y=\"" << (T + (H - T - B) / 2) << "\" class=\"a\" text-anchor=\"middle\" transform=\"rotate(-90 12 "
    << (T + (H - T - B) / 2) << ")\">" << esc(ylabel) << "</text>";
  for (size_t i = 0; i < s.size(); ++i) {
    const char* c = kColors[i % 8];
    if (s[i].dots) {
      for (size_t k = 0; k < s[i].x.size(); ++k)
        if (std::isfinite(s[i].x[k]) && std::isfinite(s[i].y[k]))
          o << "<circle class=\"pt\" cx=\"" << px(s[i].x[k]) << "\" cy=\"" << py(s[i].y[k]) << "\" r=\"3\" fill=\"" << c
            << "\"/>";
    } else {
      o << "<polyline class=\"line\" fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\" points=\"";
      for (size_t k = 0; k < s[i].x.size(); ++k)
        if (std::isfinite(s[i].y[k])) o << px(s[i].x[k]) << "," << py(s[i].y[k]) << " ";
      o << "\"/>";
    }
    o << "<rect x=\"" << (W - R + 10) << "\" y=\"" << (T + 16 * i) << "\" width=\"10\" height=\"10\" fill=\"" << c
      << "\"/><text x=\"" << (W - R + 24) << "\" y=\"" << (T + 9 + 16 * i) << "\" class=\"a\">" << esc(s[i].name)
      << "</text>";
  }
  o << "</svg>";
  return o.str();
}

// Horizontal bars with mean ± std error bars.
std::string bars(const std::string& id, const std::string& title, const std::vector<std::string>& names,
                 const std::vector<double>& means, const std::vector<double>& stds) {
  const double W = 560, row = 26, L = 130, R = 90, T = 30;
  const double H = T + row * names.size() + 30;
  double hi = 0;
  for (size_t i = 0; i < means.size(); ++i) hi = std::max(hi, means[i] + stds[i]);
  hi = hi > 0 ? hi * 1.05 : 1;
  auto px = [&](double v) { return L + v / hi * (W - L - R); };
  std::ostringstream o;
  o << "<svg id=\"" << esc(id) << "\" class=\"chart\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>" << esc(title) << "</title>";
  o << "<text x=\"" << L << "\" y=\"18\" class=\"t\">" << esc(title) << "</text>";
  for (size_t i = 0; i < names.size(); ++i) {
    const double y = T + row * i;
    o << "<text x=\"" << (L - 6) << "\" y=\"" << (y + 16) << "\" class=\"a\" text-anchor=\"end\">" << esc(names[i])
      << "</text>";
    o << "<rect class=\"bar\" x=\"" << L << "\" y=\"" << (y + 4) << "\" width=\"" << std::max(0.0, px(means[i]) - L)
      << "\" height=\"16\" fill=\"" << kColors[i % 8] << "\"/>";
    o << "<line class=\"err\" x1=\"" << px(std::max(0.0, means[i] - stds[i])) << "\" x2=\"" << px(means[i] + stds[i])
      << "\" y1=\"" << (y + 12) << "\" y2=\"" << (y + 12) << "\" stroke=\"#000\" stroke-width=\"1.5\"/>";
    o << "<text x=\"" << (px(means[i] + stds[i]) + 6) << "\" y=\"" << (y + 16) << "\" class=\"a\">" << num(means[i])
      << " ± " << num(stds[i], 2) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

// A confusion matrix as a shaded SVG grid (rows: true class, columns: predicted).
std::string confusion(const std::string& id, const std::string& title, const json& cm,
                      const std::vector<std::string>& names) {
  const size_t k = cm.size();
  const double cell = 66, L = 110, T = 48;
  const double W = L + cell * k + 20, H = T + cell * k + 20;
  double mx = 1;
  for (const auto& r : cm)
    for (const auto& v : r) mx = std::max(mx, v.get<double>());
  std::ostringstream o;
  o << "<svg id=\"" << esc(id) << "\" class=\"chart\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>" << esc(title) << "</title>";
  o << "<text x=\"4\" y=\"16\" class=\"t\">" << esc(title) << "</text>";
  for (size_t j = 0; j < k; ++j)
    o << "<text x=\"" << (L + cell * j + cell / 2) << "\" y=\"" << (T - 6) << "\" class=\"a\" text-anchor=\"middle\">"
      << esc(j < names.size() ? names[j].substr(0, 11) : std::to_string(j)) << "</text>";
  for (size_t i = 0; i < k; ++i) {
    o << "<text x=\"" << (L - 6) << "\" y=\"" << (T + cell * i + cell / 2 + 4) << "\" class=\"a\" text-anchor=\"end\">"
      << esc(i < names.size() ? names[i] : std::to_string(i)) << "</text>";
    for (size_t j = 0; j < k; ++j) {
      const double v = cm[i][j].get<double>(), a = v / mx;
      o << "<rect class=\"cell\" x=\"" << (L + cell * j) << "\" y=\"" << (T + cell * i) << "\" width=\"" << cell
        << "\" height=\"" << cell << "\" fill=\"rgba(31,119,180," << num(0.08 + 0.85 * a, 3) << ")\" stroke=\"#fff\"/>";
      o << "<text x=\"" << (L + cell * j + cell / 2) << "\" y=\"" << (T + cell * i + cell / 2 + 4)
        << "\" class=\"a\" text-anchor=\"middle\" fill=\"" << (a > 0.55 ? "#fff" : "#000") << "\">" << num(v, 6)
        << "</text>";
    }
  }
  o << "</svg>";
  return o.str();
}

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                  const std::string& id) {
  std::ostringstream o;
  o << "<table id=\"" << esc(id) << "\"><tr>";
  for (const auto& h : head) o << "<th>" << esc(h) << "</th>";
  o << "</tr>";
  for (const auto& r : rows) {
    o << "<tr>";
    for (const auto& c : r) o << "<td>" << esc(c) << "</td>";
    o << "</tr>";
  }
  o << "</table>";
  return o.str();
}

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
  o << "<h2>Learning curves</h2><div class=\"row\">";
  std::vector<Series> loss = {{"loss", ep, col["loss"]}};
  if (col.count("val_loss")) loss.push_back({"val_loss", ep, col["val_loss"]});
  o << chart("curve-loss", "loss per epoch", loss, "epoch", "loss");
  for (const auto& [name, v] : col) {
    if (name == "epoch" || name == "loss" || name == "val_loss" || name == "lr" || name == "time_s" ||
        name == "samples_per_s" || name.rfind("val_", 0) == 0)
      continue;
    std::vector<Series> s = {{name, ep, v}};
    if (col.count("val_" + name)) s.push_back({"val_" + name, ep, col["val_" + name]});
    o << chart("curve-" + name, name + " per epoch", s, "epoch", name);
  }
  if (col.count("lr")) o << chart("curve-lr", "learning rate", {{"lr", ep, col["lr"]}}, "epoch", "lr");
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
  o << chart("cv-folds", "score per fold", per, "fold", "score") << "</div>";
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
  o << chart("study-history", "value per trial and best so far", {values, best}, "trial", objective);
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
    o << chart("param-" + head[c], head[c], {s}, head[c], objective, positive && hi / lo > 50);
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
  const fs::path out = dir / "report.html";
  atomic_write(out, o.str());
  return out;
}

}  // namespace tf
