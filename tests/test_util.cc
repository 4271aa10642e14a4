#include "test_util.h"
#include "shell.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>
#include <sys/wait.h>

namespace tf::test {

nlohmann::json references() {
  static const nlohmann::json j = [] {
    std::ifstream in(reference_dir() / "references.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

TempDir::TempDir(const std::string& tag) {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ShellResult sh(const std::string& cmd, const std::filesystem::path& cwd) {
  std::string full = "export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 && ";
  if (!cwd.empty()) full += "cd '" + cwd.string() + "' && ";
  full += cmd + " 2>&1";
  ShellResult r;
  const auto t0 = std::chrono::steady_clock::now();
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string bin() { return std::string("'") + TF_BINARY + "'"; }

std::string mpirun(int np, const std::string& env) {
  return "mpirun -np " + std::to_string(np) + " --oversubscribe --bind-to none " + (env.empty() ? "" : "-x " + env + " ");
}

CliResult run_cli(const std::string& args, const std::filesystem::path& cwd) {
  ShellResult r = sh(bin() + " " + args, cwd);
  return {r.exit_code, std::move(r.output)};
}

std::string trials_without_timing(const std::filesystem::path& csv) {
  std::ifstream in(csv);
  std::string line, out;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) cells.push_back(c);
    for (size_t i = 0; i < cells.size(); ++i)
      if (i != 3 && i != 4) out += cells[i] + ",";
    out += "\n";
  }
  return out;
}

void write_raw_h5(const std::filesystem::path& p, const RawSets& sets, const std::vector<std::string>& class_names) {
  hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  for (auto& [name, type, dims, data] : sets) {
    hid_t s = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    // Without data: a chunked dataset that declares its shape and stores nothing.
    hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
    if (!data) {
      std::vector<hsize_t> chunk = dims;
      chunk[0] = 1;
      if (dims.size() == 1) chunk[0] = 1024;
      H5Pset_chunk(plist, static_cast<int>(chunk.size()), chunk.data());
    }
    hid_t d = H5Dcreate2(f, name.c_str(), type, s, H5P_DEFAULT, plist, H5P_DEFAULT);
    if (data) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(d);
    H5Pclose(plist);
    H5Sclose(s);
  }
  if (!class_names.empty()) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hsize_t k = class_names.size();
    hid_t s = H5Screate_simple(1, &k, nullptr);
    hid_t a = H5Acreate2(f, "class_names", t, s, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<const char*> ptrs;
    for (auto& c : class_names) ptrs.push_back(c.c_str());
    H5Awrite(a, t, ptrs.data());
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
  }
  H5Fclose(f);
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace tf::test
