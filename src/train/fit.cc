// The training loop: data-parallel steps, epoch statistics, callbacks, stop
// signals and resume checkpoints. Sharding and reading of the rows live in
// epoch_rows.cc, the progress bar and the epoch statistics in fit_parts.cc.
#include <chrono>
#include <csignal>
#include <numeric>
#include <random>
#include <thread>

#include "train/epoch_rows.h"
#include "train/fit_parts.h"
#include "train/trainer_impl.h"
#include "jobs/fault.h"

namespace tf {

using trainer_detail::signal_at;

namespace {

// One fit: its settings, its callbacks, and where it resumed from.
struct FitLoop {
  Trainer::Impl& t;
  const std::filesystem::path& run_dir;
  EpochRows rows;
  std::optional<EvalRows> val;
  int64_t n_train, epochs, batch;
  double clip;
  uint64_t seed;
  std::vector<std::string> metrics;
  CallbackSet cbs;
  std::vector<Callback*> all_cbs;
  int64_t step_every = 0;  // the finest step interval a callback asks for
  const int64_t fail_epoch = jobs::injected_fault_epoch(t.comm.rank());  // test hooks (jobs/fault.h)
  const int64_t slow_ms = jobs::injected_epoch_delay_ms();
  std::pair<int64_t, int64_t> sig_at = signal_at();
  FitResult result;
  Clock::time_point t_fit = Clock::now(), last_resume = Clock::now();
  ResumePoint start;
  std::vector<int64_t> perm;

  FitLoop(Trainer::Impl& tr, const RowSource& source, const RowSource* v, const std::filesystem::path& dir)
      : t(tr),
        run_dir(dir),
        rows(source, tr.comm.rank(), tr.comm.size(), tr.cfg.get_int("training.batch_size"), tr.device),
        n_train(source.size()),
        epochs(tr.cfg.get_int("training.epochs")),
        batch(tr.cfg.get_int("training.batch_size")),
        clip(tr.cfg.get_float("training.optimizer_config.clipnorm")),
        seed(static_cast<uint64_t>(tr.cfg.get_int("experiment.seed"))),
        cbs(make_callbacks(tr.cfg, dir)),
        perm(static_cast<size_t>(source.size())) {
    if (v) val.emplace(t.eval_rows(*v));  // in memory: tensors built once per fit
    for (const auto& m : t.cfg.at("training.metrics")) metrics.push_back(m.get<std::string>());
    for (auto& cb : cbs.all) all_cbs.push_back(cb.get());
  }

  void maybe_raise(int64_t epoch, int64_t done) const {
    if (sig_at.first == epoch && sig_at.second == done && t.comm.rank() == 0) ::raise(SIGUSR1);
  }

