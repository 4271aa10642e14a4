// The trainer's implementation, shared by trainer.cc (construction,
// evaluation, prediction, TrainerControl) and fit.cc (the training loop).
// Internal: LibTorch types.
#pragma once

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "core/error.h"
#include "core/fs.h"
#include "core/interrupt.h"
#include "models/model.h"
#include "train/batch_tensors.h"
#include "train/callbacks.h"
#include "train/grad_sync.h"
#include "train/losses.h"
#include "train/optim.h"
#include "train/resume.h"
#include "train/schedule.h"
#include "train/trainer.h"

#ifdef TRAINFLEET_HAVE_NCCL
#include "comm/nccl_comm.h"
#endif

namespace tf {

namespace trainer_detail {
using Clock = std::chrono::steady_clock;
inline double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Test hook: TRAINFLEET_SIGNAL_AT="EPOCH:STEP" makes group rank 0 raise
// SIGUSR1 after step STEP of epoch EPOCH (0: at the end of the epoch), to
// exercise the stop-checkpoint-resume path at an exact point.
inline std::pair<int64_t, int64_t> signal_at() {
  const char* v = std::getenv("TRAINFLEET_SIGNAL_AT");
  long long e = -1, b = -1;
  if (!v || std::sscanf(v, "%lld:%lld", &e, &b) != 2) return {-1, -1};
  return {e, b};
}

// Rows [begin, end) of `n` that rank `r` of `world` owns for evaluation.
inline std::pair<int64_t, int64_t> shard(int64_t n, int r, int world) { return {n * r / world, n * (r + 1) / world}; }
}  // namespace trainer_detail

using trainer_detail::Clock;
using trainer_detail::since;
using trainer_detail::shard;

struct Trainer::Impl : TrainerControl {
  config::Config cfg;
  Communicator& comm;
  ModelInfo info;
  torch::Device device{torch::kCPU};
  ClassifierPtr model;
  std::unique_ptr<Loss> loss;
  std::unique_ptr<torch::optim::Optimizer> opt;
  std::vector<torch::Tensor> params;
  std::unique_ptr<Communicator> device_comm;  // NCCL for gradients on GPUs, when built in
  std::unique_ptr<GradSync> sync;
  ScheduleSpec sched;
  double scale = 1.0;
  bool stop = false;
  int64_t step = 0;
  std::vector<torch::Tensor> best;
  int64_t no_leak = 0;

  Impl(const config::Config& c, Communicator& cm, const ModelInfo& i) : cfg(c), comm(cm), info(i) {
    if (cfg.get_string("runtime.device") == "cuda") {
      TF_CHECK_INPUT(torch::cuda::is_available(),
                     "runtime.device: \"cuda\" was asked for but this LibTorch build sees no CUDA device");
      // One GPU per rank: the launcher narrows CUDA_VISIBLE_DEVICES to one device;
      // otherwise ranks on a node take devices by their local rank.
      int local = 0;
      for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"})
        if (const char* s = std::getenv(v)) local = std::atoi(s);
      device = torch::Device(torch::kCUDA, static_cast<int>(local % static_cast<int>(torch::cuda::device_count())));
    }
#ifdef TRAINFLEET_HAVE_NCCL
    if (device.is_cuda() && comm.is_distributed())
      device_comm = std::make_unique<NcclComm>(comm, device.index(), cfg.get_float("runtime.collective_timeout_s"));
#endif
    build_model();
    no_leak = cfg.get_int("data.no_leak_class");
    LossContext lc{info.class_counts, info.class_names, no_leak};
    loss = make_loss(cfg, lc);
    const std::string s = "training.lr_schedule_config.";
    sched.name = cfg.get_string("training.lr_schedule");
    sched.base_lr = cfg.get_float("training.learning_rate");
    sched.initial_lr = cfg.get_float(s + "initial_lr");
    sched.warmup_steps = cfg.get_int(s + "warmup_steps");
    sched.decay_rate = cfg.get_float(s + "decay_rate");
    sched.decay_steps = cfg.get_int(s + "decay_steps");
    sched.staircase = cfg.get_bool(s + "staircase");
    sched.min_lr = cfg.get_float(s + "min_lr");
    sched.total_steps = cfg.get_int(s + "total_steps");
    sched.end_lr = cfg.get_float(s + "end_lr");
    sched.power = cfg.get_float(s + "power");
  }

