// The seed's vocabulary: value aliases, hints for names that are not keys,
// the list form of a search space, and defaults derived from other keys.
#include <gtest/gtest.h>

#include "config/config.h"
#include "core/error.h"
#include "tune/space.h"

namespace tf::config {

namespace {
Config load_yaml(const std::string& yaml) { return Config::resolve(parse_text(yaml, "t.yaml"), "t.yaml"); }

std::string error_of(const std::string& yaml) {
  try {
    load_yaml(yaml);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

std::string space_error(const std::string& space_yaml) {
  try {
    tune::parse_space(parse_text(space_yaml, "space"), Config::defaults());
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

// The original configuration reference, verbatim, with a tuning section in
// its vocabulary (README: "From the Keras / scikit-learn / Optuna configuration").
TEST(Vocabulary, SeedConfigurationLoadsVerbatim) {
  Config c = load_yaml(R"(
training:
  loss: focal_loss
  loss_config: {alpha: 0.25, gamma: 2.0}
  optimizer: adam
  learning_rate: 0.001
  optimizer_config: {beta_1: 0.9, beta_2: 0.999}
  lr_schedule: warmup
  lr_schedule_config: {warmup_steps: 1000, decay_steps: 5000, decay_rate: 0.96}
  epochs: 50
  batch_size: 32
  metrics: ["accuracy"]
  callbacks: {early_stopping: true, early_stopping_patience: 15, early_stopping_monitor: val_loss,
              model_checkpoint: true, checkpoint_monitor: val_loss, reduce_lr_on_plateau: true,
              reduce_lr_monitor: val_loss, reduce_lr_factor: 0.5, reduce_lr_patience: 5, tensorboard: false}
class_weights: {0: 1.0, 1: 1.5, 2: 1.5, 3: 1.5}
model: {name: random_forest}
tuning:
  sampler: bayesian
  n_trials: 9
  space: {model.random_forest.n_estimators: [50, 100, 200], model.random_forest.max_depth: [5, 10, 20]}
cv: {scoring: f1_weighted}
)");
  EXPECT_EQ(c.get_float("training.loss_config.alpha"), 0.25);
  EXPECT_EQ(c.get_float("training.optimizer_config.beta_2"), 0.999);
  EXPECT_EQ(c.get_int("training.lr_schedule_config.decay_steps"), 5000);
  EXPECT_EQ(c.get_float("training.callbacks.reduce_lr_factor"), 0.5);
  EXPECT_EQ(c.at("class_weights")["1"], 1.5);
  EXPECT_EQ(c.get_string("tuning.sampler"), "tpe");
  EXPECT_EQ(c.get_string("tuning.objective"), "val_loss");  // metrics: [accuracy] has no f1_macro
  EXPECT_EQ(tune::parse_space(c.at("tuning.space"), c).size(), 2u);
}

TEST(Vocabulary, BayesianIsTpeAndSingleStringsAreLists) {
  Config c = load_yaml("tuning: {sampler: bayesian}\ncv: {scoring: f1_weighted}\ntraining: {metrics: accuracy}");
  EXPECT_EQ(c.get_string("tuning.sampler"), "tpe");
  EXPECT_EQ(c.at("cv.scoring"), nlohmann::json::array({"f1_weighted"}));
  EXPECT_EQ(c.at("training.metrics"), nlohmann::json::array({"accuracy"}));
  // The alias is listed in the reference, and other values are still refused.
  EXPECT_TRUE(has(reference_markdown(), "(bayesian = tpe)"));
  EXPECT_TRUE(has(error_of("tuning: {sampler: bayes}"), "tuning.sampler"));
  EXPECT_TRUE(has(error_of("cv: {scoring: f2}"), "cv.scoring[0]"));
}

TEST(Vocabulary, BareAndForeignNamesGetHints) {
  EXPECT_TRUE(has(space_error("C: [0.1, 1]"), "tuning.space.C: not a config key (did you mean model.svm.C?)"))
      << space_error("C: [0.1, 1]");
  EXPECT_TRUE(has(space_error("n_estimators: [50, 100]"),
                  "did you mean model.random_forest.n_estimators or model.gradient_boosting.n_estimators?"));
  const std::string gamma = space_error("gamma: [scale, auto]");
  EXPECT_TRUE(has(gamma, "did you mean model.svm.gamma or training.loss_config.gamma?")) << gamma;
  const std::string mss = space_error("min_samples_split: [2, 5]");
  EXPECT_TRUE(has(mss, "model.random_forest.min_child_weight") && has(mss, "not the same")) << mss;
  const std::string cw = error_of("training: {class_weights: {0: 1.0}}");
  EXPECT_TRUE(has(cw, "training.class_weights: unknown key (class_weights is a top-level key")) << cw;
  EXPECT_TRUE(has(error_of("C: 10"), "C: unknown key (did you mean model.svm.C?)")) << error_of("C: 10");
  // A plain typo still gets the nearest sibling.
  EXPECT_TRUE(has(error_of("training: {epoch: 3}"), "did you mean training.epochs?"));
}

TEST(Vocabulary, PlainListIsACategorical) {
  auto space = tune::parse_space(
      parse_text("model.random_forest.n_estimators: [50, 100, 200]\nmodel.svm.gamma: [scale, auto, 0.1]", "s"),
      Config::defaults());
  ASSERT_EQ(space.size(), 2u);
  for (const auto& p : space) EXPECT_EQ(p.kind, tune::Param::Kind::kCategorical);
  EXPECT_EQ(tune::grid_values(space[0]).size(), 3u);
  // Each value is checked against the key as any categorical's choices are.
  EXPECT_TRUE(has(space_error("model.random_forest.max_depth: [5, 0]"), "tuning.space.model.random_forest.max_depth"));
  EXPECT_TRUE(has(space_error("model.random_forest.max_depth: []"), "non-empty list of choices"));
}

TEST(Vocabulary, ObjectiveDefaultsToAComputedQuantity) {
  auto cfg = [](const std::string& metrics, const std::string& objective) {
    return "tuning: {space: {training.learning_rate: [0.001, 0.01]}" + objective + "}\ntraining: {metrics: " + metrics +
           "}";
  };
  EXPECT_EQ(load_yaml(cfg("[accuracy]", "")).get_string("tuning.objective"), "val_loss");
  EXPECT_EQ(load_yaml(cfg("[accuracy, f1_macro]", "")).get_string("tuning.objective"), "val_f1_macro");
  EXPECT_EQ(load_yaml(cfg("[accuracy]", ", objective: val_accuracy")).get_string("tuning.objective"), "val_accuracy");
  // An objective that is not computed is still refused when given explicitly.
  EXPECT_TRUE(has(error_of(cfg("[accuracy]", ", objective: val_f1_macro")), "tuning.objective"));
}

}  // namespace tf::config
