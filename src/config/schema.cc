#include "config/schema.h"

#include "config/aliases.h"

#include <cmath>
#include <sstream>

namespace tf::config {

namespace {

using nlohmann::json;

const double kNoMax = std::numeric_limits<double>::infinity();

KeySpec key(std::string path, Type t, json def, std::string doc) {
  KeySpec k;
  k.path = std::move(path);
  k.type = t;
  k.def = std::move(def);
  k.doc = std::move(doc);
  return k;
}
KeySpec range(KeySpec k, double lo, double hi, bool lo_excl = false, bool hi_excl = false) {
  k.min = lo;
  k.max = hi;
  k.min_exclusive = lo_excl;
  k.max_exclusive = hi_excl;
  return k;
}
KeySpec choice(KeySpec k, std::vector<std::string> c) {
  k.choices = std::move(c);
  return k;
}

// shape: table (every key of the schema, with its type, default and help)
std::vector<KeySpec> build() {
  using T = Type;
  const std::vector<std::string> modes = {"auto", "min", "max"};
  std::vector<KeySpec> s = {
      // ---------------------------------------------------------------- experiment
      key("experiment.name", T::kString, "default", "Experiment name: runs go to <output_dir>/<name>/<run id>/."),
      key("experiment.output_dir", T::kString, "runs", "Root folder for run folders."),
      key("experiment.run_id", T::kString, "",
          "Run folder name; empty means a UTC timestamp. An existing folder is never reused."),
      range(key("experiment.seed", T::kInt, 42, "Seed for weights, shuffling, splits and dropout."), 0, 4294967295.0),
      // ---------------------------------------------------------------- data
      key("data.path", T::kString, "data/airleak.h5",
          "HDF5 file with /X float32 [N,T,C], /y int [N], optional /groups, /time, attribute class_names."),
      key("data.val_path", T::kString, "", "Optional separate validation file (else validation_split is used)."),
      key("data.test_path", T::kString, "", "Optional separate held-out test file (else test_split is used)."),
      range(key("data.test_split", T::kFloat, 0.2, "Fraction of rows held out for the final test (stratified, seeded)."),
            0, 1, false, true),
      range(key("data.validation_split", T::kFloat, 0.15,
                "Fraction of the remaining training rows used for validation (stratified, seeded)."),
            0, 1, false, true),
      key("data.normalize", T::kBool, true,
          "Per-channel standardisation fitted on training rows only and saved with the model."),
      range(key("data.cache_mb", T::kInt, -1,
                "MiB of rows one rank keeps in memory; a rank whose training, validation and test rows need "
                "more reads them from the file batch by batch (streamed). 0: always stream; -1: half of the "
                "node's available memory shared by its ranks."),
            -1, kNoMax),
      range(key("data.no_leak_class", T::kInt, 0, "Class id meaning 'no leak' (for leak_recall and leak_aware_loss)."),
            0, kNoMax),
      // ---------------------------------------------------------------- model
      choice(key("model.name", T::kString, "cnn1d",
                 "Model: neural (mlp, cnn1d, lstm) or classical on window features (random_forest, "
                 "gradient_boosting: XGBoost; svm: LIBSVM)."),
             {"mlp", "cnn1d", "lstm", "random_forest", "gradient_boosting", "svm"}),
      key("model.mlp.hidden_units", T::kIntList, json::array({128, 64}), "Widths of the hidden layers."),
      range(key("model.mlp.dropout", T::kFloat, 0.2, "Dropout after each hidden layer."), 0, 1, false, true),
      key("model.cnn1d.channels", T::kIntList, json::array({32, 64, 64}), "Output channels of each conv block."),
      key("model.cnn1d.kernel_sizes", T::kIntList, json::array({7, 5, 3}),
          "Kernel size of each conv block (same length as channels)."),
      range(key("model.cnn1d.pool_size", T::kInt, 4, "Max-pool size after each conv block (1 = none)."), 1, 64),
      key("model.cnn1d.batch_norm", T::kBool, true, "Batch normalisation after each convolution."),
      range(key("model.cnn1d.dropout", T::kFloat, 0.3, "Dropout before the classifier."), 0, 1, false, true),
      choice(key("model.cnn1d.global_pool", T::kString, "avg", "Global pooling over time before the classifier."),
             {"avg", "max"}),
      range(key("model.lstm.hidden_size", T::kInt, 64, "LSTM hidden units per direction."), 1, 65536),
      range(key("model.lstm.num_layers", T::kInt, 1, "Stacked LSTM layers."), 1, 16),
      key("model.lstm.bidirectional", T::kBool, false, "Bidirectional LSTM."),
      range(key("model.lstm.dropout", T::kFloat, 0.0, "Dropout between LSTM layers and before the classifier."), 0, 1,
            false, true),
      range(key("model.lstm.downsample", T::kInt, 8, "Average-pool the time axis by this factor before the LSTM."), 1,
            1024),
      choice(key("model.features.kind", T::kString, "stats",
                 "Classical models' inputs: stats (per channel mean, std, RMS, min, max, skewness, kurtosis, "
                 "zero-crossing rate, FFT band energies) or flatten (the raw window); standardised on the "
                 "training rows."),
             {"stats", "flatten"}),
      range(key("model.features.fft_bands", T::kInt, 4, "stats: log energies of this many equal FFT bands per channel."),
            0, 256),
      range(key("model.random_forest.n_estimators", T::kInt, 200, "Trees (XGBoost random-forest mode)."), 1, 100000),
      range(key("model.random_forest.max_depth", T::kInt, 12, "Maximum tree depth."), 1, 64),
      range(key("model.random_forest.subsample", T::kFloat, 0.632,
                "Share of the rows each tree sees (sampled without replacement)."),
            0, 1, true),
      choice(range(key("model.random_forest.colsample_bynode", T::kFloatOrChoice, "sqrt",
                       "Share of the features each split considers, or sqrt (sqrt(d)/d, scikit-learn's default)."),
                   0, 1, true),
             {"sqrt"}),
      range(key("model.random_forest.min_child_weight", T::kFloat, 1.0, "Minimum hessian sum in a leaf."), 0, kNoMax),
      range(key("model.gradient_boosting.n_estimators", T::kInt, 200, "Boosting rounds (XGBoost)."), 1, 100000),
      range(key("model.gradient_boosting.max_depth", T::kInt, 6, "Maximum tree depth."), 1, 64),
      range(key("model.gradient_boosting.learning_rate", T::kFloat, 0.1, "Shrinkage (eta)."), 0, 1, true),
      range(key("model.gradient_boosting.subsample", T::kFloat, 1.0, "Share of the rows each round sees."), 0, 1, true),
      range(key("model.gradient_boosting.colsample_bytree", T::kFloat, 1.0, "Share of the features each tree sees."),
            0, 1, true),
      choice(key("model.svm.kernel", T::kString, "rbf", "LIBSVM kernel."), {"rbf", "linear"}),
      range(key("model.svm.C", T::kFloat, 1.0, "Penalty C of C-SVC."), 0, kNoMax, true),
      choice(range(key("model.svm.gamma", T::kFloatOrChoice, "scale",
                       "RBF gamma: a number, scale (1 / (features * variance of the training features)) or auto "
                       "(1 / features), as scikit-learn defines them."),
                   0, kNoMax, true),
             {"scale", "auto"}),
      key("model.svm.probability", T::kBool, true,
          "Fit LIBSVM's probability model (Platt scaling, internal 5-fold CV) for probability outputs; the "
          "predicted class is LIBSVM's vote either way, as scikit-learn's SVC.predict."),
      // ---------------------------------------------------------------- training
      choice(key("training.loss", T::kString, "categorical_crossentropy", "Loss function."),
             {"categorical_crossentropy", "focal_loss", "weighted_categorical_crossentropy", "leak_aware_loss"}),
      range(key("training.loss_config.label_smoothing", T::kFloat, 0.0,
                "categorical_crossentropy: label smoothing epsilon."),
            0, 1, false, true),
      range(key("training.loss_config.gamma", T::kFloat, 2.0, "focal_loss: focusing parameter gamma."), 0, 100),
      key("training.loss_config.alpha", T::kFloatOrList, 0.25,
          "focal_loss: weight alpha, one number for every class or a list with one per class."),
      range(key("training.loss_config.leak_penalty", T::kFloat, 5.0,
                "leak_aware_loss: weight of samples whose true class is a leak (missed leaks)."),
            0, kNoMax),
      range(key("training.loss_config.non_leak_penalty", T::kFloat, 1.0,
                "leak_aware_loss: weight of samples whose true class is no-leak (false alarms)."),
            0, kNoMax),
      choice(key("training.optimizer", T::kString, "adam", "Optimizer."), {"adam", "adamw", "sgd", "rmsprop"}),
      range(key("training.learning_rate", T::kFloat, 1e-3, "Base learning rate."), 0, 10, true),
      range(key("training.optimizer_config.weight_decay", T::kFloat, 0.0,
                "L2 penalty (adam, sgd, rmsprop) or decoupled weight decay (adamw)."),
            0, 10),
      range(key("training.optimizer_config.beta_1", T::kFloat, 0.9, "adam/adamw: beta1."), 0, 1, false, true),
      range(key("training.optimizer_config.beta_2", T::kFloat, 0.999, "adam/adamw: beta2."), 0, 1, false, true),
      range(key("training.optimizer_config.epsilon", T::kFloat, 1e-8, "adam/adamw/rmsprop: epsilon."), 0, 1, true),
      key("training.optimizer_config.amsgrad", T::kBool, false, "adam/adamw: AMSGrad variant."),
      range(key("training.optimizer_config.momentum", T::kFloat, 0.0, "sgd/rmsprop: momentum."), 0, 1, false, true),
      key("training.optimizer_config.nesterov", T::kBool, false, "sgd: Nesterov momentum (needs momentum > 0)."),
      range(key("training.optimizer_config.rho", T::kFloat, 0.9, "rmsprop: decay of the squared-gradient average."),
            0, 1, false, true),
      key("training.optimizer_config.centered", T::kBool, false, "rmsprop: centred variant."),
      range(key("training.optimizer_config.clipnorm", T::kFloat, 0.0,
                "Clip the global gradient norm to this value (0 = no clipping)."),
            0, kNoMax),
      choice(key("training.lr_schedule", T::kString, "constant", "Learning-rate schedule, stepped every batch."),
             {"constant", "warmup", "cosine", "exponential", "polynomial", "step"}),
      range(key("training.lr_schedule_config.initial_lr", T::kFloat, 0.0,
                "warmup/cosine: learning rate at step 0 of the linear warm-up."),
            0, 10),
      range(key("training.lr_schedule_config.warmup_steps", T::kInt, 0, "warmup/cosine: linear warm-up steps."), 0,
            kNoMax),
      range(key("training.lr_schedule_config.decay_rate", T::kFloat, 0.96,
                "warmup/exponential/step: multiply the LR by this every decay_steps."),
            0, 1, true),
      range(key("training.lr_schedule_config.decay_steps", T::kInt, 1000,
                "warmup/exponential/step/polynomial: steps per decay period (polynomial: steps to reach end_lr)."),
            1, kNoMax),
      key("training.lr_schedule_config.staircase", T::kBool, false,
          "exponential/warmup: decay in whole periods (floor) instead of continuously."),
      range(key("training.lr_schedule_config.min_lr", T::kFloat, 0.0, "cosine: final learning rate."), 0, 10),
      range(key("training.lr_schedule_config.total_steps", T::kInt, 0,
                "cosine: steps of the whole schedule, warm-up included (0 = epochs x steps per epoch)."),
            0, kNoMax),
      range(key("training.lr_schedule_config.end_lr", T::kFloat, 0.0, "polynomial: final learning rate."), 0, 10),
      range(key("training.lr_schedule_config.power", T::kFloat, 1.0, "polynomial: exponent."), 0, 100, true),
      range(key("training.epochs", T::kInt, 20, "Training epochs."), 1, kNoMax),
      range(key("training.batch_size", T::kInt, 64, "Global batch size."), 1, kNoMax),
      key("training.metrics", T::kStringList, json::array({"accuracy", "f1_macro"}),
          "Metrics computed every epoch on training and validation data."),
      // ---------------------------------------------------------------- callbacks
      key("training.callbacks.early_stopping", T::kBool, true, "Stop when the monitored value stops improving."),
      range(key("training.callbacks.early_stopping_patience", T::kInt, 10,
                "Epochs without improvement before stopping."),
            0, kNoMax),
      key("training.callbacks.early_stopping_monitor", T::kString, "val_loss",
          "Quantity to watch: loss, val_loss, or a metric name, optionally prefixed val_."),
      choice(key("training.callbacks.early_stopping_mode", T::kString, "auto",
                 "min, max, or auto (max for accuracy-like metrics, min for losses)."),
             modes),
      range(key("training.callbacks.early_stopping_min_delta", T::kFloat, 0.0,
                "Smallest absolute change that counts as an improvement."),
            0, kNoMax),
      key("training.callbacks.early_stopping_baseline", T::kOptionalFloat, nullptr,
          "Stop if the monitored value does not beat this within patience epochs (null = off)."),
      key("training.callbacks.restore_best_weights", T::kBool, true,
          "Restore the best weights at the end of training, also when all epochs ran."),
      key("training.callbacks.model_checkpoint", T::kBool, true, "Write checkpoints (best.pt and checkpoints/)."),
      key("training.callbacks.checkpoint_monitor", T::kString, "val_loss", "Quantity that decides the best model."),
      choice(key("training.callbacks.checkpoint_mode", T::kString, "auto", "min, max or auto."), modes),
      key("training.callbacks.checkpoint_save_best_only", T::kBool, true,
          "Only write best.pt when the monitored value improves (else every epoch)."),
      range(key("training.callbacks.checkpoint_every_n_epochs", T::kInt, 0,
                "Also keep checkpoints/epoch_NNNN.pt every N epochs (0 = never)."),
            0, kNoMax),
      key("training.callbacks.reduce_lr_on_plateau", T::kBool, false,
          "Multiply the LR by reduce_lr_factor when the monitored value plateaus."),
      key("training.callbacks.reduce_lr_monitor", T::kString, "val_loss", "Quantity to watch."),
      choice(key("training.callbacks.reduce_lr_mode", T::kString, "auto", "min, max or auto."), modes),
      range(key("training.callbacks.reduce_lr_factor", T::kFloat, 0.5, "Factor applied to the LR."), 0, 1, true, true),
      range(key("training.callbacks.reduce_lr_patience", T::kInt, 5, "Epochs without improvement before reducing."), 0,
            kNoMax),
      range(key("training.callbacks.reduce_lr_min_delta", T::kFloat, 1e-4,
                "Smallest absolute change that counts as an improvement (Keras semantics)."),
            0, kNoMax),
      range(key("training.callbacks.reduce_lr_cooldown", T::kInt, 0, "Epochs to wait after a reduction."), 0, kNoMax),
      range(key("training.callbacks.reduce_lr_min_lr", T::kFloat, 0.0, "Lower bound on the LR."), 0, 10),
      key("training.callbacks.tensorboard", T::kBool, false,
          "TensorBoard event files in <run>/tensorboard/: every epoch's losses, metrics and LR."),
      range(key("training.callbacks.tensorboard_update_freq", T::kInt, 0,
                "Also write the batch loss and LR every N steps (rank 0's share of the batch; 0 = epochs only)."),
            0, kNoMax),
      // ---------------------------------------------------------------- cross-validation
      choice(key("cv.method", T::kString, "stratified_kfold", "Splitter of `trainfleet cv` (scikit-learn semantics)."),
             {"kfold", "stratified_kfold", "group_kfold", "stratified_group_kfold", "leave_one_out",
              "leave_one_group_out", "leave_p_groups_out", "time_series_split"}),
      range(key("cv.n_splits", T::kInt, 5, "Number of folds (time_series_split: number of splits)."), 2, kNoMax),
      key("cv.shuffle", T::kBool, false, "Shuffle before splitting (k-fold splitters; seeded by cv.random_state)."),
      range(key("cv.random_state", T::kInt, 0, "Seed of the shuffle."), 0, 4294967295.0),
      range(key("cv.p_groups", T::kInt, 2, "leave_p_groups_out: groups left out per fold."), 1, kNoMax),
      range(key("cv.gap", T::kInt, 0, "time_series_split: rows dropped between train and test."), 0, kNoMax),
      range(key("cv.test_size", T::kInt, 0, "time_series_split: test rows per split (0 = n / (n_splits + 1))."), 0,
            kNoMax),
      range(key("cv.max_train_size", T::kInt, 0, "time_series_split: most recent training rows kept (0 = all)."), 0,
            kNoMax),
      key("cv.scoring", T::kStringList, json::array({"accuracy", "f1_macro", "f1_weighted", "leak_recall"}),
          "Metrics reported per fold, as mean +- std, and pooled over the out-of-fold predictions."),
      key("cv.nested", T::kBool, false,
          "Nested CV: every outer training set is itself cross-validated (inner folds never see outer test rows); "
          "with a tuning: space, each outer fold runs a study on its inner folds and retrains the best trial."),
      range(key("cv.inner_n_splits", T::kInt, 3, "Nested CV: inner folds per outer fold."), 2, kNoMax),
      // ---------------------------------------------------------------- tuning
      choice(key("tuning.sampler", T::kString, "tpe",
                 "Sampler of `trainfleet tune` (bayesian: another name for tpe). random samples a finite space "
                 "without replacement until every point has been tried."),
             {"grid", "random", "tpe"}),
      range(key("tuning.n_trials", T::kInt, 20, "Trials to run (grid: at most the grid's size; 0 = the whole grid)."),
            0, kNoMax),
      range(key("tuning.seed", T::kInt, 0, "Seed of the sampler."), 0, 4294967295.0),
      key("tuning.objective", T::kString, "auto",
          "What a trial scores: val_loss or val_<metric> (the metric listed in training.metrics); auto: "
          "val_f1_macro when training.metrics lists f1_macro, else val_loss (the choice is logged)."),
      key("tuning.cv", T::kBool, false,
          "Score each trial by cross-validation (cv.*): the objective's metric on each fold's test rows, averaged; "
          "pruning compares trials fold by fold."),
      choice(key("tuning.direction", T::kString, "auto", "maximize, minimize, or auto (from the objective)."),
             {"auto", "maximize", "minimize"}),
      key("tuning.space", T::kSearchSpace, nullptr,
          "Search space {config key: {type: float|int|categorical, low, high, log, step, choices, when}}, or "
          "\"auto\" for the suggested space of model.name."),
      choice(key("tuning.pruner", T::kString, "none",
                 "Stop unpromising trials early: median (worse than the finished trials' median at the same epoch), "
                 "asha (asynchronous successive halving), hyperband (ASHA brackets)."),
             {"none", "median", "asha", "hyperband"}),
      key("tuning.cv_early_stop", T::kBool, false,
          "tuning.cv: stop a trial after a fold when even perfect scores on its remaining folds could not beat the "
          "best finished trial (recorded as pruned). Independent of tuning.pruner."),
      range(key("tuning.pruner_min_resource", T::kInt, 1, "asha/hyperband: epochs of the first rung."), 1, kNoMax),
      range(key("tuning.pruner_reduction_factor", T::kInt, 3,
                "asha/hyperband: 1/factor of the trials at a rung go on to the next (rungs at min_resource x factor^k)."),
            2, kNoMax),
      range(key("tuning.pruner_startup_trials", T::kInt, 5, "median: finished trials before pruning starts."), 0,
            kNoMax),
      range(key("tuning.pruner_warmup_steps", T::kInt, 2, "median: epochs of every trial that are never pruned."), 0,
            kNoMax),
      range(key("tuning.max_consecutive_failures", T::kInt, 5,
                "Stop the study after this many failed trials in a row."),
            1, kNoMax),
      range(key("tuning.tpe_startup_trials", T::kInt, 10, "tpe: random trials before the model is used."), 0, kNoMax),
      range(key("tuning.tpe_candidates", T::kInt, 24, "tpe: candidates scored per parameter."), 1, kNoMax),
      range(key("tuning.tpe_prior_share", T::kFloat, 0.9,
                "tpe: share of the prior kernel in the densities l(x) and g(x) that score candidates (a floor "
                "under both, so l/g does not reward a candidate only for lying far from every trial); 0 = Optuna "
                "3.1's estimator with the normalised density. 0.9 was chosen on Rosenbrock-4, Ackley-5 and Levy-6 "
                "(bench/RESULTS.md)."),
            0, 1, false, true),
      key("tuning.tpe_multivariate", T::kBool, false,
          "tpe: one joint estimator over the parameters without `when` conditions (captures interactions), "
          "as Optuna's multivariate=True; false: one estimator per parameter."),
      // ---------------------------------------------------------------- compare
      key("compare.entries", T::kEntries, nullptr,
          "`trainfleet compare`: {name: {model: cnn1d|lstm|mlp|random_forest|gradient_boosting|svm, set: {config "
          "key: value}}} or {name: {ensemble: [entry, ...], weights: [w, ...]}} (soft voting); every entry runs "
          "on the same CV folds (cv.*)."),
      choice(key("compare.metric", T::kString, "f1_macro", "Metric the entries are ranked and tested by."), {}),
      range(key("compare.alpha", T::kFloat, 0.05, "Significance level of the pairwise tests."), 0, 1, true, true),
      // ---------------------------------------------------------------- class weights, runtime
      key("class_weights", T::kClassWeights, nullptr,
          "Per-class sample weights {class id or name: weight} (1 for classes not named), or \"balanced\" "
          "(n_samples / (n_classes * count), as scikit-learn). Every loss multiplies each sample's loss by its "
          "class's weight, as Keras's class_weight (focal_loss: times alpha). null: no weights, except "
          "weighted_categorical_crossentropy, which then uses balanced."),
      range(key("runtime.threads", T::kInt, 0, "Intra-op threads per rank (0 = cores / local ranks)."), 0, 1024),
      range(key("runtime.ranks_per_run", T::kInt, 0,
                "Ranks per training run (group size); the world is split into world/ranks_per_run groups "
                "(0 = one group of all ranks). --ranks-per-run overrides it."),
            0, kNoMax),
      range(key("runtime.collective_timeout_s", T::kFloat, 600.0,
                "A collective waiting longer than this reports the missing ranks and aborts the job."),
            0, kNoMax, true),
      range(key("runtime.resume_every_epochs", T::kInt, 1,
                "Write a resume checkpoint (weights, optimizer, callbacks, RNG) every N epochs, so a killed "
                "run, fold or trial continues where it was (0 = only when stopped by SIGUSR1/SIGTERM)."),
            0, kNoMax),
      range(key("runtime.resume_min_interval_s", T::kFloat, 10.0,
                "Periodic resume checkpoints come at most this often (seconds since the run's start or its last "
                "one), so short runs and trials write none; on a signal one is always written."),
            0, kNoMax),
      choice(key("runtime.device", T::kString, "cpu", "cpu, or cuda (one GPU per rank)."), {"cpu", "cuda"}),
      choice(key("runtime.log_level", T::kString, "info", "Log level."), {"debug", "info", "warn", "error"}),
  };
  for (auto& k : s) {
    if (k.path == "training.metrics" || k.path == "cv.scoring" || k.path == "compare.metric") k.choices = metric_names();
  }
  return s;
}

}  // namespace

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {
      "accuracy",  "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro",
      "precision_weighted", "recall_weighted", "f1_weighted", "leak_recall"};
  return names;
}

