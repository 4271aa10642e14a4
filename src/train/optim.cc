#include "train/optim.h"

#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/registry.h"

namespace tf {

namespace {

using OptPtr = std::unique_ptr<torch::optim::Optimizer>;
using Params = std::vector<torch::Tensor>;
using OptRegistry = Registry<OptPtr, const config::Config&, const Params&>;

double opt_f(const config::Config& c, const char* k) { return c.get_float(std::string("training.optimizer_config.") + k); }
bool opt_b(const config::Config& c, const char* k) { return c.get_bool(std::string("training.optimizer_config.") + k); }

template <typename Options>
Options adam_like(const config::Config& c) {
  return Options(c.get_float("training.learning_rate"))
      .betas(std::make_tuple(opt_f(c, "beta_1"), opt_f(c, "beta_2")))
      .eps(opt_f(c, "epsilon"))
      .weight_decay(opt_f(c, "weight_decay"))
      .amsgrad(opt_b(c, "amsgrad"));
}

const OptRegistry& registry() {
  static const OptRegistry r = [] {
    OptRegistry m("training.optimizer");
    m.add("adam", [](const config::Config& c, const Params& p) -> OptPtr {
      return std::make_unique<torch::optim::Adam>(p, adam_like<torch::optim::AdamOptions>(c));
    });
    m.add("adamw", [](const config::Config& c, const Params& p) -> OptPtr {
      return std::make_unique<torch::optim::AdamW>(p, adam_like<torch::optim::AdamWOptions>(c));
    });
    m.add("sgd", [](const config::Config& c, const Params& p) -> OptPtr {
      return std::make_unique<torch::optim::SGD>(p, torch::optim::SGDOptions(c.get_float("training.learning_rate"))
                                                        .momentum(opt_f(c, "momentum"))
                                                        .nesterov(opt_b(c, "nesterov"))
                                                        .weight_decay(opt_f(c, "weight_decay")));
    });
    m.add("rmsprop", [](const config::Config& c, const Params& p) -> OptPtr {
      return std::make_unique<torch::optim::RMSprop>(p, torch::optim::RMSpropOptions(c.get_float("training.learning_rate"))
                                                            .alpha(opt_f(c, "rho"))
                                                            .eps(opt_f(c, "epsilon"))
                                                            .momentum(opt_f(c, "momentum"))
                                                            .centered(opt_b(c, "centered"))
                                                            .weight_decay(opt_f(c, "weight_decay")));
    });
    return m;
  }();
  return r;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::Config& cfg, const Params& params) {
  return registry().create(cfg.get_string("training.optimizer"), cfg, params);
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

void clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
  if (max_norm > 0) torch::nn::utils::clip_grad_norm_(params, max_norm);
}

double get_lr(const torch::optim::Optimizer& opt) { return opt.param_groups().at(0).options().get_lr(); }

void save_optimizer(torch::optim::Optimizer& opt, const std::string& path, bool durable) {
  std::ostringstream bytes;  // in memory, then checked writes (see write_weights in train/resume.cc)
  torch::save(opt, bytes);
  atomic_write(path, bytes.str(), durable);
  nlohmann::json groups = nlohmann::json::array();
  for (auto& g : opt.param_groups()) groups.push_back({{"lr", g.options().get_lr()}});
  atomic_write(path + ".groups.json", groups.dump() + "\n", durable);
}

void load_optimizer(torch::optim::Optimizer& opt, const std::string& path) {
  torch::load(opt, path);
  auto groups = nlohmann::json::parse(read_file(path + ".groups.json"));
  TF_CHECK_INPUT(groups.size() == opt.param_groups().size(), path + ".groups.json: param group count differs");
  for (size_t i = 0; i < groups.size(); ++i) opt.param_groups()[i].options().set_lr(groups[i].at("lr").get<double>());
}

}  // namespace tf
