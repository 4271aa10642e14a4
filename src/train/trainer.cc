#include "train/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <numeric>
#include <optional>
#include <random>

#include "core/error.h"
#include "core/fs.h"
#include "core/interrupt.h"
#include "models/model.h"
#include "train/callbacks.h"
#include "train/grad_sync.h"
#include "train/losses.h"
#include "train/optim.h"
#include "train/resume.h"
#include "train/schedule.h"

#ifdef TRAINFLEET_HAVE_NCCL
#include "comm/nccl_comm.h"
#endif

namespace tf {

nlohmann::json ModelInfo::to_json() const {
  return {{"steps", steps}, {"channels", channels}, {"classes", classes}, {"class_names", class_names},
          {"class_counts", class_counts}};
}

ModelInfo ModelInfo::from_json(const nlohmann::json& j, const std::string& source) {
  ModelInfo m;
  try {
    m.steps = j.at("steps").get<int64_t>();
    m.channels = j.at("channels").get<int64_t>();
    m.classes = j.at("classes").get<int64_t>();
    m.class_names = j.at("class_names").get<std::vector<std::string>>();
    m.class_counts = j.at("class_counts").get<std::vector<int64_t>>();
  } catch (const std::exception& e) {
    throw BadInput(source + ": not a model description (" + e.what() + ")", __FILE__, __LINE__);
  }
  return m;
}

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Test hook: TRAINFLEET_FAIL_AT="RANK:EPOCH" makes group rank RANK throw in the
// middle of epoch EPOCH, to exercise the failure path of multi-rank jobs.
std::pair<int, int64_t> fail_at() {
  const char* v = std::getenv("TRAINFLEET_FAIL_AT");
  if (!v) return {-1, -1};
  int r = -1;
  long long e = -1;
  if (std::sscanf(v, "%d:%lld", &r, &e) != 2) return {-1, -1};
  return {r, e};
}

// Test hook: TRAINFLEET_SIGNAL_AT="EPOCH:STEP" makes group rank 0 raise
// SIGUSR1 after step STEP of epoch EPOCH (0: at the end of the epoch), to
// exercise the stop-checkpoint-resume path at an exact point.
std::pair<int64_t, int64_t> signal_at() {
  const char* v = std::getenv("TRAINFLEET_SIGNAL_AT");
  long long e = -1, b = -1;
  if (!v || std::sscanf(v, "%lld:%lld", &e, &b) != 2) return {-1, -1};
  return {e, b};
}

// Rows [begin, end) of `n` that rank `r` of `world` owns for evaluation.
std::pair<int64_t, int64_t> shard(int64_t n, int r, int world) { return {n * r / world, n * (r + 1) / world}; }
}  // namespace

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

  // Tensor views of a data set: X as [N, C, T] (channels-first, so the conv
  // input needs no copy), y as [N].
  std::pair<torch::Tensor, torch::Tensor> tensors(const Dataset& d) const {
    auto x = torch::from_blob(const_cast<float*>(d.x.data()), {d.n, d.t, d.c}, torch::kFloat32)
                 .transpose(1, 2)
                 .contiguous();
    auto y = torch::from_blob(const_cast<int64_t*>(d.y.data()), {d.n}, torch::kInt64).clone();
    return {x.to(device), y.to(device)};
  }

  EvalResult evaluate(const Dataset& d) {
    TF_CHECK_INPUT(d.t == info.steps && d.c == info.channels,
                   d.source + ": windows are [" + std::to_string(d.t) + " steps, " + std::to_string(d.c) +
                       " channels] but the model expects [" + std::to_string(info.steps) + ", " +
                       std::to_string(info.channels) + "]");
    auto [begin, end] = shard(d.n, comm.rank(), comm.size());
    model->eval();
    torch::NoGradGuard ng;
    double loss_sum = 0;
    ConfusionMatrix cm(info.classes);
    const int64_t bs = std::max<int64_t>(cfg.get_int("training.batch_size"), 256);
    auto [x_all, y_all] = tensors(d);
    for (int64_t b = begin; b < end; b += bs) {
      int64_t m = std::min(bs, end - b);
      auto x = x_all.narrow(0, b, m);
      auto y = y_all.narrow(0, b, m);
      auto logits = model->forward(x.transpose(1, 2));
      loss_sum += loss->forward(logits, y).item<double>() * m;
      auto pred = logits.argmax(1).to(torch::kCPU);
      auto yc = y.to(torch::kCPU);
      auto pa = pred.accessor<int64_t, 1>();
      auto ya = yc.accessor<int64_t, 1>();
      for (int64_t i = 0; i < m; ++i) cm.add(ya[i], pa[i]);
    }
    std::vector<double> buf = cm.as_doubles();
    buf.push_back(loss_sum);
    comm.allreduce_sum(buf.data(), buf.size());
    EvalResult r;
    r.loss = buf.back() / std::max<int64_t>(1, d.n);
    buf.pop_back();
    r.cm = ConfusionMatrix::from_doubles(buf, info.classes);
    r.rows = d.n;
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

  FitResult fit(const RowSource& source, const Dataset* val, const std::filesystem::path& run_dir,
                const std::vector<Callback*>& extra) {
    const int64_t n_train = source.size();
    TF_CHECK_INPUT(n_train > 0, "no training rows");
    const int64_t epochs = cfg.get_int("training.epochs");
    const int64_t batch = cfg.get_int("training.batch_size");
    const int64_t steps_per_epoch = (n_train + batch - 1) / batch;
    if (sched.total_steps == 0) sched.total_steps = epochs * steps_per_epoch;
    const double clip = cfg.get_float("training.optimizer_config.clipnorm");
    const uint64_t seed = static_cast<uint64_t>(cfg.get_int("experiment.seed"));
    std::vector<std::string> metrics;
    for (const auto& m : cfg.at("training.metrics")) metrics.push_back(m.get<std::string>());
    validate_fit(val != nullptr);
    // Dropout draws from LibTorch's global generator: reseed it so a fit
    // depends on the seed alone, not on what ran before in this process.
    torch::manual_seed(static_cast<uint64_t>(cfg.get_int("experiment.seed")) + 1);
    CallbackSet cbs = make_callbacks(cfg, run_dir);
    // Training rows on this rank: all of them when they are in memory and this
    // is the only rank; else, every epoch, just this rank's slices of the
    // global batches (local[pos] = row of `part` holding global position pos).
    const Dataset* whole = comm.size() == 1 ? source.in_memory() : nullptr;
    Dataset part;
    torch::Tensor x_all, y_all;
    std::vector<int64_t> local(static_cast<size_t>(n_train), -1);
    if (whole) {
      std::tie(x_all, y_all) = tensors(*whole);
      std::iota(local.begin(), local.end(), 0);
    }
    FitResult result;
    auto t_fit = Clock::now();
    std::vector<Callback*> all_cbs;
    for (auto& cb : cbs.all) all_cbs.push_back(cb.get());
    all_cbs.insert(all_cbs.end(), extra.begin(), extra.end());
    for (auto* cb : all_cbs) cb->on_train_begin(*this);
    const std::optional<ResumePoint> resumed = load_resume(run_dir, result, all_cbs);
    const ResumePoint start = resumed ? *resumed : ResumePoint{};
    const int64_t resume_every = cfg.get_int("runtime.resume_every_epochs");
    const double resume_gap = cfg.get_float("runtime.resume_min_interval_s");
    auto last_resume = Clock::now();  // the fit's start counts as the last checkpoint
    std::vector<int64_t> perm(static_cast<size_t>(n_train));
    const auto fail = fail_at();
    const auto sig_at = signal_at();
    const bool bar = comm.rank() == 0 && ::isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info &&
                     !std::getenv("TRAINFLEET_NO_PROGRESS_BAR");
    const double bar_every = std::getenv("TRAINFLEET_PROGRESS_INTERVAL_S")  // redraw period (tests shorten it)
                                 ? std::atof(std::getenv("TRAINFLEET_PROGRESS_INTERVAL_S"))
                                 : 0.5;
    int64_t step_every = 0;  // the finest step interval a callback asks for
    for (auto* cb : all_cbs) {
      const int64_t k = cb->step_interval();
      if (k > 0) step_every = step_every ? std::min(step_every, k) : k;
    }
    auto maybe_raise = [&](int64_t epoch, int64_t done) {
      if (sig_at.first == epoch && sig_at.second == done && comm.rank() == 0) ::raise(SIGUSR1);
    };
    for (int64_t epoch = start.epoch; epoch <= epochs && !stop; ++epoch) {
      const bool partial = epoch == start.epoch && start.batch > 0;
      auto t_epoch = Clock::now();
      model->train();
      std::iota(perm.begin(), perm.end(), 0);
      std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
      std::shuffle(perm.begin(), perm.end(), rng);
      if (!whole) {
        std::vector<int64_t> need;
        for (int64_t b = 0; b < steps_per_epoch; ++b) {
          int64_t g0 = b * batch, gn = std::min(batch, n_train - g0);
          auto [lo, hi] = shard(gn, comm.rank(), comm.size());
          need.insert(need.end(), perm.begin() + g0 + lo, perm.begin() + g0 + hi);
        }
        std::sort(need.begin(), need.end());
        auto t_load = Clock::now();
        part = Dataset();
        part = source.load(need);
        std::tie(x_all, y_all) = tensors(part);
        spdlog::debug("epoch {}: read {} training rows in {:.3f}s", epoch, need.size(), since(t_load));
        for (size_t i = 0; i < need.size(); ++i) local[static_cast<size_t>(need[i])] = static_cast<int64_t>(i);
      }
      std::vector<int64_t> idx_buf;
      auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
      std::vector<torch::Tensor> preds, truths;
      // This rank's confusion matrix of the epoch so far (+ what a resumed
      // checkpoint had counted, on rank 0 only, as it is group-reduced).
      auto epoch_cm = [&] {
        ConfusionMatrix cm(info.classes);
        if (partial && comm.rank() == 0) cm = ConfusionMatrix::from_doubles(start.cm, info.classes);
        if (!preds.empty()) {
          auto p = torch::cat(preds).to(torch::kCPU);
          auto t = torch::cat(truths).to(torch::kCPU);
          auto pa = p.accessor<int64_t, 1>();
          auto ta = t.accessor<int64_t, 1>();
          for (int64_t i = 0; i < p.size(0); ++i) cm.add(ta[i], pa[i]);
        }
        return cm;
      };
      if (partial && comm.rank() == 0) loss_sum += start.loss_sum;
      auto last_bar = Clock::now();
      bool bar_shown = false;
      for (int64_t b = partial ? start.batch : 0; b < steps_per_epoch; ++b) {
        // On a terminal, a bar redrawn in place twice a second within the epoch
        // (logs written to files get only the one line per epoch).
        if (bar && since(last_bar) >= bar_every) {
          last_bar = Clock::now();
          const int width = 30, filled = static_cast<int>(width * b / steps_per_epoch);
          std::fprintf(stderr, "\r  epoch %lld/%lld [%s%s] step %lld/%lld  %.0fs\033[K", static_cast<long long>(epoch),
                       static_cast<long long>(epochs), std::string(static_cast<size_t>(filled), '#').c_str(),
                       std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<long long>(b),
                       static_cast<long long>(steps_per_epoch), since(t_epoch));
          std::fflush(stderr);
          bar_shown = true;
        }
        if (fail.first == comm.rank() && fail.second == epoch && b == steps_per_epoch / 2)
          throw Error("injected failure on group rank " + std::to_string(comm.rank()) + " at epoch " +
                          std::to_string(epoch) + " (TRAINFLEET_FAIL_AT)",
                      __FILE__, __LINE__);
        int64_t g0 = b * batch, gn = std::min(batch, n_train - g0);
        auto [lo, hi] = shard(gn, comm.rank(), comm.size());
        int64_t m = hi - lo;
        double lr = schedule_lr(sched, step) * scale;
        set_lr(*opt, lr);
        for (auto& p : params) p.mutable_grad() = torch::Tensor();
        torch::Tensor batch_loss;
        if (m > 0) {
          idx_buf.resize(static_cast<size_t>(m));
          for (int64_t k = 0; k < m; ++k) idx_buf[k] = local[static_cast<size_t>(perm[g0 + lo + k])];
          auto idx = torch::from_blob(idx_buf.data(), {m}, torch::kInt64).to(device);
          auto x = x_all.index_select(0, idx);
          auto y = y_all.index_select(0, idx);
          auto logits = model->forward(x.transpose(1, 2));
          auto l = loss->forward(logits, y);
          l.backward();
          batch_loss = l.detach();
          loss_sum += l.detach().to(torch::kFloat64) * m;
          preds.push_back(logits.detach().argmax(1));
          truths.push_back(y);
        }
        sync->average(params, static_cast<double>(m) / static_cast<double>(gn));
        clip_gradients(params, clip);
        opt->step();
        ++step;
        if (step_every > 0 && step % step_every == 0) {
          const double bl = batch_loss.defined() ? batch_loss.item<double>() : NAN;  // this rank's share
          for (auto* cb : all_cbs)
            if (cb->step_interval() > 0 && step % cb->step_interval() == 0) cb->on_step_end(step, bl, lr, *this);
        }
        if (b + 1 < steps_per_epoch) maybe_raise(epoch, b + 1);
        if (b + 1 < steps_per_epoch && agreed_stop()) {  // a signal: checkpoint mid-epoch and stop
          ResumePoint at;
          at.epoch = epoch;
          at.batch = b + 1;
          at.cm = epoch_cm().as_doubles();
          at.cm.push_back(loss_sum.item<double>());
          comm.allreduce_sum(at.cm.data(), at.cm.size());
          at.loss_sum = at.cm.back();
          at.cm.pop_back();
          save_resume(run_dir, at, result, all_cbs);
          preempted(run_dir, at);
        }
      }
      if (bar_shown) {
        std::fprintf(stderr, "\r\033[K");  // the epoch's log line takes the bar's place
        std::fflush(stderr);
      }
      // Epoch statistics, reduced over the group.
      ConfusionMatrix cm = epoch_cm();
      std::vector<double> buf = cm.as_doubles();
      buf.push_back(loss_sum.item<double>());
      comm.allreduce_sum(buf.data(), buf.size());
      double train_loss = buf.back() / n_train;
      buf.pop_back();
      cm = ConfusionMatrix::from_doubles(buf, info.classes);
      double train_seconds = since(t_epoch);
      EpochLogs logs;
      logs.epoch = static_cast<int>(epoch);
      logs.epochs = static_cast<int>(epochs);
      logs.values["loss"] = train_loss;
      for (const auto& m : metrics) logs.values[m] = cm.metric(m, no_leak);
      if (val) {
        EvalResult v = evaluate(*val);
        logs.values["val_loss"] = v.loss;
        for (const auto& m : metrics) logs.values["val_" + m] = v.cm.metric(m, no_leak);
      }
      TF_CHECK_INPUT(std::isfinite(train_loss), "training diverged: the loss is " + std::to_string(train_loss) +
                                                    " at epoch " + std::to_string(epoch) +
                                                    " (lower training.learning_rate?)");
      logs.lr = get_lr(*opt);
      logs.seconds = since(t_epoch);
      logs.samples_per_s = n_train / train_seconds;
      logs.elapsed = since(t_fit);
      for (auto* cb : all_cbs) cb->on_epoch_end(logs, *this);
      result.history.push_back(logs.values);
      result.epochs_run = static_cast<int>(epoch);
      maybe_raise(epoch, 0);
      const bool stopping = agreed_stop();
      ResumePoint next;
      next.epoch = epoch + 1;
      // Periodic checkpoints at most every resume_gap seconds (short runs, such
      // as most tuning trials, write none unless stopped by a signal). No
      // collective inside: only rank 0 writes, so ranks may decide apart.
      const bool periodic = resume_every > 0 && epoch % resume_every == 0 && epoch < epochs && !stop &&
                            since(last_resume) >= resume_gap;
      if (stopping || periodic) {
        save_resume(run_dir, next, result, all_cbs);
        last_resume = Clock::now();
      }
      if (stopping) preempted(run_dir, next);
    }
    for (auto* cb : all_cbs) cb->on_train_end(*this);
    result.stopped_early = stop;
    if (cbs.early_stopping) result.best_epoch = cbs.early_stopping->best_epoch();
    else if (cbs.checkpoint) result.best_epoch = cbs.checkpoint->best_epoch();
    result.seconds = since(t_fit);
    return result;
  }

  std::vector<float> predict_proba(const Dataset& d) {
    auto [begin, end] = shard(d.n, comm.rank(), comm.size());
    model->eval();
    torch::NoGradGuard ng;
    auto [x_all, y_all] = tensors(d);
    const int64_t bs = std::max<int64_t>(cfg.get_int("training.batch_size"), 256);
    const int64_t k = info.classes;
    // Every rank contributes an equal-sized block (padded) to one allgather.
    int64_t max_rows = (d.n + comm.size() - 1) / comm.size() + 1;
    std::vector<float> mine(static_cast<size_t>(max_rows * k), 0.f);
    for (int64_t b = begin; b < end; b += bs) {
      int64_t m = std::min(bs, end - b);
      auto pr = torch::softmax(model->forward(x_all.narrow(0, b, m).transpose(1, 2)), 1).to(torch::kCPU).contiguous();
      std::memcpy(mine.data() + (b - begin) * k, pr.data_ptr<float>(), sizeof(float) * m * k);
    }
    std::vector<float> all(mine.size() * comm.size());
    comm.allgather(mine.data(), all.data(), mine.size() * sizeof(float));
    std::vector<float> out(static_cast<size_t>(d.n * k));
    for (int r = 0; r < comm.size(); ++r) {
      auto [rb, re] = shard(d.n, r, comm.size());
      std::memcpy(out.data() + rb * k, all.data() + r * mine.size(), sizeof(float) * (re - rb) * k);
    }
    return out;
  }
};

