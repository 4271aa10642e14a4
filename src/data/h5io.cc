#include "data/h5io.h"

#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <functional>
#include <set>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/fs.h"
#include "core/resources.h"
#include "data/h5_util.h"

namespace tf {

namespace {

using namespace h5detail;

// /groups and /time of `rows`, when the file has them.
void read_optional(hid_t f, const H5Info& info, const std::vector<int64_t>& rows, Dataset& d, const std::string& file) {
  if (info.has_groups) {
    Handle g(H5Dopen2(f, "groups", H5P_DEFAULT), H5Dclose);
    read_rows(g.get(), H5T_NATIVE_INT64, rows, 1, d.groups, file, "/groups");
  }
  if (info.has_time) {
    Handle t(H5Dopen2(f, "time", H5P_DEFAULT), H5Dclose);
    read_rows(t.get(), H5T_NATIVE_DOUBLE, rows, 1, d.time, file, "/time");
    for (size_t i = 0; i < d.time.size(); ++i)
      if (!std::isfinite(d.time[i]))
        bad(file, "/time", std::string(std::isnan(d.time[i]) ? "NaN" : "Inf") + " time stamp at row " +
                               std::to_string(rows[i]) + " (time-series splits order rows by /time)");
  }
}

// Label range checks; sets num_classes (from class_names, else max label + 1).
void check_labels(Dataset& d, const std::vector<int64_t>& rows, const std::string& file, bool all_rows) {
  int64_t max_label = -1;
  for (size_t i = 0; i < d.y.size(); ++i) {
    if (d.y[i] < 0) bad(file, "/y", "negative label " + std::to_string(d.y[i]) + " at row " + std::to_string(rows[i]));
    max_label = std::max(max_label, d.y[i]);
  }
  if (!d.class_names.empty()) {
    d.num_classes = static_cast<int64_t>(d.class_names.size());
    if (max_label >= d.num_classes)
      bad(file, "/y", "label " + std::to_string(max_label) + " is out of range: attribute class_names names " +
                          std::to_string(d.num_classes) + " classes (labels must be 0.." +
                          std::to_string(d.num_classes - 1) + ")");
  } else {
    d.num_classes = max_label + 1;
  }
  if (d.num_classes < 2 && all_rows) bad(file, "/y", "has a single class; classification needs at least 2");
  if (all_rows && !d.class_names.empty()) {
    std::vector<int64_t> counts = d.class_counts();
    for (int64_t k = 0; k < d.num_classes; ++k)
      if (counts[static_cast<size_t>(k)] == 0)
        spdlog::warn("{}: class {} \"{}\" (attribute class_names) has no rows in /y; it can never be learned", file, k,
                     d.class_names[static_cast<size_t>(k)]);
  }
}

// Class names become CSV columns and report labels: each must be unique and non-empty.
void check_class_names(const std::vector<std::string>& names, const std::string& file) {
  std::set<std::string> seen;
  for (size_t k = 0; k < names.size(); ++k) {
    if (names[k].empty()) bad(file, "attribute class_names", "class " + std::to_string(k) + " has an empty name");
    if (!seen.insert(names[k]).second) {
      size_t first = static_cast<size_t>(std::find(names.begin(), names.end(), names[k]) - names.begin());
      bad(file, "attribute class_names",
          "duplicate class name \"" + names[k] + "\" (classes " + std::to_string(first) + " and " +
              std::to_string(k) + ")");
    }
  }
}

// Rows of every index (0..n-1), after checking that they fit in memory.
std::vector<int64_t> all_rows_of(const H5Info& info, uint64_t bytes_per_row, const std::string& file,
                                 const std::string& what) {
  check_memory(checked_product({static_cast<uint64_t>(info.n), bytes_per_row}),
               "reading " + what + " of " + file + " (" + std::to_string(info.n) + " rows)");
  std::vector<int64_t> rows(static_cast<size_t>(info.n));
  for (int64_t i = 0; i < info.n; ++i) rows[static_cast<size_t>(i)] = i;
  return rows;
}

}  // namespace

H5Info inspect_h5(const std::filesystem::path& path) {
  const std::string file = path.string();
  if (!std::filesystem::exists(path))
    throw BadInput("data file " + file + " does not exist (set data.path, or --data; `trainfleet make-data --out " +
                       file + "` writes the synthetic data set there)",
                   __FILE__, __LINE__);
  check_regular_file(path, "data file");
  Silence quiet;
  if (H5Fis_hdf5(file.c_str()) <= 0) throw BadInput("data file " + file + " is not an HDF5 file", __FILE__, __LINE__);
  Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.ok()) throw BadInput("cannot open HDF5 file " + file, __FILE__, __LINE__);
  H5Info info;
  for (const char* name : {"X", "y"})
    if (!has_link(f.get(), name)) bad(file, std::string("/") + name, "missing (expected /X [N,T,C] and /y [N])");
  Handle x(H5Dopen2(f.get(), "X", H5P_DEFAULT), H5Dclose);
  Handle y(H5Dopen2(f.get(), "y", H5P_DEFAULT), H5Dclose);
  if (!x.ok()) bad(file, "/X", "is not a dataset");
  if (!y.ok()) bad(file, "/y", "is not a dataset");
  auto xs = shape_of(x.get());
  auto ys = shape_of(y.get());
  if (xs.size() != 3) bad(file, "/X", "has shape " + shape_text(xs) + "; expected 3 dimensions [N, T, C]");
  if (class_of(x.get()) != H5T_FLOAT) bad(file, "/X", "has a non-float type; expected float32 (or float64)");
  if (ys.size() != 1) bad(file, "/y", "has shape " + shape_text(ys) + "; expected [N]");
  if (class_of(y.get()) != H5T_INTEGER) bad(file, "/y", "has a non-integer type; expected integer class ids");
  if (ys[0] != xs[0]) bad(file, "/y", "has " + std::to_string(ys[0]) + " rows but /X has " + std::to_string(xs[0]));
  if (xs[0] == 0 || xs[1] == 0 || xs[2] == 0) bad(file, "/X", "is empty: shape " + shape_text(xs));
  info.n = static_cast<int64_t>(xs[0]);
  info.t = static_cast<int64_t>(xs[1]);
  info.c = static_cast<int64_t>(xs[2]);
  for (const char* name : {"groups", "time"}) {
    if (!has_link(f.get(), name)) continue;
    Handle d(H5Dopen2(f.get(), name, H5P_DEFAULT), H5Dclose);
    auto s = shape_of(d.get());
    if (s.size() != 1 || s[0] != xs[0])
      bad(file, std::string("/") + name, "has shape " + shape_text(s) + "; expected [" + std::to_string(xs[0]) + "]");
    H5T_class_t cls = class_of(d.get());
    if (std::string(name) == "groups" && cls != H5T_INTEGER) bad(file, "/groups", "expected integer group ids");
    if (std::string(name) == "time" && cls != H5T_INTEGER && cls != H5T_FLOAT) bad(file, "/time", "expected numbers");
    (std::string(name) == "groups" ? info.has_groups : info.has_time) = true;
  }
  info.class_names = read_string_attr(f.get(), "class_names", file);
  if (info.class_names.empty()) info.class_names = read_string_attr(y.get(), "class_names", file);
  check_class_names(info.class_names, file);
  return info;
}

