#include "test_util.h"

#include <unistd.h>

#include <array>
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

CliResult run_cli(const std::string& args, const std::filesystem::path& cwd) {
  std::string cmd;
  if (!cwd.empty()) cmd = "cd '" + cwd.string() + "' && ";
  cmd += std::string("'") + TF_BINARY + "' " + args + " 2>&1";
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
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

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace tf::test
