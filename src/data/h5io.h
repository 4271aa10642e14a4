// HDF5 reading and writing of data sets in the layout h5py users write:
//   /X       float [N, T, C]      (float32 or float64 on disk; read as float32)
//   /y       integer [N]          labels 0..K-1
//   /groups  integer [N]          optional (e.g. site ids, for group k-fold)
//   /time    numeric [N]          optional (for time-series splits)
//   attribute class_names on the file root (or on /y): strings, optional.
// Rows are read by hyperslab, so a rank can read only its own rows.
// Every problem is a BadInput naming the file and the dataset.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace tf {

struct H5Info {
  int64_t n = 0, t = 0, c = 0;
  bool has_groups = false, has_time = false;
  std::vector<std::string> class_names;
};

// Shapes and metadata, with all shape/dtype checks, without reading X.
H5Info inspect_h5(const std::filesystem::path& path);

// Reads the given rows (all rows when `rows` is empty), validates labels and
// values (NaN/Inf, label range). `rows` must be sorted ascending.
Dataset read_h5(const std::filesystem::path& path, const std::vector<int64_t>& rows = {});

// Only the labels (/y, with /groups and /time when present), the class count
// and names: no windows are read.
Dataset read_labels(const std::filesystem::path& path);

// Writes `d` to `path` atomically (temp file + rename). Refuses to replace an
// existing file unless `overwrite`.
void write_h5(const std::filesystem::path& path, const Dataset& d, bool overwrite = false);

// Writes predictions: /pred int64 [N], /proba float32 [N, K], attribute
// class_names; atomically, refusing to replace an existing file.
void write_predictions_h5(const std::filesystem::path& path, const std::vector<int64_t>& pred,
                          const std::vector<float>& proba, const std::vector<std::string>& class_names);

}  // namespace tf
