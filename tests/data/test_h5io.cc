#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "data/h5io.h"
#include "test_util.h"

namespace tf {

TEST(H5io, ReadsAFileWrittenByH5py) {
  auto ref = nlohmann::json::parse(std::ifstream(test::reference_dir() / "h5py_small.json"));
  Dataset d = read_h5(test::reference_dir() / "h5py_small.h5");
  EXPECT_EQ(d.n, 6);
  EXPECT_EQ(d.t, 16);
  EXPECT_EQ(d.c, 3);
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.class_names, ref["class_names"].get<std::vector<std::string>>());
  auto x = ref["X"].get<std::vector<float>>();
  ASSERT_EQ(d.x.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(d.x[i], x[i]);
  EXPECT_EQ(d.y, ref["y"].get<std::vector<int64_t>>());
  EXPECT_EQ(d.groups, ref["groups"].get<std::vector<int64_t>>());
  auto t = ref["time"].get<std::vector<double>>();
  for (size_t i = 0; i < t.size(); ++i) EXPECT_DOUBLE_EQ(d.time[i], t[i]);
}

TEST(H5io, ReadsSelectedRowsByHyperslab) {
  Dataset all = read_h5(test::reference_dir() / "h5py_small.h5");
  Dataset some = read_h5(test::reference_dir() / "h5py_small.h5", {1, 2, 5});
  ASSERT_EQ(some.n, 3);
  std::vector<int64_t> rows = {1, 2, 5};
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(some.y[k], all.y[rows[k]]);
    for (int64_t j = 0; j < all.row_size(); ++j) EXPECT_EQ(some.row(k)[j], all.row(rows[k])[j]);
  }
}

TEST(H5io, WriteReadRoundTrip) {
  test::TempDir dir;
  Dataset d;
  d.n = 4;
  d.t = 5;
  d.c = 2;
  d.num_classes = 2;
  for (int i = 0; i < 40; ++i) d.x.push_back(0.5f * i);
  d.y = {0, 1, 1, 0};
  d.groups = {1, 1, 2, 2};
  d.time = {0.1, 0.2, 0.3, 0.4};
  d.class_names = {"a", "b"};
  write_h5(dir / "d.h5", d);
  Dataset r = read_h5(dir / "d.h5");
  EXPECT_EQ(r.x, d.x);
  EXPECT_EQ(r.y, d.y);
  EXPECT_EQ(r.groups, d.groups);
  EXPECT_EQ(r.time, d.time);
  EXPECT_EQ(r.class_names, d.class_names);
  EXPECT_THROW(write_h5(dir / "d.h5", d), BadInput);  // never clobbers
}

// Bad files, written with the HDF5 library itself; each error names file and dataset.
namespace {
std::string error_of(const std::filesystem::path& p) {
  try {
    read_h5(p);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(H5io, BadFilesGiveClearErrors) {
  test::TempDir dir;
  std::vector<float> x(2 * 4 * 3, 1.0f);
  std::vector<int64_t> y = {0, 1};
  auto f = dir / "nan.h5";
  std::vector<float> xn = x;
  xn[5] = std::nanf("");
  test::write_raw_h5(f, {{"X", H5T_NATIVE_FLOAT, {2, 4, 3}, xn.data()}, {"y", H5T_NATIVE_INT64, {2}, y.data()}});
  std::string e = error_of(f);
  EXPECT_NE(e.find(f.string()), std::string::npos) << e;
  EXPECT_NE(e.find("/X"), std::string::npos) << e;
  EXPECT_NE(e.find("NaN"), std::string::npos) << e;

  f = dir / "rank2.h5";
  test::write_raw_h5(f, {{"X", H5T_NATIVE_FLOAT, {2, 12}, x.data()}, {"y", H5T_NATIVE_INT64, {2}, y.data()}});
  e = error_of(f);
  EXPECT_NE(e.find("/X"), std::string::npos) << e;
  EXPECT_NE(e.find("3 dimensions"), std::string::npos) << e;

  f = dir / "short_y.h5";
  test::write_raw_h5(f, {{"X", H5T_NATIVE_FLOAT, {2, 4, 3}, x.data()}, {"y", H5T_NATIVE_INT64, {1}, y.data()}});
  e = error_of(f);
  EXPECT_NE(e.find("/y"), std::string::npos) << e;

  f = dir / "neg.h5";
  std::vector<int64_t> yneg = {0, -1};
  test::write_raw_h5(f, {{"X", H5T_NATIVE_FLOAT, {2, 4, 3}, x.data()}, {"y", H5T_NATIVE_INT64, {2}, yneg.data()}});
  e = error_of(f);
  EXPECT_NE(e.find("negative label"), std::string::npos) << e;

  f = dir / "nox.h5";
  test::write_raw_h5(f, {{"y", H5T_NATIVE_INT64, {2}, y.data()}});
  e = error_of(f);
  EXPECT_NE(e.find("/X"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;

  f = dir / "text.h5";
  test::write_text(f, "not hdf5");
  e = error_of(f);
  EXPECT_NE(e.find("not an HDF5 file"), std::string::npos) << e;

  e = error_of(dir / "absent.h5");
  EXPECT_NE(e.find("does not exist"), std::string::npos) << e;
}

}  // namespace tf