  // Seeded model (the same initial weights on every rank, from the group's
  // first), its gradient synchroniser and optimizer.
  void build_model() {
    torch::manual_seed(static_cast<uint64_t>(cfg.get_int("experiment.seed")));
    model = make_model(cfg, InputShape{info.steps, info.channels, info.classes});
    model->to(device);
    params.clear();
    for (auto& p : model->parameters()) params.push_back(p);
    sync = std::make_unique<GradSync>(device_comm ? *device_comm : comm, params);
    sync->broadcast_parameters(model->parameters(), model->buffers());
    opt = make_optimizer(cfg, params);
  }

  std::vector<torch::Tensor> state() const {
    std::vector<torch::Tensor> s;
    for (auto& p : model->parameters()) s.push_back(p);
    for (auto& b : model->buffers()) s.push_back(b);
    return s;
  }

  // --- TrainerControl
  bool is_writer() const override { return comm.rank() == 0; }
  void snapshot_best() override {
    torch::NoGradGuard ng;
    best.clear();
    for (auto& t : state()) best.push_back(t.detach().clone());
  }
  bool restore_best() override {
    if (best.empty()) return false;
    torch::NoGradGuard ng;
    auto s = state();
    for (size_t i = 0; i < s.size(); ++i) s[i].copy_(best[i]);
    return true;
  }
  void save_weights(const std::filesystem::path& path) override { write_weights(*model, path, true); }
  double lr_scale() const override { return scale; }
  void set_lr_scale(double s) override { scale = s; }
  double current_lr() const override { return get_lr(*opt); }
  void request_stop() override { stop = true; }

  // The parts of the trainer a resume checkpoint saves and restores.
  ResumeTarget resume_target() { return {*model, *opt, best, step, scale, stop, device}; }

  void save_resume(const fs::path& run_dir, const ResumePoint& at, const FitResult& result,
                   const std::vector<Callback*>& cbs) {
    if (is_writer() && !run_dir.empty()) tf::save_resume(run_dir, cfg, at, resume_target(), result, cbs);
  }

  // The point to continue from, or nullopt for a fresh start. A checkpoint torn
  // by a machine crash (its files are not fsync'd) is dropped: the model and
  // optimizer are rebuilt as at construction and the lost attempt's rows removed.
  std::optional<ResumePoint> load_resume(const fs::path& run_dir, FitResult& result,
                                         const std::vector<Callback*>& cbs) {
    ResumePoint at;
    const ResumeLoad r = tf::load_resume(run_dir, cfg, comm, resume_target(), result, cbs, &at);
    if (r == ResumeLoad::kLoaded) return at;
    if (r == ResumeLoad::kUnreadable) {
      build_model();
      best.clear();
      torch::manual_seed(static_cast<uint64_t>(cfg.get_int("experiment.seed")) + 1);
      if (is_writer())
        for (const char* f : {"history.csv", "metrics.jsonl"}) {
          std::error_code ec;
          fs::remove(run_dir / f, ec);
        }
    }
    return std::nullopt;
  }

  // Whether any rank of the group was asked to stop (collective).
  bool agreed_stop() { return stop_agreed(comm); }

  [[noreturn]] void preempted(const fs::path& run_dir, const ResumePoint& at) {
    const int sig = stop_requested();
    throw Preempted(std::string("stopped by ") + (sig ? signal_name(sig) : "a signal on another rank") +
                        " at epoch " + std::to_string(at.epoch) + (at.batch ? ", step " + std::to_string(at.batch) : "") +
                        (run_dir.empty() ? std::string(" (no run folder: nothing saved)")
                                         : "; resume checkpoint in " + resume_dir(run_dir).string()),
                    __FILE__, __LINE__);
  }

  // Rows of `source` as this rank evaluates them (chunks of its share).
  EvalRows eval_rows(const RowSource& source) const {
    TF_CHECK_INPUT(source.steps() == info.steps && source.channels() == info.channels,
                   "windows are [" + std::to_string(source.steps()) + " steps, " +
                       std::to_string(source.channels()) + " channels] but the model expects [" +
                       std::to_string(info.steps) + ", " + std::to_string(info.channels) + "]");
    const int64_t bs = std::max<int64_t>(cfg.get_int("training.batch_size"), 256);
    return EvalRows(source, comm.rank(), comm.size(), bs, device);
  }

