// Block-wise HDF5 I/O: H5RowReader (many small reads on one open file) and
// write_h5_blocks (a data set written a block of rows at a time).
#include <algorithm>
#include <numeric>

#include "core/fs.h"
#include "data/h5_util.h"
#include "data/h5io.h"

namespace tf {

using namespace h5detail;

struct H5RowReader::Impl {
  std::string file;
  H5Info info;
  Handle f, x, y;
  explicit Impl(const std::filesystem::path& path)
      : file(path.string()),
        info(inspect_h5(path)),
        f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose),
        x(f.ok() ? H5Dopen2(f.get(), "X", H5P_DEFAULT) : -1, H5Dclose),
        y(f.ok() ? H5Dopen2(f.get(), "y", H5P_DEFAULT) : -1, H5Dclose) {
    if (!f.ok() || !x.ok() || !y.ok()) throw BadInput("cannot open HDF5 file " + file, __FILE__, __LINE__);
  }
};

H5RowReader::H5RowReader(const std::filesystem::path& path) {
  Silence quiet;
  impl_ = std::make_unique<Impl>(path);
}
H5RowReader::~H5RowReader() = default;

const H5Info& H5RowReader::info() const { return impl_->info; }

Dataset H5RowReader::read(const std::vector<int64_t>& rows) const {
  const H5Info& info = impl_->info;
  for (size_t i = 0; i < rows.size(); ++i) {
    TF_CHECK(rows[i] >= 0 && rows[i] < info.n, "row index out of range for " + impl_->file);
    TF_CHECK(i == 0 || rows[i] > rows[i - 1], "rows must be sorted and unique");
  }
  Silence quiet;
  Dataset d;
  d.source = impl_->file;
  d.n = static_cast<int64_t>(rows.size());
  d.t = info.t;
  d.c = info.c;
  d.class_names = info.class_names;
  read_rows(impl_->x.get(), H5T_NATIVE_FLOAT, rows, d.t * d.c, d.x, impl_->file, "/X");
  read_rows(impl_->y.get(), H5T_NATIVE_INT64, rows, 1, d.y, impl_->file, "/y");
  check_finite(d, rows, impl_->file);
  return d;
}

namespace {

// Creates an [n] or [n, t, c] dataset: X as `layout` says, the 1-d ones contiguous.
Handle create_rows(hid_t f, const char* name, hid_t type, std::vector<hsize_t> dims, const H5Layout& layout,
                   const std::string& file) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  std::vector<hsize_t> chunk = dims;
  if (dims.size() == 3 && layout.chunk_rows > 0) {
    chunk[0] = std::min<hsize_t>(dims[0], static_cast<hsize_t>(layout.chunk_rows));
    H5Pset_chunk(plist.get(), 3, chunk.data());
    if (layout.gzip > 0) {
      H5Pset_shuffle(plist.get());
      H5Pset_deflate(plist.get(), static_cast<unsigned>(layout.gzip));
    }
  }
  Handle ds(H5Dcreate2(f, name, type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), H5Dclose);
  TF_CHECK(ds.ok(), std::string("cannot create dataset ") + name + " in " + file);
  return ds;
}

// Writes `rows` rows of `data` at row `at` of the dataset.
void write_at(hid_t ds, hid_t mem_type, hsize_t at, hsize_t rows, const void* data, const std::string& file) {
  std::vector<hsize_t> dims = shape_of(ds);
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = at;
  count[0] = rows;
  Handle fspace(H5Dget_space(ds), H5Sclose);
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  Handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
  TF_CHECK(H5Dwrite(ds, mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, data) >= 0,
           "cannot write rows " + std::to_string(at) + ".. to " + file);
}

}  // namespace

void write_h5_blocks(const std::filesystem::path& path, int64_t n, int64_t t, int64_t c,
                     const std::vector<std::string>& class_names, bool with_meta, const H5Layout& layout,
                     const std::function<void(Dataset& block)>& next, bool overwrite) {
  TF_CHECK_INPUT(layout.gzip == 0 || layout.chunk_rows > 0, "gzip compression needs chunks (chunk rows > 0)");
  TF_CHECK_INPUT(layout.gzip >= 0 && layout.gzip <= 9, "gzip level must be 0..9, got " + std::to_string(layout.gzip));
  if (!overwrite && std::filesystem::exists(path))
    throw BadInput("output file " + path.string() + " exists already; refusing to overwrite it", __FILE__, __LINE__);
  if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path());
  atomic_write_with(path, [&](const std::filesystem::path& tmp) {
    const std::string file = tmp.string();
    Handle f(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    TF_CHECK(f.ok(), "cannot create " + file);
    const hsize_t N = static_cast<hsize_t>(n);
    Handle x = create_rows(f.get(), "X", H5T_IEEE_F32LE, {N, (hsize_t)t, (hsize_t)c}, layout, file);
    Handle y = create_rows(f.get(), "y", H5T_STD_I64LE, {N}, layout, file);
    Handle g(with_meta ? create_rows(f.get(), "groups", H5T_STD_I64LE, {N}, layout, file).release() : -1, H5Dclose);
    Handle tm(with_meta ? create_rows(f.get(), "time", H5T_IEEE_F64LE, {N}, layout, file).release() : -1, H5Dclose);
    Dataset block;
    for (int64_t done = 0; done < n;) {
      next(block);
      TF_CHECK(block.n > 0 && done + block.n <= n && block.t == t && block.c == c, "bad block for " + file);
      const hsize_t at = static_cast<hsize_t>(done), rows = static_cast<hsize_t>(block.n);
      write_at(x.get(), H5T_NATIVE_FLOAT, at, rows, block.x.data(), file);
      write_at(y.get(), H5T_NATIVE_INT64, at, rows, block.y.data(), file);
      if (with_meta) {
        write_at(g.get(), H5T_NATIVE_INT64, at, rows, block.groups.data(), file);
        write_at(tm.get(), H5T_NATIVE_DOUBLE, at, rows, block.time.data(), file);
      }
      done += block.n;
    }
    write_class_names(f.get(), class_names, file);
  });
}

}  // namespace tf
