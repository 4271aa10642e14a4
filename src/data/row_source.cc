#include "data/row_source.h"

#include "data/h5io.h"

namespace tf {

H5Rows::H5Rows(std::filesystem::path path, std::vector<int64_t> rows, std::vector<int64_t> labels, int64_t steps,
               int64_t channels, Normalizer norm)
    : path_(std::move(path)), rows_(std::move(rows)), labels_(std::move(labels)), t_(steps), c_(channels),
      norm_(std::move(norm)) {}

Dataset H5Rows::load(const std::vector<int64_t>& positions) const {
  std::vector<int64_t> file_rows(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) file_rows[i] = rows_[static_cast<size_t>(positions[i])];
  // Positions are sorted and rows_ is sorted, so file_rows is sorted as read_h5 needs.
  Dataset d = read_h5(path_, file_rows);
  rows_read_ += d.n;
  norm_.apply(d);
  return d;
}

}  // namespace tf
