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
#include <functional>
#include <memory>
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

// An open data file for many small reads (training batches, evaluation
// chunks): the file, /X and /y stay open between reads. Contiguous and chunked
// (also compressed) /X read alike. One reader per thread; the HDF5 library
// serialises its calls (Debian builds it thread-safe).
class H5RowReader {
 public:
  explicit H5RowReader(const std::filesystem::path& path);  // inspect_h5's checks
  ~H5RowReader();
  H5RowReader(const H5RowReader&) = delete;
  H5RowReader& operator=(const H5RowReader&) = delete;
  const H5Info& info() const;
  // /X and /y of `rows` (sorted, unique), /X checked for NaN/Inf. Labels are
  // not range-checked here (read_labels did that for the whole file).
  Dataset read(const std::vector<int64_t>& rows) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// How /X is stored: contiguous (chunk_rows 0), or in chunks of chunk_rows
// windows, gzip-compressed at level `gzip` (1-9; 0 = none; needs chunks).
struct H5Layout {
  int64_t chunk_rows = 0;
  int gzip = 0;
};

// Writes a data set of `n` windows [t, c] block by block, so that the whole
// set is never in memory: `next(block)` fills the next rows (x, y, and groups
// and time when `with_meta`); it is called until n rows are written. Atomic
// like write_h5; refuses to replace an existing file unless `overwrite`.
void write_h5_blocks(const std::filesystem::path& path, int64_t n, int64_t t, int64_t c,
                     const std::vector<std::string>& class_names, bool with_meta, const H5Layout& layout,
                     const std::function<void(Dataset& block)>& next, bool overwrite = false);

}  // namespace tf
