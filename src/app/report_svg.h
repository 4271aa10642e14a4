// The SVG and HTML pieces of `trainfleet report` (app/report.h): line and
// dot charts with axes and legends, bars with error bars, confusion
// matrices and tables, all inline and self-contained.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace tf::report {

// `s` with <, >, & and " escaped for HTML.
std::string esc(const std::string& s);

// `v` with `prec` significant digits; "n/a" when not finite.
std::string num(double v, int prec = 4);

struct Series {
  std::string name;
  std::vector<double> x, y;
  bool dots = false;
};

struct ChartOptions {
  bool log_x = false;
  bool whole_x = false;     // the x axis counts things (epochs, folds, trials): whole ticks
  double mark_x = NAN;      // a dashed vertical marker here (the best epoch), labelled
  std::string mark_label;
};

// A line (or dot) chart as inline SVG, with axes, ticks and a legend wide
// enough for the longest series name.
std::string chart(const std::string& id, const std::string& title, const std::vector<Series>& series,
                  const std::string& xlabel, const std::string& ylabel, const ChartOptions& opt = {});

// Horizontal bars with mean +- std error bars.
std::string bars(const std::string& id, const std::string& title, const std::vector<std::string>& names,
                 const std::vector<double>& means, const std::vector<double>& stds);

// A confusion matrix as a shaded SVG grid (rows: true class, columns:
// predicted), column names slanted so that long names never run together.
std::string confusion(const std::string& id, const std::string& title, const nlohmann::json& cm,
                      const std::vector<std::string>& names);

// An HTML table.
std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                  const std::string& id);

}  // namespace tf::report
