// libFuzzer target: the HDF5 reader's checks (inspect_h5, read_labels, read_h5).
//
// The input describes a file rather than being one: shapes, element types,
// optional /groups and /time, the class_names attribute and the values come
// from the fuzzer's bytes, and the file is written with the HDF5 library, as
// any tool could write it. Declared shapes are either small (values stored)
// or far beyond any memory (declared only, nothing stored). This fuzzes what
// trainfleet decides about a file, not libhdf5's own decoder. BadInput is the
// only acceptable failure.
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/h5io.h"

namespace {

struct Set {
  std::string name;
  hid_t type;
  std::vector<hsize_t> dims;
};

hid_t pick_type(FuzzedDataProvider& in) {
  const hid_t types[] = {H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE, H5T_NATIVE_INT64, H5T_NATIVE_INT32, H5T_NATIVE_UINT8};
  return types[in.ConsumeIntegralInRange<size_t>(0, 4)];
}

// Small: up to 12 per dimension. Huge: at least 2^36 rows (256 GiB of float32
// windows, 2 TiB of labels with their bookkeeping), more than any test machine holds.
std::vector<hsize_t> pick_dims(FuzzedDataProvider& in, bool huge, int rank) {
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  for (size_t i = 0; i < d.size(); ++i)
    d[i] = !huge ? in.ConsumeIntegralInRange<hsize_t>(0, 12)
           : i == 0 ? in.ConsumeIntegralInRange<hsize_t>(hsize_t(1) << 36, hsize_t(1) << 40)
                    : in.ConsumeIntegralInRange<hsize_t>(1, 1024);
  return d;
}

void write_set(hid_t f, const Set& s, bool huge, FuzzedDataProvider& in) {
  hid_t space = H5Screate_simple(static_cast<int>(s.dims.size()), s.dims.data(), nullptr);
  hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
  if (huge && !s.dims.empty()) {
    std::vector<hsize_t> chunk = s.dims;  // one row per chunk (a 1-D set: 1024 values)
    chunk[0] = s.dims.size() == 1 ? 1024 : 1;
    H5Pset_chunk(plist, static_cast<int>(chunk.size()), chunk.data());
  }
  hid_t d = H5Dcreate2(f, s.name.c_str(), s.type, space, H5P_DEFAULT, plist, H5P_DEFAULT);
  if (d >= 0 && !huge) {
    hssize_t n = H5Sget_simple_extent_npoints(space);
    std::vector<uint8_t> bytes(static_cast<size_t>(n) * H5Tget_size(s.type));
    for (auto& b : bytes) b = in.ConsumeIntegral<uint8_t>();
    H5Dwrite(d, s.type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
  }
  if (d >= 0) H5Dclose(d);
  H5Pclose(plist);
  H5Sclose(space);
}

void write_names(hid_t obj, FuzzedDataProvider& in) {
  size_t k = in.ConsumeIntegralInRange<size_t>(0, 6);
  std::vector<std::string> names;
  for (size_t i = 0; i < k; ++i) names.push_back(in.ConsumeRandomLengthString(12));
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  hsize_t n = names.size();
  hid_t s = H5Screate_simple(1, &n, nullptr);
  hid_t a = H5Acreate2(obj, "class_names", t, s, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<const char*> ptrs;
  for (const auto& c : names) ptrs.push_back(c.c_str());
  if (a >= 0) {
    H5Awrite(a, t, ptrs.data());
    H5Aclose(a);
  }
  H5Sclose(s);
  H5Tclose(t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // In memory (/dev/shm) when there is one: the file is written and read on every input.
  static const std::string path = std::string(std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp") +
                                  "/trainfleet-fuzz-" + std::to_string(::getpid()) + ".h5";
  FuzzedDataProvider in(data, size);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) return 0;
  const bool huge = in.ConsumeBool();
  const bool same_n = in.ConsumeBool();
  Set x{"X", pick_type(in), pick_dims(in, huge, in.ConsumeIntegralInRange<int>(0, 4))};
  Set y{"y", pick_type(in), pick_dims(in, huge, in.ConsumeIntegralInRange<int>(0, 2))};
  if (same_n && !x.dims.empty() && !y.dims.empty()) y.dims[0] = x.dims[0];
  write_set(f, x, huge, in);
  write_set(f, y, huge, in);
  for (const char* extra : {"groups", "time"}) {
    if (!in.ConsumeBool()) continue;
    Set e{extra, pick_type(in), y.dims};
    write_set(f, e, huge, in);
  }
  if (in.ConsumeBool()) write_names(f, in);
  H5Fclose(f);
  try {
    tf::inspect_h5(path);
    tf::read_labels(path);
    tf::read_h5(path);
  } catch (const tf::BadInput&) {
  }
  std::filesystem::remove(path);  // nothing left behind in /dev/shm
  return 0;
}