Trainer::Trainer(const config::Config& cfg, Communicator& comm, const ModelInfo& info)
    : impl_(std::make_unique<Impl>(cfg, comm, info)) {}
Trainer::~Trainer() = default;

FitResult Trainer::fit(const Dataset& train, const Dataset* val, const std::filesystem::path& run_dir,
                       const std::vector<Callback*>& extra) {
  return impl_->fit(MemoryRows(train), val, run_dir, extra);
}
FitResult Trainer::fit(const RowSource& train, const Dataset* val, const std::filesystem::path& run_dir,
                       const std::vector<Callback*>& extra) {
  return impl_->fit(train, val, run_dir, extra);
}
void Trainer::validate_fit(bool has_validation) const { impl_->validate_fit(has_validation); }
EvalResult Trainer::evaluate(const Dataset& d) { return impl_->evaluate(d); }
std::vector<float> Trainer::predict_proba(const Dataset& d) { return impl_->predict_proba(d); }
void Trainer::save_weights(const std::filesystem::path& path) { impl_->save_weights(path); }
void Trainer::save_optimizer(const std::filesystem::path& path) { tf::save_optimizer(*impl_->opt, path.string()); }

void Trainer::load_weights(const std::filesystem::path& path) {
  TF_CHECK_INPUT(fs::exists(path), "weights file " + path.string() + " does not exist");
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path.string(), impl_->device);
    impl_->model->load(ar);
  } catch (const c10::Error& e) {
    throw BadInput(path.string() + ": cannot load weights (does the config match the model?): " +
                       std::string(e.what_without_backtrace()),
                   __FILE__, __LINE__);
  }
}

std::vector<float> Trainer::flat_state() const {
  std::vector<float> out;
  for (auto& t : impl_->state()) {
    auto c = t.detach().to(torch::kCPU).to(torch::kFloat32).contiguous().view(-1);
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

int64_t Trainer::parameter_count() const { return tf::parameter_count(*impl_->model); }

}  // namespace tf
