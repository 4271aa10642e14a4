#include "app/report_svg.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace tf::report {

namespace {

using nlohmann::json;

const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

// Axis range with a little margin; a flat range is widened by half its value
// (a constant learning rate of 1e-3 is drawn at 1e-3, not at 0 on a -0.5..0.5 axis).
std::pair<double, double> range_of(const std::vector<const std::vector<double>*>& vs) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto* v : vs)
    for (double x : *v)
      if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!std::isfinite(lo)) return {0, 1};
  if (hi - lo <= 1e-9 * std::max(std::fabs(lo), std::fabs(hi))) {
    const double d = lo != 0 ? 0.5 * std::fabs(lo) : 0.5;
    lo -= d, hi += d;
  }
  const double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

// About five round tick values (1, 2 or 5 times a power of ten apart) in [lo, hi];
// `whole`: whole numbers only (epochs, folds, trials).
std::vector<double> ticks(double lo, double hi, bool whole = false) {
  const double raw = (hi - lo) / 4, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  if (whole) step = std::max(1.0, std::round(step));
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step && t.size() < 12; v += step)
    t.push_back(std::fabs(v) < 1e-12 * step ? 0.0 : v);
  return t;
}

// Tick labels with as many significant digits as it takes to tell neighbours
// apart (0.2005 and 0.201, not 0.201 twice).
std::vector<std::string> tick_labels(const std::vector<double>& t) {
  for (int prec = 3;; ++prec) {
    std::vector<std::string> out;
    for (double v : t) out.push_back(num(v, prec));
    if (prec >= 17 || std::adjacent_find(out.begin(), out.end()) == out.end()) return out;
  }
}

// Width in pixels of `s` at the 11px label font (an upper bound for sans-serif).
double text_width(const std::string& s) { return 6.6 * static_cast<double>(s.size()); }

}  // namespace

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

