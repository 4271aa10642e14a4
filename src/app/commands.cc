#include "app/commands.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "app/checks.h"
#include "app/report.h"
#include "app/runtime.h"
#include "comm/communicator.h"
#include "config/apply.h"
#include "config/config.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/fs.h"
#include "jobs/run_folder.h"
#include "jobs/same_program.h"
#include "core/log.h"
#include "compare/compare.h"
#include "cv/runner.h"
#include "tune/nested.h"
#include "tune/space.h"
#include "tune/study.h"
#include "data/h5io.h"
#include "data/synth.h"
#include "train/run.h"

namespace tf {

void Commands::add_to(CLI::App& app) {
  add_run_commands(app);
  add_job_commands(app);
  add_inspect_commands(app);
}

// train, evaluate, predict, make-data.
void Commands::add_run_commands(CLI::App& app) {
  train_ = app.add_subcommand("train",
                              "Train models from YAML/JSON configs; with several configs and rank groups, "
                              "the groups train them at the same time");
  train_->add_option("config", config_paths_, "Config file(s) (YAML or JSON)")->required();
  train_->add_option("--ranks-per-run", ranks_per_run_,
                     "Ranks per training run; the world splits into world/N groups (overrides runtime.ranks_per_run)");
  train_->add_option("--set", overrides_, "Override a config key: --set training.epochs=5 (repeatable)");
  train_->add_option("--threads", threads_, "Intra-op threads per rank (overrides runtime.threads)");

  evaluate_ = app.add_subcommand("evaluate", "Evaluate a finished run on a data file");
  evaluate_->add_option("run_dir", run_dir_, "Run folder written by 'trainfleet train'")->required();
  evaluate_->add_option("--data", data_path_, "HDF5 file with /X and /y")->required();
  evaluate_->add_option("--out", out_path_, "Also write the metrics as JSON to this new file");
  evaluate_->add_option("--threads", threads_, "Intra-op threads");

  predict_ = app.add_subcommand("predict", "Predict classes for a data file with a finished run");
  predict_->add_option("run_dir", run_dir_, "Run folder written by 'trainfleet train'")->required();
  predict_->add_option("--data", data_path_, "HDF5 file with /X (and optionally /y)")->required();
  predict_->add_option("--out", out_path_, "New output file: .h5 (/pred, /proba) or .csv")->required();
  predict_->add_option("--threads", threads_, "Intra-op threads");

  make_data_ = app.add_subcommand("make-data", "Write the synthetic air-leak data set (the default data)");
  make_data_->add_option("--out", data_out_, "Output HDF5 file")->default_val("data/airleak.h5");
  make_data_->add_option("--samples", samples_, "Number of windows")->default_val(3000);
  make_data_->add_option("--steps", steps_, "Steps per window")->default_val(1024);
  make_data_->add_option("--sites", sites_, "Number of sites (groups)")->default_val(12);
  make_data_->add_option("--seed", seed_, "Random seed")->default_val(7);
  make_data_->add_option("--chunk-rows", chunk_rows_, "Windows per HDF5 chunk of /X (0: contiguous)")
      ->default_val(1);
  make_data_->add_option("--gzip", gzip_, "gzip level of /X, 0-9 (0: none; needs --chunk-rows > 0)")->default_val(0);
  make_data_->add_flag("--if-missing", if_missing_, "Do nothing when the output file exists already");
}

// cv, tune, compare: jobs over rank groups.
void Commands::add_job_commands(CLI::App& app) {
  cv_ = app.add_subcommand("cv",
                           "Cross-validate a config: folds run in parallel on rank groups, each fold data-parallel "
                           "inside its group; rerunning the same command resumes");
  // The options every job over rank groups takes.
  auto job_options = [&](CLI::App* sub, const char* config_help, const char* unit) {
    sub->add_option("config", config_paths_, config_help)->expected(1);
    sub->add_option("--set", overrides_, "Override a config key: --set training.epochs=5 (repeatable)");
    sub->add_option("--ranks-per-run", ranks_per_run_,
                    std::string("Ranks per ") + unit + "'s training run (overrides runtime.ranks_per_run)");
    sub->add_option("--threads", threads_, "Intra-op threads per rank (overrides runtime.threads)");
  };
  job_options(cv_, "Config file (YAML or JSON)", "fold");
  cv_->get_option("config")->required();
  cv_->add_option("--cv-method", cv_method_, "Splitter (cv.method), e.g. stratified_kfold, group_kfold");
  cv_->add_option("--n-splits", n_splits_, "Number of folds (cv.n_splits)");
  cv_->add_option("--scoring", scoring_, "Comma-separated metrics (cv.scoring), e.g. accuracy,f1_macro");
  cv_->add_option("--tasks", cv_tasks_,
                  "Run only these tasks (folds, by index from 0; e.g. $SLURM_ARRAY_TASK_ID) and skip the "
                  "aggregation; a later plain `cv` run aggregates")
      ->delimiter(',');

  tune_ = app.add_subcommand("tune",
                             "Tune hyperparameters: trials run in parallel on rank groups, each trial data-parallel "
                             "inside its group; rerunning the same command resumes the study");
  job_options(tune_, "Config file with a tuning: section", "trial");
  tune_->get_option("config")->expected(0, 1);
  tune_->add_flag("--retrain-best", retrain_best_,
                  "After the study, train the best trial's config on all training data (into <study>/retrain/)");
  tune_->add_option("--suggest-space", suggest_model_,
                    "Print the suggested search space of a model (mlp, cnn1d, lstm, svm, random_forest, "
                    "gradient_boosting)");

  compare_ = app.add_subcommand("compare",
                                "Compare models (neural, classical, ensembles) on the same CV folds: ranking and "
                                "pairwise corrected t-tests; rerunning the same command resumes");
  job_options(compare_, "Config file with a compare: section", "fold");
  compare_->get_option("config")->required();
}

// report, study show, config.
void Commands::add_inspect_commands(CLI::App& app) {
  report_ = app.add_subcommand("report",
                               "Write RUN_DIR/report.html: one self-contained page with the plots of a training run, "
                               "CV, study or comparison");
  report_->add_option("run_dir", run_dir_, "A run, CV, study or compare folder")->required();

  study_ = app.add_subcommand("study", "Inspect a tuning study");
  study_show_ = study_->add_subcommand("show", "Print the trials table, the best trial and parameter importances");
  study_show_->add_option("run_dir", run_dir_, "Study folder")->required();
  study_->require_subcommand(1);

  config_ = app.add_subcommand("config", "Print the config schema's defaults or check a config");
  auto* group = config_->add_option_group("action");
  group->add_flag("--print-defaults", print_defaults_, "Print every key with its default as YAML");
  group->add_flag("--print-reference", print_reference_, "Print the configuration reference (Markdown)");
  group->add_option("--check", check_path_, "Validate a config file and print it resolved");
  group->add_option("--print-run-dir", run_dir_of_,
                    "Print the folder that `cv` or `tune` uses for a config: --print-run-dir tune CONFIG")
      ->expected(2);
  group->require_option(1);
  config_->add_option("--set", overrides_, "Override a config key (with --check or --print-run-dir)");
}

int Commands::run(World& world) {
  setup_logging(world.comm.rank(), world.comm.rank() != 0);
  if (train_->parsed()) return train(world);
  if (evaluate_->parsed()) return evaluate(world);
  if (predict_->parsed()) return predict(world);
  if (make_data_->parsed()) return make_data(world);
  if (config_->parsed()) return config(world);
  if (cv_->parsed()) return cv(world);
  if (compare_->parsed()) return compare(world);
  if (report_->parsed()) return report(world);
  if (tune_->parsed()) return tune(world);
  if (study_->parsed()) return study(world);
  return kExitBadInput;
}

namespace {
// Trains one config on `comm`: the run folder (jobs::TrainFolder) is opened
// and locked on the first rank once the config has passed every check. A
// stop says what a rerun of the same command will do.
void train_config(const config::Config& cfg, Communicator& comm) {
  std::unique_ptr<jobs::TrainFolder> folder;
  try {
    run_train(cfg, comm, [&] {
      folder = std::make_unique<jobs::TrainFolder>(cfg);
      if (folder->resuming()) spdlog::info("continuing the run in {} from its resume checkpoint", folder->dir().string());
      return folder->dir();
    });
  } catch (const Preempted& e) {
    if (!folder) throw;
    throw Preempted(std::string(e.what()) + "; " + jobs::train_rerun_hint(cfg, folder->dir()), __FILE__, __LINE__);
  }
}
}  // namespace

int Commands::train(World& world) {
  // Every config is read and checked on every rank before any training starts.
  std::vector<config::Config> cfgs;
  for (const auto& p : config_paths_) cfgs.push_back(config::Config::load(p, overrides_));
  const auto& first = cfgs.front();
  Groups g = make_groups(world, cfgs, "train");
  if (world.comm.rank() == 0)
    spdlog::info("trainfleet train: {} rank(s) as {} group(s) of {}, {} thread(s) per rank, {} config(s), {} backend",
                 world.comm.size(), g.count, g.per_run, g.threads, cfgs.size(), world.comm.backend());
  if (static_cast<int>(cfgs.size()) < g.count && world.comm.rank() == 0)
    spdlog::warn("{} group(s) but only {} config(s): {} group(s) stay idle", g.count, cfgs.size(), g.count - cfgs.size());
  jobs::WorkQueue queue(g.job(world, first, "config"));
  auto counter = world.comm.make_counter();
  queue.run({[&] {
               const int64_t i = jobs::next_index(*counter, static_cast<int64_t>(cfgs.size()), {});
               if (i >= 0 && cfgs.size() > 1) spdlog::info("group {} trains {}", g.id, config_paths_[static_cast<size_t>(i)]);
               return i < 0 ? std::string() : std::to_string(i);
             },
             [&](Communicator& work, const std::string& i) { train_config(cfgs[std::stoul(i)], work); },
             {},
             {}});
  queue.finish();  // before the counter is freed: freeing it is collective over the world
  counter.reset();
  return kExitOk;
}

jobs::Job Commands::Groups::job(World& world, const config::Config& cfg, const std::string& unit) const {
  return jobs::Job{world.comm, *group, id, count, cfg.get_float("runtime.collective_timeout_s"), unit};
}

Commands::Groups Commands::make_groups(World& world, const std::vector<config::Config>& cfgs, const char* command) {
  std::string resolved = command;
  for (const auto& c : cfgs) resolved += "\n" + c.to_yaml();
  jobs::check_same_program(world.comm, world.args, resolved);
  for (const auto& c : cfgs) jobs::check_names(c);
  const config::Config& first = cfgs.front();
  const double timeout = first.get_float("runtime.collective_timeout_s");
  world.comm.set_timeout(timeout);
  int per_run = ranks_per_run_ >= 0 ? ranks_per_run_ : static_cast<int>(first.get_int("runtime.ranks_per_run"));
  const int size = world.comm.size();
  if (per_run == 0) per_run = size;
  TF_CHECK_INPUT(per_run >= 1 && per_run <= size && size % per_run == 0,
                 "--ranks-per-run / runtime.ranks_per_run: " + std::to_string(per_run) + " does not divide the " +
                     std::to_string(size) + " ranks of this job into equal groups");
  Groups g;
  g.per_run = per_run;
  g.count = size / per_run;
  g.id = world.comm.rank() / per_run;
  g.group = world.comm.split(g.id, world.comm.rank());
  g.group->set_timeout(timeout);
  setup_logging(world.comm.rank(), g.group->rank() != 0, first.get_string("runtime.log_level"));
  g.threads = configure_threads(threads_ > 0 ? threads_ : static_cast<int>(first.get_int("runtime.threads")),
                                world.local_ranks);
  log_placement(world.comm, world.local_rank, world.local_ranks, g.id, g.threads);
  return g;
}

int Commands::cv(World& world) {
  std::vector<std::string> sets = overrides_;
  if (!cv_method_.empty()) sets.push_back("cv.method=" + cv_method_);
  if (n_splits_ > 0) sets.push_back("cv.n_splits=" + std::to_string(n_splits_));
  if (!scoring_.empty()) sets.push_back("cv.scoring=[" + scoring_ + "]");
  auto cfg = config::Config::load(config_paths_.front(), sets);
  Groups g = make_groups(world, {cfg}, "cv");
  if (world.comm.rank() == 0)
    spdlog::info("trainfleet cv: {} rank(s) as {} group(s) of {}, {} thread(s) per rank", world.comm.size(), g.count,
                 g.per_run, g.threads);
  nlohmann::json results;
  if (tune::is_nested_tuning(cfg)) {
    TF_CHECK_INPUT(cv_tasks_.empty(), "--tasks: not available for nested CV with tuning (cv.nested with a tuning.space)");
    results = tune::run_nested_cv(cfg, g.job(world, cfg, "task"));
  } else {
    results = cv::run_cv(cfg, g.job(world, cfg, "task"), cv_tasks_);
  }
  if (!cv_tasks_.empty()) return kExitOk;
  if (world.comm.rank() == 0) {
    std::cout << cv::results_table(results) << "\n";
    spdlog::info("results: {}", (fs::path(results["run_dir"].get<std::string>()) / "cv_results.json").string());
  }
  return kExitOk;
}

int Commands::compare(World& world) {
  auto cfg = config::Config::load(config_paths_.front(), overrides_);
  Groups g = make_groups(world, {cfg}, "compare");
  if (world.comm.rank() == 0)
    spdlog::info("trainfleet compare: {} rank(s) as {} group(s) of {}, {} thread(s) per rank", world.comm.size(),
                 g.count, g.per_run, g.threads);
  auto result = compare::run_compare(cfg, g.job(world, cfg, "fold"));
  if (world.comm.rank() == 0) {
    std::cout << compare::compare_table(result);
    spdlog::info("results: {}", (fs::path(result["run_dir"].get<std::string>()) / "compare.json").string());
  }
  return kExitOk;
}

int Commands::report(World& world) {
  if (world.comm.rank() != 0) return kExitOk;
  spdlog::info("wrote {}", write_report(run_dir_).string());
  return kExitOk;
}

int Commands::tune(World& world) {
  if (!suggest_model_.empty()) {
    if (world.comm.rank() == 0)
      std::cout << config::to_yaml(nlohmann::json{{"tuning", {{"space", tune::suggest_space(suggest_model_)}}}});
    return kExitOk;
  }
  TF_CHECK_INPUT(!config_paths_.empty(), "tune: give a config file (or --suggest-space MODEL)");
  auto cfg = config::Config::load(config_paths_.front(), overrides_);
  Groups g = make_groups(world, {cfg}, "tune");
  if (world.comm.rank() == 0)
    spdlog::info("trainfleet tune: {} rank(s) as {} group(s) of {}, {} thread(s) per rank", world.comm.size(), g.count,
                 g.per_run, g.threads);
  auto summary = tune::run_study(cfg, g.job(world, cfg, "trial"));
  std::string dir = world.comm.rank() == 0 ? summary["study"].get<std::string>() : std::string();
  if (world.comm.rank() == 0) {
    std::cout << tune::show_text(dir, summary);
    spdlog::info("study: {}", dir);
  }
  if (retrain_best_) {
    dir = broadcast_string(world.comm, dir);
    std::string best = broadcast_string(
        world.comm, world.comm.rank() == 0 && summary.contains("best") ? summary["best"]["params"].dump() : "");
    TF_CHECK_INPUT(!best.empty(), "--retrain-best: the study has no completed trial");
    auto params = nlohmann::json::parse(best);
    params["experiment.output_dir"] = dir;
    params["experiment.name"] = "retrain";
    params["experiment.run_id"] = "";
    auto best_cfg = config::apply(cfg, params);
    if (world.comm.rank() == 0) spdlog::info("retraining the best trial's config: {}", best);
    train_config(best_cfg, world.comm);
  }
  return kExitOk;
}

int Commands::study(World& world) {
  if (world.comm.rank() != 0) return kExitOk;
  std::cout << tune::show(run_dir_);
  return kExitOk;
}

int Commands::evaluate(World& world) {
  if (!out_path_.empty())
    TF_CHECK_INPUT(!fs::exists(out_path_), "--out " + out_path_ + " exists already; refusing to overwrite it");
  configure_threads(threads_, world.local_ranks);
  auto j = run_evaluate(run_dir_, data_path_, world.comm);
  if (world.comm.rank() != 0) return kExitOk;
  std::cout << metrics_table(j) << "\n";
  if (!out_path_.empty()) atomic_write(out_path_, j.dump(2) + "\n");
  return kExitOk;
}

int Commands::predict(World& world) {
  configure_threads(threads_, world.local_ranks);
  run_predict(run_dir_, data_path_, out_path_, world.comm);
  return kExitOk;
}

int Commands::make_data(World& world) {
  if (world.comm.rank() != 0) return kExitOk;
  if (if_missing_ && fs::exists(data_out_)) {
    spdlog::info("{} exists already; leaving it as it is", data_out_);
    return kExitOk;
  }
  SynthOptions opt;
  opt.samples = samples_;
  opt.steps = steps_;
  opt.sites = sites_;
  opt.seed = seed_;
  const auto counts = write_airleak_h5(data_out_, opt, H5Layout{static_cast<int64_t>(chunk_rows_), gzip_});
  spdlog::info("wrote {} windows [{} steps x {} channels] to {} (class counts {} / {} / {} / {})", opt.samples,
               opt.steps, opt.channels, data_out_, counts[0], counts[1], counts[2], counts[3]);
  return kExitOk;
}

int Commands::config(World& world) {
  if (world.comm.rank() != 0) return kExitOk;
  if (print_defaults_) {
    std::cout << config::Config::defaults().to_yaml();
  } else if (print_reference_) {
    std::cout << config::reference_markdown();
  } else if (!run_dir_of_.empty()) {
    const std::string& kind = run_dir_of_[0];
    TF_CHECK_INPUT(kind == "cv" || kind == "tune", "--print-run-dir " + kind + ": expected cv or tune");
    auto cfg = config::Config::load(run_dir_of_[1], overrides_);
    std::cout << (kind == "cv" ? cv::cv_run_dir(cfg) : tune::study_dir(cfg)).string() << "\n";
  } else {
    auto cfg = config::Config::load(check_path_, overrides_);
    check_command_inputs(cfg);
    std::cout << cfg.to_yaml();
    spdlog::info("{}: valid", check_path_);
  }
  return kExitOk;
}

}  // namespace tf