Dataset read_labels(const std::filesystem::path& path) {
  const std::string file = path.string();
  H5Info info = inspect_h5(path);
  Silence quiet;
  Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  Dataset d;
  d.source = file;
  d.n = info.n;
  d.t = info.t;
  d.c = info.c;
  // Per row: its index, label, group and time stamp.
  std::vector<int64_t> rows = all_rows_of(info, 4 * sizeof(int64_t), file, "/y");
  Handle y(H5Dopen2(f.get(), "y", H5P_DEFAULT), H5Dclose);
  read_rows(y.get(), H5T_NATIVE_INT64, rows, 1, d.y, file, "/y");
  read_optional(f.get(), info, rows, d, file);
  d.class_names = info.class_names;
  check_labels(d, rows, file, true);
  return d;
}

Dataset read_h5(const std::filesystem::path& path, const std::vector<int64_t>& rows_in) {
  const std::string file = path.string();
  H5Info info = inspect_h5(path);
  const uint64_t row_bytes = checked_product({static_cast<uint64_t>(info.t), static_cast<uint64_t>(info.c), sizeof(float)});
  std::vector<int64_t> rows = rows_in.empty() ? all_rows_of(info, row_bytes, file, "/X") : rows_in;
  check_memory(checked_product({rows.size(), row_bytes}),
               "reading /X of " + file + " (" + std::to_string(rows.size()) + " rows x " + std::to_string(info.t) +
                   " steps x " + std::to_string(info.c) + " channels, float32)");
  for (size_t i = 0; i < rows.size(); ++i) {
    TF_CHECK(rows[i] >= 0 && rows[i] < info.n, "row index out of range for " + file);
    TF_CHECK(i == 0 || rows[i] > rows[i - 1], "rows must be sorted and unique");
  }
  Silence quiet;
  Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  Dataset d;
  d.source = file;
  d.n = static_cast<int64_t>(rows.size());
  d.t = info.t;
  d.c = info.c;
  {
    Handle x(H5Dopen2(f.get(), "X", H5P_DEFAULT), H5Dclose);
    read_rows(x.get(), H5T_NATIVE_FLOAT, rows, d.t * d.c, d.x, file, "/X");
  }
  {
    Handle y(H5Dopen2(f.get(), "y", H5P_DEFAULT), H5Dclose);
    read_rows(y.get(), H5T_NATIVE_INT64, rows, 1, d.y, file, "/y");
  }
  read_optional(f.get(), info, rows, d, file);
  check_finite(d, rows, file);
  d.class_names = info.class_names;
  check_labels(d, rows, file, rows_in.empty());
  return d;
}