const std::vector<KeySpec>& schema() {
  static const std::vector<KeySpec> s = build();
  return s;
}

const KeySpec* find_key(const std::string& path) {
  for (const auto& k : schema())
    if (k.path == path) return &k;
  return nullptr;
}

std::string type_name(Type t) {
  switch (t) {
    case Type::kBool: return "boolean";
    case Type::kInt: return "integer";
    case Type::kFloat: return "number";
    case Type::kString: return "string";
    case Type::kIntList: return "list of integers";
    case Type::kFloatList: return "list of numbers";
    case Type::kStringList: return "list of strings";
    case Type::kFloatOrList: return "number or list of numbers";
    case Type::kOptionalFloat: return "number or null";
    case Type::kClassWeights: return "null, \"balanced\" or map class -> weight";
    case Type::kSearchSpace: return "null, \"auto\" or map config key -> range";
    case Type::kFloatOrChoice: return "number or string";
    case Type::kEntries: return "null or map name -> entry";
  }
  return "?";
}

std::string constraint_text(const KeySpec& k) {
  std::ostringstream os;
  if (!k.choices.empty()) {
    os << "one of ";
    for (size_t i = 0; i < k.choices.size(); ++i) os << (i ? ", " : "") << k.choices[i];
    for (const auto& [from, to] : value_aliases(k.path)) os << " (" << from << " = " << to << ")";
    if (k.type != Type::kFloatOrChoice) return os.str();
    os << ", or a number ";
  }
  auto num = [](double v) {
    std::ostringstream n;
    n << v;
    return n.str();
  };
  bool lo = std::isfinite(k.min), hi = std::isfinite(k.max);
  if (lo && hi) {
    os << (k.min_exclusive ? "(" : "[") << num(k.min) << ", " << num(k.max) << (k.max_exclusive ? ")" : "]");
  } else if (lo) {
    os << (k.min_exclusive ? "> " : ">= ") << num(k.min);
  } else if (hi) {
    os << (k.max_exclusive ? "< " : "<= ") << num(k.max);
  }
  return os.str();
}

}  // namespace tf::config
