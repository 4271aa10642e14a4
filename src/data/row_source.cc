#include "data/row_source.h"

#include "core/error.h"
#include "data/h5io.h"

namespace tf {

RowList row_list(const std::filesystem::path& file, const Dataset& all, std::vector<int64_t> rows) {
  RowList l;
  l.file = file;
  l.steps = all.t;
  l.channels = all.c;
  l.num_classes = all.num_classes;
  l.labels.reserve(rows.size());
  for (auto r : rows) l.labels.push_back(all.y[static_cast<size_t>(r)]);
  l.rows = std::move(rows);
  return l;
}

RowList whole_file(const std::filesystem::path& file) {
  Dataset all = read_labels(file);
  std::vector<int64_t> rows(static_cast<size_t>(all.n));
  for (int64_t i = 0; i < all.n; ++i) rows[static_cast<size_t>(i)] = i;
  return row_list(file, all, std::move(rows));
}

H5Rows::H5Rows(std::filesystem::path path, std::vector<int64_t> rows, std::vector<int64_t> labels, int64_t steps,
               int64_t channels, Normalizer norm, bool stream)
    : path_(std::move(path)), rows_(std::move(rows)), labels_(std::move(labels)), t_(steps), c_(channels),
      norm_(std::move(norm)), stream_(stream) {}

H5Rows::H5Rows(const RowList& l, Normalizer norm, bool stream)
    : H5Rows(l.file, l.rows, l.labels, l.steps, l.channels, std::move(norm), stream) {}

H5Rows::~H5Rows() = default;

Dataset H5Rows::load(const std::vector<int64_t>& positions) const {
  std::vector<int64_t> file_rows(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) file_rows[i] = rows_[static_cast<size_t>(positions[i])];
  // Positions are sorted and rows_ is sorted, so file_rows is sorted as the reader needs.
  if (!reader_) reader_ = std::make_unique<H5RowReader>(path_);
  Dataset d = reader_->read(file_rows);
  rows_read_ += d.n;
  norm_.apply(d);
  return d;
}

}  // namespace tf