std::string num(double v, int prec) {
  if (!std::isfinite(v)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%.*g", prec, v);
  return b;
}

// A line (or dot) chart as inline SVG, with axes, ticks and a legend wide
// enough for the longest series name.
std::string chart(const std::string& id, const std::string& title, const std::vector<Series>& series,
                  const std::string& xlabel, const std::string& ylabel, const ChartOptions& opt) {
  const bool log_x = opt.log_x;
  double legend = 0;
  for (const auto& se : series) legend = std::max(legend, text_width(se.name));
  const double R = std::max(130.0, 34 + legend), W = 390 + R, H = 300, T = 30, B = 45;
  std::vector<const std::vector<double>*> xs, ys;
  std::vector<Series> s = series;
  if (log_x)
    for (auto& se : s)
      for (auto& x : se.x) x = x > 0 ? std::log10(x) : NAN;
  for (const auto& se : s) xs.push_back(&se.x), ys.push_back(&se.y);
  // Plain variables, not structured bindings: clang before 16 cannot capture those in lambdas.
  const auto xr = range_of(xs), yr = range_of(ys);
  const double x0 = xr.first, x1 = xr.second, y0 = yr.first, y1 = yr.second;
  const std::vector<double> yt = ticks(y0, y1), xt = ticks(x0, x1, opt.whole_x && !log_x);
  const std::vector<std::string> ytl = tick_labels(yt), xtl = tick_labels(xt);
  // The left margin fits the longest y tick label (they end 6 px left of the
  // plot) and the axis title left of them.
  double ywidth = 0;
  for (const auto& t : ytl) ywidth = std::max(ywidth, text_width(t));
  const double L = std::max(66.0, 28 + ywidth);
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream o;
  o << "<svg id=\"" << esc(id) << "\" class=\"chart\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">";
  o << "<title>" << esc(title) << "</title>";
  o << "<text x=\"" << L << "\" y=\"18\" class=\"t\">" << esc(title) << "</text>";
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << (W - L - R) << "\" height=\"" << (H - T - B)
    << "\" fill=\"none\" stroke=\"#bbb\"/>";
  for (size_t i = 0; i < yt.size(); ++i) {
    const double yv = yt[i];
    o << "<text x=\"" << (L - 6) << "\" y=\"" << py(yv) + 4 << "\" class=\"a yt\" text-anchor=\"end\">" << ytl[i]
      << "</text>";
    o << "<line x1=\"" << L << "\" x2=\"" << (W - R) << "\" y1=\"" << py(yv) << "\" y2=\"" << py(yv)
      << "\" stroke=\"#eee\"/>";
  }
  for (size_t i = 0; i < xt.size(); ++i)
    o << "<text x=\"" << px(xt[i]) << "\" y=\"" << (H - B + 16) << "\" class=\"a xt\" text-anchor=\"middle\">"
      << (log_x ? "1e" : "") << xtl[i] << "</text>";
  o << "<text x=\"" << (L + (W - L - R) / 2) << "\" y=\"" << (H - 6) << "\" class=\"a\" text-anchor=\"middle\">"
    << esc(xlabel) << (log_x ? " (log)" : "") << "</text>";
  o << "<text x=\"12\" y=\"" << (T + (H - T - B) / 2) << "\" class=\"a\" text-anchor=\"middle\" transform=\"rotate(-90 12 "
    << (T + (H - T - B) / 2) << ")\">" << esc(ylabel) << "</text>";
  for (size_t i = 0; i < s.size(); ++i) {
    const char* c = kColors[i % 8];
    size_t points = 0;
    for (size_t k = 0; k < s[i].x.size(); ++k) points += std::isfinite(s[i].x[k]) && std::isfinite(s[i].y[k]);
    if (s[i].dots || points == 1) {  // a line of one point would draw nothing
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
      << "\"/><text x=\"" << (W - R + 24) << "\" y=\"" << (T + 9 + 16 * i) << "\" class=\"a lg\">"
      << esc(s[i].name) << "</text>";
  }
  if (std::isfinite(opt.mark_x) && opt.mark_x >= x0 && opt.mark_x <= x1) {
    // The label stays inside the plot (never over the legend): left of the
    // line when it would not fit to its right.
    const double mx = px(opt.mark_x);
    const bool right = mx + 3 + text_width(opt.mark_label) <= W - R;
    o << "<line class=\"best\" x1=\"" << mx << "\" x2=\"" << mx << "\" y1=\"" << T << "\" y2=\"" << (H - B)
      << "\" stroke=\"#555\" stroke-dasharray=\"4 3\"/><text x=\"" << (right ? mx + 3 : mx - 3) << "\" y=\""
      << (T + 11) << "\" class=\"a mark\" text-anchor=\"" << (right ? "start" : "end") << "\">" << esc(opt.mark_label)
      << "</text>";
  }
  o << "</svg>";
  return o.str();
}

// Horizontal bars with mean ± std error bars.
std::string bars(const std::string& id, const std::string& title, const std::vector<std::string>& names,
                 const std::vector<double>& means, const std::vector<double>& stds) {
  double longest = 0;
  for (const auto& n : names) longest = std::max(longest, text_width(n));
  const double L = std::max(130.0, longest + 12), W = 430 + L, row = 26, R = 90, T = 30;
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
    o << "<text x=\"" << (L - 6) << "\" y=\"" << (y + 16) << "\" class=\"a name\" text-anchor=\"end\">" << esc(names[i])
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
  auto name = [&](size_t i) { return i < names.size() ? names[i] : std::to_string(i); };
  double longest = 0;
  for (size_t i = 0; i < k; ++i) longest = std::max(longest, text_width(name(i)));
  // Column names are written at 40 degrees, so that long names never run into each other.
  const double cell = 66, L = std::max(60.0, longest + 14), T = 34 + 0.65 * longest;
  const double W = L + cell * k + 20 + 0.77 * longest, H = T + cell * k + 20;
  double mx = 1;
  for (const auto& r : cm)
    for (const auto& v : r) mx = std::max(mx, v.get<double>());
  std::ostringstream o;
  o << "<svg id=\"" << esc(id) << "\" class=\"chart\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>" << esc(title) << "</title>";
  o << "<text x=\"4\" y=\"16\" class=\"t\">" << esc(title) << "</text>";
  for (size_t j = 0; j < k; ++j) {
    const double x = L + cell * j + cell / 2 - 4, y = T - 8;
    o << "<text x=\"" << x << "\" y=\"" << y << "\" class=\"a col\" transform=\"rotate(-40 " << x << " " << y << ")\">"
      << esc(name(j)) << "</text>";
  }
  for (size_t i = 0; i < k; ++i) {
    o << "<text x=\"" << (L - 6) << "\" y=\"" << (T + cell * i + cell / 2 + 4) << "\" class=\"a\" text-anchor=\"end\">"
      << esc(name(i)) << "</text>";
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

}  // namespace tf::report
