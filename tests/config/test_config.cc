#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "config/config.h"
#include "config/limits.h"
#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace tf::config {

namespace {
std::string error_of(const std::string& yaml) {
  try {
    Config::resolve(parse_text(yaml, "t.yaml"), "t.yaml");
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, DefaultsCoverEverySchemaKey) {
  Config c = Config::defaults();
  for (const auto& k : schema()) EXPECT_NO_THROW(c.at(k.path)) << k.path;
  EXPECT_EQ(c.get_string("model.name"), "cnn1d");
  EXPECT_EQ(c.get_int("training.callbacks.early_stopping_patience"), 10);
}

TEST(Config, SeedLayoutIsAcceptedAsIs) {
  const char* seed = R"(
training:
  loss: focal_loss
  loss_config: {gamma: 2.0, alpha: 0.25}
  optimizer: adamw
  learning_rate: 0.001
  optimizer_config: {weight_decay: 0.01}
  lr_schedule: warmup
  lr_schedule_config: {initial_lr: 0.0001, warmup_steps: 100, decay_rate: 0.9, decay_steps: 1000}
  epochs: 50
  batch_size: 32
  metrics: [accuracy, f1_weighted]
  callbacks:
    early_stopping: true
    early_stopping_patience: 10
    early_stopping_monitor: val_loss
    model_checkpoint: true
    checkpoint_monitor: val_f1_weighted
    reduce_lr_on_plateau: true
    reduce_lr_monitor: val_loss
    reduce_lr_factor: 0.5
    reduce_lr_patience: 5
    tensorboard: false
class_weights: {0: 1.0, 1: 5.0, 2: 5.0, 3: 5.0}
)";
  Config c = Config::resolve(parse_text(seed, "seed.yaml"));
  EXPECT_EQ(c.get_string("training.optimizer"), "adamw");
  EXPECT_DOUBLE_EQ(c.get_float("training.lr_schedule_config.initial_lr"), 1e-4);
  EXPECT_DOUBLE_EQ(c.at("class_weights").at("1").get<double>(), 5.0);
  EXPECT_EQ(c.get_int("training.batch_size"), 32);
}

TEST(Config, JsonIsAccepted) {
  Config c = Config::resolve(parse_text(R"({"training": {"epochs": 3}})", "t.json"));
  EXPECT_EQ(c.get_int("training.epochs"), 3);
}

TEST(Config, WordsThatStrtodReadsAsNumbersStayStrings) {
  Config c = Config::resolve(parse_text("experiment: {name: nan, run_id: inf}", "t"));
  EXPECT_EQ(c.get_string("experiment.name"), "nan");
  EXPECT_EQ(c.get_string("experiment.run_id"), "inf");
  EXPECT_DOUBLE_EQ(Config::resolve(parse_text("training: {learning_rate: 1.0e-3}", "t")).get_float("training.learning_rate"), 1e-3);
  EXPECT_DOUBLE_EQ(Config::resolve(parse_text("training: {learning_rate: .5}", "t")).get_float("training.learning_rate"), 0.5);
}

TEST(Config, IntegerIsAcceptedForFloat) {
  Config c = Config::resolve(parse_text("training: {learning_rate: 1}", "t"));
  EXPECT_DOUBLE_EQ(c.get_float("training.learning_rate"), 1.0);
}

TEST(Config, ErrorsNameFullKeyValueAndExpectation) {
  std::string e = error_of("training: {callbacks: {early_stopping_patience: -3}}");
  EXPECT_NE(e.find("training.callbacks.early_stopping_patience"), std::string::npos) << e;
  EXPECT_NE(e.find("-3"), std::string::npos) << e;
  EXPECT_NE(e.find(">= 0"), std::string::npos) << e;

  e = error_of("training: {callbacks: {early_stoping_patience: 3}}");
  EXPECT_NE(e.find("training.callbacks.early_stoping_patience"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean training.callbacks.early_stopping_patience"), std::string::npos) << e;

  e = error_of("training: {optimizer: adma}");
  EXPECT_NE(e.find("training.optimizer"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean \"adam\""), std::string::npos) << e;

  e = error_of("training: {epochs: ten}");
  EXPECT_NE(e.find("expected an integer"), std::string::npos) << e;

  e = error_of("model: {cnn1d: {channels: [16, 32], kernel_sizes: [3]}}");
  EXPECT_NE(e.find("model.cnn1d.kernel_sizes"), std::string::npos) << e;
}

TEST(Config, MonitorMustBeLogged) {
  std::string e = error_of("training: {callbacks: {early_stopping_monitor: val_f1_macro}, metrics: [accuracy]}");
  EXPECT_NE(e.find("training.callbacks.early_stopping_monitor"), std::string::npos) << e;
  EXPECT_EQ(error_of("training: {callbacks: {early_stopping_monitor: val_f1_macro}, metrics: [f1_macro]}"), "");
}

TEST(Config, OverridesParseYamlValues) {
  json doc = parse_text("training: {epochs: 3}", "t");
  apply_override(doc, "training.epochs=7");
  apply_override(doc, "model.cnn1d.channels=[8, 8]");
  apply_override(doc, "model.cnn1d.kernel_sizes=[3,3]");
  apply_override(doc, "experiment.name=abc");
  Config c = Config::resolve(doc);
  EXPECT_EQ(c.get_int("training.epochs"), 7);
  EXPECT_EQ(c.get_int_list("model.cnn1d.channels"), (std::vector<long long>{8, 8}));
  EXPECT_EQ(c.get_string("experiment.name"), "abc");
  EXPECT_THROW(apply_override(doc, "no_equals_sign"), BadInput);
}

TEST(Config, ResolvedYamlRoundTrips) {
  Config a = Config::resolve(parse_text("training: {epochs: 4, learning_rate: 0.003}\nclass_weights: balanced", "t"));
  Config b = Config::resolve(parse_text(a.to_yaml(), "round"));
  EXPECT_EQ(a.doc(), b.doc());
}

TEST(Config, NumbersPrintInShortestRoundTripForm) {
  EXPECT_EQ(to_yaml(json{{"a", 0.9}, {"b", 1e-6}, {"c", 100.0}, {"d", -HUGE_VAL}}),
            "a: 0.9\nb: 1e-06\nc: 100.0\nd: -.inf\n");
  json back = parse_text("a: 0.9\nb: 1e-06\nc: 100.0\nd: -.inf\n", "t");
  EXPECT_EQ(back["a"].get<double>(), 0.9);
  EXPECT_TRUE(back["c"].is_number_float());
  EXPECT_EQ(back["d"].get<double>(), -HUGE_VAL);
}

// Hostile YAML: every case is a BadInput naming the place, never a crash or a silent choice.
TEST(Config, HostileYamlIsRejectedWithItsLines) {
  auto parse_error = [](const std::string& text) {
    try {
      parse_text(text, "f.yaml");
    } catch (const BadInput& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(parse_error("a: &a [*a]").find("f.yaml: line 1: a[0]: an alias refers to a node that contains it"),
            std::string::npos);
  EXPECT_NE(parse_error("a: &a {b: *a}").find("a cycle"), std::string::npos);
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char k = 'b'; k <= 'k'; ++k) {  // each level repeats the previous one 10 times: 10^11 values
    bomb += std::string(1, k) + ": &" + k + " [*" + char(k - 1);
    for (int i = 1; i < 10; ++i) bomb += std::string(", *") + char(k - 1);
    bomb += "]\n";
  }
  EXPECT_NE(parse_error(bomb).find("more than 100000 values"), std::string::npos) << parse_error(bomb);
  std::string deep(100, '['), close(100, ']');
  EXPECT_NE(parse_error("a: " + deep + close).find("nested deeper than 64 levels"), std::string::npos);
  EXPECT_NE(parse_error("t:\n  e: 1\n  e: 2\n").find("t.e: duplicate key at lines 2 and 3"), std::string::npos);
  EXPECT_NE(parse_error("{\"t\": 1,\n \"t\": 2}").find("t: duplicate key at lines 1 and 2"), std::string::npos);
  EXPECT_NE(parse_error("a: 1\n---\na: 2\n").find("line 3: a second YAML document"), std::string::npos);
  EXPECT_NE(parse_error("a: \"x\\0y\"").find("a: the value contains a NUL character"), std::string::npos);
  EXPECT_NE(parse_error("a: [5, \xbc" "3]").find("a[1]: the value is not valid UTF-8 text"), std::string::npos);
  EXPECT_EQ(parse_error("a: caf\xc3\xa9"), "");  // "café"
  EXPECT_EQ(parse_error("a: 1\n---\n"), "");  // a closing marker alone is no second document
  // Aliases within the budget still work.
  json ok = parse_text("base: &b {epochs: 2}\ntraining: *b\n", "t");
  EXPECT_EQ(ok["training"]["epochs"], 2);
}

// A stray `,` where a value should start (fuzz_config's slow input, kept in its
// corpus) made yaml-cpp return empty documents forever: loading the file grew
// memory until it failed. The load runs in a child process with a 10-second
// alarm and a 2 GiB address-space limit, so a regression fails instead of hanging.
TEST(Config, StrayCommaEndsQuicklyWithTheLine) {
  const std::string file = (test::source_dir() / "tests/fuzz/corpus/fuzz_config/stray_comma_documents.yaml").string();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    alarm(10);
    const rlimit limit{rlim_t{2} << 30, rlim_t{2} << 30};
    setrlimit(RLIMIT_AS, &limit);
    int code = 0;
    std::string msg;
    try {
      Config::load(file);
    } catch (const BadInput& e) {
      msg = e.what(), code = 2;
    } catch (const std::exception& e) {
      msg = e.what(), code = 1;
    }
    ssize_t ignored = write(fds[1], msg.data(), msg.size());
    (void)ignored;
    _exit(code);
  }
  close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(WIFEXITED(status)) << "the load was killed by signal " << WTERMSIG(status)
                                 << " (SIGALRM: still parsing after 10 s)";
  EXPECT_EQ(WEXITSTATUS(status), 2) << msg;
  EXPECT_NE(msg.find(file + ": not valid YAML/JSON: line 3, column 1: `,` cannot start a value here"),
            std::string::npos)
      << msg;
  EXPECT_LT(seconds, 1.0);
}

TEST(Config, TextOverOneMebibyteIsRefusedBeforeParsing) {
  try {
    parse_text(std::string(kMaxConfigBytes + 1, ' '), "big.yaml");
    FAIL() << "no error";
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("big.yaml: 1048577 bytes; a config may have at most 1048576 bytes"),
              std::string::npos)
        << e.what();
  }
}

TEST(Config, ReadmeReferenceIsGeneratedFromTheSchema) {
  std::string readme = read_file(test::source_dir() / "README.md");
  EXPECT_NE(readme.find(reference_markdown()), std::string::npos)
      << "README.md's configuration reference is stale: paste the output of "
         "'trainfleet config --print-reference'";
}

}  // namespace tf::config
