// Where a trainer's rows come from. A data-parallel rank asks only for the
// rows it needs (its slice of every global batch of an epoch), so with
// H5Rows it reads just those rows from the file, by hyperslab: once per epoch
// when they fit in the rank's cache budget, else batch by batch (streamed).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "data/normalizer.h"

namespace tf {

class H5RowReader;

// Rows of one HDF5 file that a split names: the file, its row numbers
// (sorted), their labels and the window shape. No windows are held.
struct RowList {
  std::filesystem::path file;
  std::vector<int64_t> rows, labels;
  int64_t steps = 0, channels = 0, num_classes = 0;
  int64_t size() const { return static_cast<int64_t>(rows.size()); }
  int64_t bytes() const { return size() * steps * channels * static_cast<int64_t>(sizeof(float)); }
};

// `rows` (sorted) of the file whose labels are `all` (read_labels' result).
RowList row_list(const std::filesystem::path& file, const Dataset& all, std::vector<int64_t> rows);
// Every row of `file` (reads its labels only).
RowList whole_file(const std::filesystem::path& file);

class RowSource {
 public:
  virtual ~RowSource() = default;
  // Number of rows, their labels (cheap: no windows are read), and the window shape.
  virtual int64_t size() const = 0;
  virtual const std::vector<int64_t>& labels() const = 0;
  virtual int64_t steps() const = 0;
  virtual int64_t channels() const = 0;
  // The rows at `positions` (0..size()-1, sorted, unique), normalised, in that order.
  virtual Dataset load(const std::vector<int64_t>& positions) const = 0;
  // All rows when they are in memory already (no copy needed), else nullptr.
  virtual const Dataset* in_memory() const { return nullptr; }
  // Whether rows are to be read a batch at a time (a rank's rows exceed its
  // cache budget) rather than a whole epoch's share at once.
  virtual bool streamed() const { return false; }
};

// Rows already in memory (normalised already).
class MemoryRows final : public RowSource {
 public:
  explicit MemoryRows(const Dataset& d) : d_(d) {}
  int64_t size() const override { return d_.n; }
  const std::vector<int64_t>& labels() const override { return d_.y; }
  int64_t steps() const override { return d_.t; }
  int64_t channels() const override { return d_.c; }
  Dataset load(const std::vector<int64_t>& positions) const override { return d_.subset(positions); }
  const Dataset* in_memory() const override { return &d_; }

 private:
  const Dataset& d_;
};

// Rows `rows` of an HDF5 file, normalised with `norm` as they are read; the
// file stays open between reads. `stream`: read batch by batch.
class H5Rows final : public RowSource {
 public:
  H5Rows(std::filesystem::path path, std::vector<int64_t> rows, std::vector<int64_t> labels, int64_t steps,
         int64_t channels, Normalizer norm, bool stream = false);
  H5Rows(const RowList& list, Normalizer norm, bool stream);
  ~H5Rows() override;
  int64_t size() const override { return static_cast<int64_t>(rows_.size()); }
  const std::vector<int64_t>& labels() const override { return labels_; }
  int64_t steps() const override { return t_; }
  int64_t channels() const override { return c_; }
  Dataset load(const std::vector<int64_t>& positions) const override;
  bool streamed() const override { return stream_; }
  // Rows read from the file so far (over all load() calls).
  int64_t rows_read() const { return rows_read_; }

 private:
  mutable std::atomic<int64_t> rows_read_{0};
  mutable std::unique_ptr<H5RowReader> reader_;  // opened on first use
  std::filesystem::path path_;
  std::vector<int64_t> rows_, labels_;
  int64_t t_, c_;
  Normalizer norm_;
  bool stream_;
};

}  // namespace tf
