#include "data/h5io.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "core/error.h"
#include "core/fs.h"

namespace tf {

namespace {

// RAII for an hid_t with its matching close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

[[noreturn]] void bad(const std::string& file, const std::string& dset, const std::string& msg) {
  throw BadInput(file + ": dataset " + dset + ": " + msg, __FILE__, __LINE__);
}

struct Silence {  // HDF5 prints its own error stack by default; we report our own.
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
  Silence() {
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~Silence() { H5Eset_auto2(H5E_DEFAULT, func, data); }
};

bool has_link(hid_t file, const char* name) { return H5Lexists(file, name, H5P_DEFAULT) > 0; }

std::vector<hsize_t> shape_of(hid_t dset) {
  Handle space(H5Dget_space(dset), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

H5T_class_t class_of(hid_t dset) {
  Handle type(H5Dget_type(dset), H5Tclose);
  return H5Tget_class(type.get());
}

std::string shape_text(const std::vector<hsize_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::vector<std::string> read_string_attr(hid_t obj, const char* name, const std::string& file) {
  std::vector<std::string> out;
  if (H5Aexists(obj, name) <= 0) return out;
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_STRING) bad(file, std::string("attribute ") + name, "expected strings");
  hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> ptrs(static_cast<size_t>(count));
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0) bad(file, name, "cannot read attribute");
    for (auto* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    size_t sz = H5Tget_size(type.get());
    std::vector<char> buf(sz * static_cast<size_t>(count));
    if (H5Aread(attr.get(), type.get(), buf.data()) < 0) bad(file, name, "cannot read attribute");
    for (hssize_t i = 0; i < count; ++i) {
      std::string s(buf.data() + i * sz, sz);
      s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
      out.push_back(s);
    }
  }
  return out;
}

// Reads rows of a dataset whose first dimension is N into `out` (row_elems
// elements per row), one hyperslab per run of consecutive rows.
template <typename T>
void read_rows(hid_t dset, hid_t mem_type, const std::vector<int64_t>& rows, int64_t row_elems,
               std::vector<T>& out, const std::string& file, const std::string& name) {
  std::vector<hsize_t> dims = shape_of(dset);
  out.resize(rows.size() * static_cast<size_t>(row_elems));
  Handle fspace(H5Dget_space(dset), H5Sclose);
  size_t k = 0;
  while (k < rows.size()) {
    size_t run = 1;
    while (k + run < rows.size() && rows[k + run] == rows[k] + static_cast<int64_t>(run)) ++run;
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = static_cast<hsize_t>(rows[k]);
    count[0] = run;
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    // The memory space has the selection's own shape: HDF5 copies same-shaped
    // selections block-wise, a rank-changing one element by element (10x slower).
    Handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
    if (H5Dread(dset, mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, out.data() + k * row_elems) < 0)
      bad(file, name, "read failed (rows " + std::to_string(rows[k]) + ".." + std::to_string(rows[k] + run - 1) + ")");
    k += run;
  }
}

// /groups and /time of `rows`, when the file has them.
void read_optional(hid_t f, const H5Info& info, const std::vector<int64_t>& rows, Dataset& d, const std::string& file) {
  if (info.has_groups) {
    Handle g(H5Dopen2(f, "groups", H5P_DEFAULT), H5Dclose);
    read_rows(g.get(), H5T_NATIVE_INT64, rows, 1, d.groups, file, "/groups");
  }
  if (info.has_time) {
    Handle t(H5Dopen2(f, "time", H5P_DEFAULT), H5Dclose);
    read_rows(t.get(), H5T_NATIVE_DOUBLE, rows, 1, d.time, file, "/time");
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
}

}  // namespace

H5Info inspect_h5(const std::filesystem::path& path) {
  const std::string file = path.string();
  if (!std::filesystem::exists(path))
    throw BadInput("data file " + file + " does not exist (set data.path, or --data; `trainfleet make-data --out " +
                       file + "` writes the synthetic data set there)",
                   __FILE__, __LINE__);
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
  std::vector<int64_t> rows(static_cast<size_t>(info.n));
  for (int64_t i = 0; i < info.n; ++i) rows[i] = i;
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
  std::vector<int64_t> rows = rows_in;
  if (rows.empty()) {
    rows.resize(static_cast<size_t>(info.n));
    for (int64_t i = 0; i < info.n; ++i) rows[i] = i;
  }
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
  for (size_t i = 0; i < d.x.size(); ++i) {
    if (!std::isfinite(d.x[i])) {
      size_t r = i / static_cast<size_t>(d.row_size());
      bad(file, "/X", std::string(std::isnan(d.x[i]) ? "NaN" : "Inf") + " value at row " + std::to_string(rows[r]) +
                          ", step " + std::to_string((i % d.row_size()) / d.c) + ", channel " +
                          std::to_string(i % d.c));
    }
  }
  d.class_names = info.class_names;
  check_labels(d, rows, file, rows_in.empty());
  return d;
}

namespace {

// Creates a new HDF5 file atomically; `fill(file, write)` adds datasets with
// write(name, file_type, mem_type, dims, data), then class_names is attached.
using WriteFn = std::function<void(const char*, hid_t, hid_t, std::vector<hsize_t>, const void*)>;

void write_file(const std::filesystem::path& path, bool overwrite, const std::vector<std::string>& class_names,
                const std::function<void(const WriteFn&)>& fill) {
  if (!overwrite && std::filesystem::exists(path))
    throw BadInput("output file " + path.string() + " exists already; refusing to overwrite it", __FILE__, __LINE__);
  if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path());
  atomic_write_with(path, [&](const std::filesystem::path& tmp) {
    Handle f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    TF_CHECK(f.ok(), "cannot create " + tmp.string());
    WriteFn write = [&](const char* name, hid_t file_type, hid_t mem_type, std::vector<hsize_t> dims, const void* data) {
      Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
      Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
      if (dims.size() == 3 && dims[0] > 0) {  // chunk by row blocks so reads of a few rows stay cheap
        std::vector<hsize_t> chunk = {std::min<hsize_t>(dims[0], 16), dims[1], dims[2]};
        H5Pset_chunk(plist.get(), 3, chunk.data());
      }
      Handle ds(H5Dcreate2(f.get(), name, file_type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), H5Dclose);
      TF_CHECK(ds.ok() && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
               std::string("cannot write dataset ") + name + " to " + tmp.string());
    };
    fill(write);
    if (!class_names.empty()) {
      Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(type.get(), H5T_VARIABLE);
      H5Tset_cset(type.get(), H5T_CSET_UTF8);
      hsize_t k = class_names.size();
      Handle space(H5Screate_simple(1, &k, nullptr), H5Sclose);
      Handle attr(H5Acreate2(f.get(), "class_names", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
      std::vector<const char*> ptrs;
      for (const auto& s : class_names) ptrs.push_back(s.c_str());
      TF_CHECK(H5Awrite(attr.get(), type.get(), ptrs.data()) >= 0, "cannot write class_names to " + tmp.string());
    }
  });
}

}  // namespace

void write_h5(const std::filesystem::path& path, const Dataset& d, bool overwrite) {
  write_file(path, overwrite, d.class_names, [&](const WriteFn& write) {
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
  write_file(path, false, class_names, [&](const WriteFn& write) {
    write("pred", H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, pred.data());
    write("proba", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, k}, proba.data());
  });
}

}  // namespace tf
