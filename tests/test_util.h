// Helpers shared by the tests: reference JSON, temporary folders, running the CLI.
#pragma once

#include <hdf5.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

namespace tf::test {

inline std::filesystem::path reference_dir() { return TF_TEST_REFERENCE_DIR; }
inline std::filesystem::path source_dir() { return TF_SOURCE_DIR; }

nlohmann::json references();

// A fresh, empty folder under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "tf");
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

// Runs the trainfleet binary with `args` (a shell-quoted string) in `cwd`.
CliResult run_cli(const std::string& args, const std::filesystem::path& cwd = {});

void write_text(const std::filesystem::path& p, const std::string& text);

// Writes datasets (name, native type, dims, data) and an optional class_names
// attribute with the HDF5 library itself, as any tool could: for bad-file tests.
// A null data pointer declares the dataset's shape without storing anything.
using RawSets = std::vector<std::tuple<std::string, hid_t, std::vector<hsize_t>, const void*>>;
void write_raw_h5(const std::filesystem::path& p, const RawSets& sets, const std::vector<std::string>& class_names = {});

// A study's trials.csv without its timing and group columns (duration_s, group).
std::string trials_without_timing(const std::filesystem::path& csv);

}  // namespace tf::test
