// Where a trainer's rows come from. A data-parallel rank asks only for the
// rows it needs (its slice of every global batch of an epoch), so with
// H5Rows it reads just those rows from the file, by hyperslab, each epoch.
#pragma once

#include <filesystem>
#include <vector>

#include "data/dataset.h"
#include "data/normalizer.h"

namespace tf {

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

// Rows `rows` of an HDF5 file, normalised with `norm` as they are read.
class H5Rows final : public RowSource {
 public:
  H5Rows(std::filesystem::path path, std::vector<int64_t> rows, std::vector<int64_t> labels, int64_t steps,
         int64_t channels, Normalizer norm);
  int64_t size() const override { return static_cast<int64_t>(rows_.size()); }
  const std::vector<int64_t>& labels() const override { return labels_; }
  int64_t steps() const override { return t_; }
  int64_t channels() const override { return c_; }
  Dataset load(const std::vector<int64_t>& positions) const override;
  // Rows read from the file so far (over all load() calls).
  int64_t rows_read() const { return rows_read_; }

 private:
  mutable int64_t rows_read_ = 0;
  std::filesystem::path path_;
  std::vector<int64_t> rows_, labels_;
  int64_t t_, c_;
  Normalizer norm_;
};

}  // namespace tf