  // Loss and confusion matrix over the group; with `proba`, also the class
  // probabilities of every row ([n, classes], on every rank) from the same
  // forward pass, so a test set is not run through the model twice.
  EvalResult evaluate(const EvalRows& rows, std::vector<float>* proba = nullptr) {
    model->eval();
    torch::NoGradGuard ng;
    double loss_sum = 0;
    ConfusionMatrix cm(info.classes);
    std::vector<float> mine;
    if (proba) mine.assign(static_cast<size_t>(proba_block_rows(rows) * info.classes), 0.f);
    rows.for_each([&](int64_t b, const torch::Tensor& x, const torch::Tensor& y) {
      const int64_t m = x.size(0);
      auto logits = model->forward(x.transpose(1, 2));
      loss_sum += loss->forward(logits, y).item<double>() * m;
      if (proba) copy_proba(logits, mine.data() + (b - rows.begin()) * info.classes);
      auto pred = logits.argmax(1).to(torch::kCPU);
      auto yc = y.to(torch::kCPU);
      auto pa = pred.accessor<int64_t, 1>();
      auto ya = yc.accessor<int64_t, 1>();
      for (int64_t i = 0; i < m; ++i) cm.add(ya[i], pa[i]);
    });
    std::vector<double> buf = cm.as_doubles();
    buf.push_back(loss_sum);
    comm.allreduce_sum(buf.data(), buf.size());
    EvalResult r;
    r.loss = buf.back() / std::max<int64_t>(1, rows.size());
    buf.pop_back();
    r.cm = ConfusionMatrix::from_doubles(buf, info.classes);
    r.rows = rows.size();
    if (proba) *proba = gather_proba(mine, rows.size());
    return r;
  }

  void validate_fit(bool has_val) const {
    if (!has_val) {
      const std::pair<const char*, const char*> watched[] = {
          {"early_stopping", "early_stopping_monitor"},
          {"model_checkpoint", "checkpoint_monitor"},
          {"reduce_lr_on_plateau", "reduce_lr_monitor"}};
      for (const auto& [on, mon] : watched) {
        const std::string key = std::string("training.callbacks.") + mon;
        TF_CHECK_INPUT(!cfg.get_bool(std::string("training.callbacks.") + on) ||
                           cfg.get_string(key).rfind("val_", 0) != 0,
                       key + ": \"" + cfg.get_string(key) +
                           "\" needs validation data, but data.validation_split is 0 and data.val_path is empty");
      }
    }
  }

  FitResult fit(const RowSource& source, const RowSource* val, const std::filesystem::path& run_dir,
                const std::vector<Callback*>& extra);  // fit.cc

  std::vector<float> predict_proba(const RowSource& source) {
    const EvalRows rows = eval_rows(source);
    model->eval();
    torch::NoGradGuard ng;
    std::vector<float> mine(static_cast<size_t>(proba_block_rows(rows) * info.classes), 0.f);
    rows.for_each([&](int64_t b, const torch::Tensor& x, const torch::Tensor&) {
      copy_proba(model->forward(x.transpose(1, 2)), mine.data() + (b - rows.begin()) * info.classes);
    });
    return gather_proba(mine, rows.size());
  }

  // Every rank contributes an equal-sized block (padded) to one allgather:
  // its rows' probabilities, at most this many rows.
  int64_t proba_block_rows(const EvalRows& rows) const { return (rows.size() + comm.size() - 1) / comm.size() + 1; }

  // Softmax of a chunk's logits, copied to `dst` ([rows, classes], row-major).
  static void copy_proba(const torch::Tensor& logits, float* dst) {
    auto pr = torch::softmax(logits, 1).to(torch::kCPU).contiguous();
    std::memcpy(dst, pr.data_ptr<float>(), sizeof(float) * pr.numel());
  }

  // The ranks' blocks put together: [n, classes] on every rank.
  std::vector<float> gather_proba(const std::vector<float>& mine, int64_t n) {
    const int64_t k = info.classes;
    std::vector<float> all(mine.size() * comm.size());
    comm.allgather(mine.data(), all.data(), mine.size() * sizeof(float));
    std::vector<float> out(static_cast<size_t>(n * k));
    for (int r = 0; r < comm.size(); ++r) {
      auto [rb, re] = shard(n, r, comm.size());
      std::memcpy(out.data() + rb * k, all.data() + r * mine.size(), sizeof(float) * (re - rb) * k);
    }
    return out;
  }
};

}  // namespace tf
