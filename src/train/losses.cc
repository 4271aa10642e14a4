#include "train/losses.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/registry.h"

namespace tf {

namespace {

namespace F = torch::nn::functional;

// A loss defined per sample; forward() weights each sample by its class's
// weight (class_weights, as Keras's class_weight) and takes the mean.
class PerSample : public Loss {
 public:
  explicit PerSample(const std::vector<double>& class_w)
      : w_(class_w.empty() ? torch::Tensor() : torch::tensor(class_w, torch::kFloat64).to(torch::kFloat32)) {}
  torch::Tensor forward(const torch::Tensor& logits, const torch::Tensor& target) const override {
    auto l = per_sample(logits, target);
    if (!w_.defined()) return l.mean();
    return (w_.to(logits.device()).index_select(0, target) * l).mean();
  }

 protected:
  virtual torch::Tensor per_sample(const torch::Tensor& logits, const torch::Tensor& target) const = 0;

 private:
  torch::Tensor w_;
};

class CrossEntropy : public PerSample {
 public:
  CrossEntropy(double smoothing, const std::vector<double>& class_w) : PerSample(class_w), smoothing_(smoothing) {}

 protected:
  torch::Tensor per_sample(const torch::Tensor& logits, const torch::Tensor& target) const override {
    return F::cross_entropy(logits, target,
                            F::CrossEntropyFuncOptions().label_smoothing(smoothing_).reduction(torch::kNone));
  }

 private:
  double smoothing_;
};

// torch's weighted mean: the class weights are the loss itself, not sample weights on top.
class WeightedCrossEntropy : public Loss {
 public:
  explicit WeightedCrossEntropy(const std::vector<double>& w)
      : weight_(torch::tensor(w, torch::kFloat64).to(torch::kFloat32)) {}
  torch::Tensor forward(const torch::Tensor& logits, const torch::Tensor& target) const override {
    return F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().weight(weight_.to(logits.device())));
  }

 private:
  torch::Tensor weight_;
};

class Focal : public PerSample {
 public:
  Focal(std::vector<double> alpha, double gamma, const std::vector<double>& class_w)
      : PerSample(class_w), alpha_(torch::tensor(alpha, torch::kFloat64).to(torch::kFloat32)), gamma_(gamma) {}

 protected:
  torch::Tensor per_sample(const torch::Tensor& logits, const torch::Tensor& target) const override {
    auto logp = torch::log_softmax(logits, 1).gather(1, target.unsqueeze(1)).squeeze(1);
    auto pt = logp.exp();
    auto a = alpha_.to(logits.device()).index_select(0, target);
    return -a * torch::pow(1.0 - pt, gamma_) * logp;
  }

 private:
  torch::Tensor alpha_;
  double gamma_;
};

class LeakAware : public PerSample {
 public:
  LeakAware(double leak, double non_leak, int64_t no_leak_class, const std::vector<double>& class_w)
      : PerSample(class_w), leak_(leak), non_leak_(non_leak), no_leak_(no_leak_class) {}

 protected:
  torch::Tensor per_sample(const torch::Tensor& logits, const torch::Tensor& target) const override {
    auto ce = F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone));
    auto w = torch::where(target == no_leak_, torch::full_like(ce, non_leak_), torch::full_like(ce, leak_));
    return w * ce;
  }

 private:
  double leak_, non_leak_;
  int64_t no_leak_;
};

using LossRegistry = Registry<std::unique_ptr<Loss>, const config::Config&, const LossContext&>;

const LossRegistry& registry() {
  static const LossRegistry r = [] {
    LossRegistry m("training.loss");
    m.add("categorical_crossentropy", [](const config::Config& c, const LossContext& x) -> std::unique_ptr<Loss> {
      return std::make_unique<CrossEntropy>(c.get_float("training.loss_config.label_smoothing"),
                                            sample_class_weights(c, x));
    });
    m.add("weighted_categorical_crossentropy", [](const config::Config& c, const LossContext& x) -> std::unique_ptr<Loss> {
      return std::make_unique<WeightedCrossEntropy>(resolve_class_weights(c, x));
    });
    m.add("focal_loss", [](const config::Config& c, const LossContext& x) -> std::unique_ptr<Loss> {
      const auto& a = c.at("training.loss_config.alpha");
      size_t k = x.class_counts.size();
      std::vector<double> alpha;
      if (a.is_array()) {
        alpha = a.get<std::vector<double>>();
        TF_CHECK_INPUT(alpha.size() == k, "training.loss_config.alpha: has " + std::to_string(alpha.size()) +
                                              " entries but the data has " + std::to_string(k) + " classes");
      } else {
        alpha.assign(k, a.get<double>());
      }
      return std::make_unique<Focal>(alpha, c.get_float("training.loss_config.gamma"), sample_class_weights(c, x));
    });
    m.add("leak_aware_loss", [](const config::Config& c, const LossContext& x) -> std::unique_ptr<Loss> {
      return std::make_unique<LeakAware>(c.get_float("training.loss_config.leak_penalty"),
                                         c.get_float("training.loss_config.non_leak_penalty"), x.no_leak_class,
                                         sample_class_weights(c, x));
    });
    return m;
  }();
  return r;
}

}  // namespace

std::vector<double> resolve_class_weights(const config::Config& cfg, const LossContext& ctx) {
  const auto& cw = cfg.at("class_weights");
  size_t k = ctx.class_counts.size();
  std::vector<double> w(k, 1.0);
  if (cw.is_null() || cw.is_string()) {  // balanced
    int64_t n = 0;
    for (auto c : ctx.class_counts) n += c;
    for (size_t i = 0; i < k; ++i) {
      TF_CHECK_INPUT(ctx.class_counts[i] > 0, "class_weights: \"balanced\" needs every class in the training rows; "
                                              "class " + std::to_string(i) + " has none (give explicit weights)");
      w[i] = static_cast<double>(n) / (static_cast<double>(k) * static_cast<double>(ctx.class_counts[i]));
    }
    return w;
  }
  for (auto it = cw.begin(); it != cw.end(); ++it) {
    int64_t cls = -1;
    for (size_t i = 0; i < ctx.class_names.size(); ++i)
      if (ctx.class_names[i] == it.key()) cls = static_cast<int64_t>(i);
    if (cls < 0) {
      char* end = nullptr;
      long v = std::strtol(it.key().c_str(), &end, 10);
      if (end && *end == '\0' && !it.key().empty()) cls = v;
    }
    TF_CHECK_INPUT(cls >= 0 && cls < static_cast<int64_t>(k),
                   "class_weights." + it.key() + ": not a class of the data (classes are 0.." +
                       std::to_string(k - 1) + " or their names)");
    w[cls] = it.value().get<double>();
  }
  return w;
}

std::vector<double> sample_class_weights(const config::Config& cfg, const LossContext& ctx) {
  if (cfg.at("class_weights").is_null()) return {};
  return resolve_class_weights(cfg, ctx);
}

std::unique_ptr<Loss> make_loss(const config::Config& cfg, const LossContext& ctx) {
  return registry().create(cfg.get_string("training.loss"), cfg, ctx);
}

}  // namespace tf
