// The training loop: data-parallel steps, epoch statistics, callbacks, stop
// signals and resume checkpoints.
#include <unistd.h>

#include <csignal>
#include <numeric>
#include <random>

#include "train/trainer_impl.h"

namespace tf {

using trainer_detail::fail_at;
using trainer_detail::signal_at;

FitResult Trainer::Impl::fit(const RowSource& source, const Dataset* val, const std::filesystem::path& run_dir,
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

}  // namespace tf
