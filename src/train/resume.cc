#include "train/resume.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <mutex>
#include <sstream>

#include "core/fs.h"
#include "train/optim.h"

namespace tf {

fs::path resume_dir(const fs::path& run_dir) { return run_dir / "resume"; }

// LibTorch serialises into memory and the bytes go through atomic_write's
// checked writes: LibTorch's own file writer throws from its destructor when
// the disk is full (std::terminate, SIGABRT) and leaves its temp file behind.
void write_weights(torch::nn::Module& model, const fs::path& path, bool durable) {
  torch::serialize::OutputArchive ar;
  model.save(ar);
  std::ostringstream bytes;
  ar.save_to(bytes);
  atomic_write(path, bytes.str(), durable);
}

namespace {
template <typename T>  // a tensor or a list of tensors
void write_tensors(const T& value, const fs::path& path, bool durable) {
  std::ostringstream bytes;
  torch::save(value, bytes);
  atomic_write(path, bytes.str(), durable);
}
}  // namespace

void save_resume(const fs::path& run_dir, const config::Config& cfg, const ResumePoint& at, const ResumeTarget& t,
                 const FitResult& result, const std::vector<Callback*>& cbs) {
  const fs::path dir = resume_dir(run_dir);
  fs::create_directories(dir);
  nlohmann::json old;
  if (fs::exists(dir / "state.json")) old = nlohmann::json::parse(read_file(dir / "state.json"), nullptr, false);
  const int64_t gen = (old.is_object() ? old.value("generation", int64_t{0}) : 0) + 1;
  const std::string g = std::to_string(gen);
  // Not fsync'd (they are rewritten every few epochs): atomic against a
  // killed process; after a machine crash an unreadable checkpoint is
  // dropped and the run starts afresh (load_resume).
  const bool durable = false;
  write_weights(t.model, dir / ("weights-" + g + ".pt"), durable);
  save_optimizer(t.opt, (dir / ("optimizer-" + g + ".pt")).string(), durable);
  if (!t.best.empty()) write_tensors(t.best, dir / ("best-" + g + ".pt"), durable);
  auto gen_cpu = at::detail::getDefaultCPUGenerator();
  torch::Tensor rng;
  {
    std::lock_guard<std::mutex> lock(gen_cpu.mutex());
    rng = gen_cpu.get_state();
  }
  write_tensors(rng, dir / ("rng-" + g + ".pt"), durable);
  nlohmann::json st = {{"generation", gen},   {"epoch", at.epoch}, {"batch", at.batch},
                       {"cm", at.cm},         {"loss_sum", at.loss_sum}, {"step", t.step},
                       {"lr_scale", t.lr_scale}, {"stop", t.stop},    {"has_best", !t.best.empty()},
                       {"config", cfg.to_yaml()}};
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& h : result.history) {
    nlohmann::json row = nlohmann::json::object();
    for (const auto& [k, v] : h) row[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    hist.push_back(row);
  }
  st["history"] = hist;
  nlohmann::json states = nlohmann::json::array();
  for (auto* cb : cbs) states.push_back(cb->save_state());
  st["callbacks"] = states;
  atomic_write(dir / "state.json", st.dump() + "\n", durable);
  for (const auto& e : fs::directory_iterator(dir)) {  // earlier generations
    const std::string n = e.path().filename().string();
    if (n != "state.json" && n.find("-" + g + ".pt") == std::string::npos) {
      std::error_code ec;
      fs::remove(e.path(), ec);
    }
  }
}

ResumeLoad load_resume(const fs::path& run_dir, const config::Config& cfg, Communicator& comm, const ResumeTarget& t,
                       FitResult& result, const std::vector<Callback*>& cbs, ResumePoint* out) {
  if (run_dir.empty()) return ResumeLoad::kNone;
  const bool writer = comm.rank() == 0;
  const fs::path dir = resume_dir(run_dir);
  std::string text;
  if (writer && fs::exists(dir / "state.json")) {
    text = read_file(dir / "state.json");
    auto st = nlohmann::json::parse(text, nullptr, false);
    if (!st.is_object() || st.value("config", "") != cfg.to_yaml()) {
      spdlog::warn("{}: resume checkpoint is unreadable or from another config; starting afresh",
                   dir.string());
      text.clear();
    }
  }
  text = broadcast_string(comm, text);
  if (text.empty()) return ResumeLoad::kNone;
  const auto st = nlohmann::json::parse(text);
  const std::string g = std::to_string(st["generation"].get<int64_t>());
  try {
    torch::serialize::InputArchive ar;
    ar.load_from((dir / ("weights-" + g + ".pt")).string(), t.device);
    t.model.load(ar);
    load_optimizer(t.opt, (dir / ("optimizer-" + g + ".pt")).string());
    t.best.clear();
    if (st["has_best"].get<bool>()) {
      torch::load(t.best, (dir / ("best-" + g + ".pt")).string());
      for (auto& x : t.best) x = x.to(t.device);
    }
    torch::Tensor rng;
    torch::load(rng, (dir / ("rng-" + g + ".pt")).string());
    auto gen_cpu = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen_cpu.mutex());
    gen_cpu.set_state(rng);
  } catch (const std::exception& e) {
    // Every rank read the same files, so every rank lands here alike.
    spdlog::warn("{}: resume checkpoint unreadable ({}); starting this run afresh", dir.string(), e.what());
    return ResumeLoad::kUnreadable;
  }
  ResumePoint& at = *out;
  at.epoch = st["epoch"];
  at.batch = st["batch"];
  at.cm = st["cm"].get<std::vector<double>>();
  at.loss_sum = st["loss_sum"];
  t.step = st["step"];
  t.lr_scale = st["lr_scale"];
  t.stop = st["stop"];
  result.history.clear();
  for (const auto& row : st["history"]) {
    std::map<std::string, double> h;
    for (const auto& [k, v] : row.items()) h[k] = v.is_number() ? v.get<double>() : NAN;
    result.history.push_back(h);
  }
  result.epochs_run = static_cast<int>(result.history.size());
  const auto& states = st["callbacks"];
  if (states.size() == cbs.size())
    for (size_t i = 0; i < cbs.size(); ++i) cbs[i]->load_state(states[i]);
  if (writer)
    spdlog::info("resuming {} at epoch {}{} from its checkpoint", run_dir.string(), at.epoch,
                 at.batch ? ", step " + std::to_string(at.batch) : std::string());
  return ResumeLoad::kLoaded;
}

}  // namespace tf
