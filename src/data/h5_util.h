// Internal helpers of the HDF5 reader and writers (data/h5io.cc,
// data/h5_reader.cc): RAII handles, error silencing, shapes, row reads.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/dataset.h"

namespace tf::h5detail {

// RAII for an hid_t with its matching close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  hid_t get() const { return id_; }
  hid_t release() {  // gives up ownership
    hid_t id = id_;
    id_ = -1;
    return id;
  }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

[[noreturn]] inline void bad(const std::string& file, const std::string& dset, const std::string& msg) {
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

inline bool has_link(hid_t file, const char* name) { return H5Lexists(file, name, H5P_DEFAULT) > 0; }

inline std::vector<hsize_t> shape_of(hid_t dset) {
  Handle space(H5Dget_space(dset), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

inline H5T_class_t class_of(hid_t dset) {
  Handle type(H5Dget_type(dset), H5Tclose);
  return H5Tget_class(type.get());
}

inline std::string shape_text(const std::vector<hsize_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

inline std::vector<std::string> read_string_attr(hid_t obj, const char* name, const std::string& file) {
  std::vector<std::string> out;
  if (H5Aexists(obj, name) <= 0) return out;
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_STRING) bad(file, std::string("attribute ") + name, "expected strings");
  hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0 || count > 100000)
    bad(file, std::string("attribute ") + name, "declares " + std::to_string(count) + " strings; expected one per class");
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

// BadInput naming the first NaN/Inf value of `d` by file row, step and channel
// (`rows[i]` is the file row of d's row i).
inline void check_finite(const Dataset& d, const std::vector<int64_t>& rows, const std::string& file) {
  for (size_t i = 0; i < d.x.size(); ++i) {
    if (!std::isfinite(d.x[i])) {
      size_t r = i / static_cast<size_t>(d.row_size());
      bad(file, "/X", std::string(std::isnan(d.x[i]) ? "NaN" : "Inf") + " value at row " + std::to_string(rows[r]) +
                          ", step " + std::to_string((i % d.row_size()) / d.c) + ", channel " +
                          std::to_string(i % d.c));
    }
  }
}

// Attribute class_names (UTF-8 strings) on the root of the open file `f`.
inline void write_class_names(hid_t f, const std::vector<std::string>& class_names, const std::string& file) {
  if (class_names.empty()) return;
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  hsize_t k = class_names.size();
  Handle space(H5Screate_simple(1, &k, nullptr), H5Sclose);
  Handle attr(H5Acreate2(f, "class_names", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  std::vector<const char*> ptrs;
  for (const auto& s : class_names) ptrs.push_back(s.c_str());
  TF_CHECK(H5Awrite(attr.get(), type.get(), ptrs.data()) >= 0, "cannot write class_names to " + file);
}

}  // namespace tf::h5detail