namespace {

// Creates a new HDF5 file atomically; `fill(file, write)` adds datasets with
// write(name, file_type, mem_type, dims, data), then class_names is attached.
using WriteFn = std::function<void(const char*, hid_t, hid_t, std::vector<hsize_t>, const void*)>;

// `bytes` (the data's size) is checked against the free disk first.
void write_file(const std::filesystem::path& path, bool overwrite, const std::vector<std::string>& class_names,
                uint64_t bytes, const std::function<void(const WriteFn&)>& fill) {
  if (!overwrite && std::filesystem::exists(path))
    throw BadInput("output file " + path.string() + " exists already; refusing to overwrite it", __FILE__, __LINE__);
  if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path());
  check_disk(bytes, path.parent_path(), "writing " + path.string());
  atomic_write_with(path, [&](const std::filesystem::path& tmp) {
    Silence quiet;
    // A failed HDF5 call leaves the errno of the failed system call (ENOSPC, EIO).
    auto failed = [&] { return IoError(path.string(), errno ? errno : EIO, __FILE__, __LINE__); };
    errno = 0;
    Handle f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!f.ok()) throw failed();
    WriteFn write = [&](const char* name, hid_t file_type, hid_t mem_type, std::vector<hsize_t> dims, const void* data) {
      errno = 0;
      Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
      Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
      if (dims.size() == 3 && dims[0] > 0) {  // chunk by row blocks so reads of a few rows stay cheap
        std::vector<hsize_t> chunk = {std::min<hsize_t>(dims[0], 16), dims[1], dims[2]};
        H5Pset_chunk(plist.get(), 3, chunk.data());
      }
      Handle ds(H5Dcreate2(f.get(), name, file_type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), H5Dclose);
      if (!ds.ok() || H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) throw failed();
    };
    fill(write);
    write_class_names(f.get(), class_names, tmp.string());
    errno = 0;
    if (H5Fflush(f.get(), H5F_SCOPE_LOCAL) < 0) throw failed();  // the cached data reaches the file here
  });
}

}  // namespace

void write_h5(const std::filesystem::path& path, const Dataset& d, bool overwrite) {
  const uint64_t bytes = d.x.size() * sizeof(float) + (d.y.size() + d.groups.size() + d.time.size()) * 8;
  write_file(path, overwrite, d.class_names, bytes, [&](const WriteFn& write) {
    hsize_t n = static_cast<hsize_t>(d.n);
    write("X", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, (hsize_t)d.t, (hsize_t)d.c}, d.x.data());
    write("y", H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, d.y.data());
    if (!d.groups.empty()) write("groups", H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, d.groups.data());
    if (!d.time.empty()) write("time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {n}, d.time.data());
  });
}

void write_predictions_h5(const std::filesystem::path& path, const std::vector<int64_t>& pred,
                          const std::vector<float>& proba, const std::vector<std::string>& class_names) {
  hsize_t n = pred.size(), k = class_names.size();
  TF_CHECK(proba.size() == n * k, "prediction sizes differ");
  write_file(path, false, class_names, n * 8 + proba.size() * sizeof(float), [&](const WriteFn& write) {
    write("pred", H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, pred.data());
    write("proba", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, k}, proba.data());
  });
}

}  // namespace tf