  // One optimizer step on this rank's rows of global step b.
  void train_step(int64_t epoch, int64_t b, EpochStats& stats) {
    if (epoch == fail_epoch && b == rows.steps() / 2) jobs::throw_injected_fault("halfway through an epoch");
    if (slow_ms > 0 && b == 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
    const EpochRows::Share s = rows.share(b);
    const int64_t m = s.hi - s.lo;
    double lr = schedule_lr(t.sched, t.step) * t.scale;
    set_lr(*t.opt, lr);
    for (auto& p : t.params) p.mutable_grad() = torch::Tensor();
    torch::Tensor batch_loss;
    if (m > 0) {
      auto [x, y] = rows.step(b);
      auto logits = t.model->forward(x.transpose(1, 2));
      auto l = t.loss->forward(logits, y);
      l.backward();
      batch_loss = l.detach();
      stats.add(logits, y, l.detach(), m);
    }
    t.sync->average(t.params, static_cast<double>(m) / static_cast<double>(s.gn));
    clip_gradients(t.params, clip);
    t.opt->step();
    ++t.step;
    if (step_every > 0 && t.step % step_every == 0) {
      const double bl = batch_loss.defined() ? batch_loss.item<double>() : NAN;  // this rank's share
      for (auto* cb : all_cbs)
        if (cb->step_interval() > 0 && t.step % cb->step_interval() == 0) cb->on_step_end(t.step, bl, lr, t);
    }
  }

  // A signal within the epoch: checkpoint after step b and stop (collective).
  [[noreturn]] void stop_mid_epoch(int64_t epoch, int64_t b, const EpochStats& stats) {
    ResumePoint at;
    at.epoch = epoch;
    at.batch = b + 1;
    ConfusionMatrix cm;
    stats.reduce(t.comm, &cm, &at.loss_sum);
    at.cm = cm.as_doubles();
    t.save_resume(run_dir, at, result, all_cbs);
    t.preempted(run_dir, at);
  }

  // The epoch's log values: training statistics, then validation.
  EpochLogs epoch_logs(int64_t epoch, const EpochStats& stats, Clock::time_point t_epoch) {
    ConfusionMatrix cm;
    double loss_sum = 0;
    stats.reduce(t.comm, &cm, &loss_sum);
    const double train_loss = loss_sum / n_train, train_seconds = since(t_epoch);
    EpochLogs logs;
    logs.epoch = static_cast<int>(epoch);
    logs.epochs = static_cast<int>(epochs);
    logs.values["loss"] = train_loss;
    for (const auto& m : metrics) logs.values[m] = cm.metric(m, t.no_leak);
    if (val) {
      EvalResult v = t.evaluate(*val);
      logs.values["val_loss"] = v.loss;
      for (const auto& m : metrics) logs.values["val_" + m] = v.cm.metric(m, t.no_leak);
    }
    TF_CHECK_INPUT(std::isfinite(train_loss), "training diverged: the loss is " + std::to_string(train_loss) +
                                                  " at epoch " + std::to_string(epoch) +
                                                  " (lower training.learning_rate?)");
    logs.lr = get_lr(*t.opt);
    logs.seconds = since(t_epoch);
    logs.samples_per_s = n_train / train_seconds;
    logs.elapsed = since(t_fit);
    return logs;
  }

  // After the epoch's callbacks: a checkpoint when stopping or when one is
  // due (at most every runtime.resume_min_interval_s; short runs, such as
  // most tuning trials, write none unless stopped by a signal). No collective
  // inside the periodic decision: only rank 0 writes, so ranks may decide apart.
  void end_of_epoch_checkpoint(int64_t epoch) {
    maybe_raise(epoch, 0);
    const bool stopping = t.agreed_stop();
    ResumePoint next;
    next.epoch = epoch + 1;
    const int64_t every = t.cfg.get_int("runtime.resume_every_epochs");
    const bool periodic = every > 0 && epoch % every == 0 && epoch < epochs && !t.stop &&
                          since(last_resume) >= t.cfg.get_float("runtime.resume_min_interval_s");
    if (stopping || periodic) {
      t.save_resume(run_dir, next, result, all_cbs);
      last_resume = Clock::now();
    }
    if (stopping) t.preempted(run_dir, next);
  }

  void run_epoch(int64_t epoch, ProgressBar& bar) {
    const bool partial = epoch == start.epoch && start.batch > 0;
    auto t_epoch = Clock::now();
    t.model->train();
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
    std::shuffle(perm.begin(), perm.end(), rng);
    const int64_t first = partial ? start.batch : 0;
    rows.begin_epoch(perm, first, epoch);
    EpochStats stats(t.info.classes, t.device, partial ? &start : nullptr, t.comm.rank() == 0);
    bar.start_epoch(epoch);
    for (int64_t b = first; b < rows.steps(); ++b) {
      bar.update(b);
      train_step(epoch, b, stats);
      if (b + 1 < rows.steps()) maybe_raise(epoch, b + 1);
      if (b + 1 < rows.steps() && t.agreed_stop()) stop_mid_epoch(epoch, b, stats);
    }
    const double waited = rows.end_epoch();
    if (rows.streamed()) spdlog::debug("epoch {}: training waited {:.3f}s for the reader", epoch, waited);
    bar.finish_epoch();
    EpochLogs logs = epoch_logs(epoch, stats, t_epoch);
    for (auto* cb : all_cbs) cb->on_epoch_end(logs, t);
    result.history.push_back(logs.values);
    result.epochs_run = static_cast<int>(epoch);
    end_of_epoch_checkpoint(epoch);
  }
};

}  // namespace

FitResult Trainer::Impl::fit(const RowSource& source, const RowSource* val, const std::filesystem::path& run_dir,
                             const std::vector<Callback*>& extra) {
  TF_CHECK_INPUT(source.size() > 0, "no training rows");
  validate_fit(val != nullptr);
  FitLoop loop(*this, source, val, run_dir);
  if (sched.total_steps == 0) sched.total_steps = loop.epochs * loop.rows.steps();
  // Dropout draws from LibTorch's global generator: reseed it so a fit
  // depends on the seed alone, not on what ran before in this process.
  torch::manual_seed(loop.seed + 1);
  loop.all_cbs.insert(loop.all_cbs.end(), extra.begin(), extra.end());
  for (auto* cb : loop.all_cbs) {
    const int64_t k = cb->step_interval();
    if (k > 0) loop.step_every = loop.step_every ? std::min(loop.step_every, k) : k;
  }
  for (auto* cb : loop.all_cbs) cb->on_train_begin(*this);
  const std::optional<ResumePoint> resumed = load_resume(run_dir, loop.result, loop.all_cbs);
  if (resumed) loop.start = *resumed;
  loop.last_resume = Clock::now();  // the fit's start counts as the last checkpoint
  ProgressBar bar(comm.rank() == 0, loop.epochs, loop.rows.steps());
  for (int64_t epoch = loop.start.epoch; epoch <= loop.epochs && !stop; ++epoch) loop.run_epoch(epoch, bar);
  for (auto* cb : loop.all_cbs) cb->on_train_end(*this);
  FitResult& result = loop.result;
  result.stopped_early = stop;
  if (loop.cbs.early_stopping) result.best_epoch = loop.cbs.early_stopping->best_epoch();
  else if (loop.cbs.checkpoint) result.best_epoch = loop.cbs.checkpoint->best_epoch();
  result.seconds = since(loop.t_fit);
  return result;
}

}  // namespace tf
