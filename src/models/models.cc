#include <torch/torch.h>

#include "core/error.h"
#include "core/registry.h"
#include "models/model.h"

namespace tf {

namespace {

namespace nn = torch::nn;

// A layer that does not fit its input would be accepted by LibTorch and then
// train for minutes on padding (a kernel of 100000 steps on 256): the shapes
// are checked against the data's steps here, before any run folder exists.
void check_cnn1d_fits(const std::vector<long long>& kernels, int64_t pool, int64_t steps) {
  int64_t len = steps;
  for (size_t i = 0; i < kernels.size(); ++i) {
    TF_CHECK_INPUT(kernels[i] <= len,
                   "model.cnn1d.kernel_sizes[" + std::to_string(i) + "] = " + std::to_string(kernels[i]) +
                       " is longer than the " + std::to_string(len) + " steps that reach conv block " +
                       std::to_string(i) + " (the data has " + std::to_string(steps) + " steps; model.cnn1d.pool_size " +
                       std::to_string(pool) + " divides them after each block)");
    len += kernels[i] % 2 == 0 ? 1 : 0;  // 'same' padding of an even kernel adds one step
    if (pool > 1 && len / pool >= 1) len /= pool;
  }
}

// Flattened window -> stack of Linear + ReLU + Dropout -> Linear.
class Mlp : public Classifier {
 public:
  Mlp(const config::Config& cfg, const InputShape& s) {
    int64_t in = s.steps * s.channels;
    double p = cfg.get_float("model.mlp.dropout");
    for (auto width : cfg.get_int_list("model.mlp.hidden_units")) {
      body_->push_back(nn::Linear(in, width));
      body_->push_back(nn::ReLU());
      if (p > 0) body_->push_back(nn::Dropout(p));
      in = width;
    }
    body_->push_back(nn::Linear(in, s.classes));
    register_module("body", body_);
  }
  torch::Tensor forward(torch::Tensor x) override { return body_->forward(x.flatten(1)); }

 private:
  nn::Sequential body_;
};

// Conv blocks (Conv1d 'same' -> [BatchNorm] -> ReLU -> MaxPool) -> global pool -> Dropout -> Linear.
// Implemented as conv -> BN -> max over non-overlapping windows -> ReLU: ReLU is
// monotone, so relu(max(x)) == max(relu(x)) and the function is the same, but
// the ReLU runs on a pool_size-times smaller tensor and the window max is a
// plain reduction, much cheaper on CPU than max_pool1d's index-tracking kernel.
class Cnn1d : public Classifier {
 public:
  Cnn1d(const config::Config& cfg, const InputShape& s) {
    auto chans = cfg.get_int_list("model.cnn1d.channels");
    auto kernels = cfg.get_int_list("model.cnn1d.kernel_sizes");
    pool_ = cfg.get_int("model.cnn1d.pool_size");
    bool bn = cfg.get_bool("model.cnn1d.batch_norm");
    check_cnn1d_fits(kernels, pool_, s.steps);
    int64_t in = s.channels;
    for (size_t i = 0; i < chans.size(); ++i) {
      convs_->push_back(nn::Conv1d(nn::Conv1dOptions(in, chans[i], kernels[i]).padding(kernels[i] / 2).bias(!bn)));
      if (bn) norms_->push_back(nn::BatchNorm1d(chans[i]));
      in = chans[i];
    }
    max_pool_ = cfg.get_string("model.cnn1d.global_pool") == "max";
    dropout_ = nn::Dropout(cfg.get_float("model.cnn1d.dropout"));
    head_ = nn::Linear(in, s.classes);
    register_module("convs", convs_);
    register_module("norms", norms_);
    register_module("dropout", dropout_);
    register_module("head", head_);
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto h = x.transpose(1, 2);  // [B, C, T]
    for (size_t i = 0; i < convs_->size(); ++i) {
      h = convs_[i]->as<nn::Conv1d>()->forward(h);
      if (!norms_->is_empty()) h = norms_[i]->as<nn::BatchNorm1d>()->forward(h);
      int64_t len = h.size(2) / pool_;
      if (pool_ > 1 && len >= 1)
        h = h.narrow(2, 0, len * pool_).reshape({h.size(0), h.size(1), len, pool_}).amax(3);
      h = torch::relu(h);
    }
    h = max_pool_ ? std::get<0>(h.max(2)) : h.mean(2);
    return head_->forward(dropout_->forward(h));
  }

 private:
  nn::ModuleList convs_, norms_;
  nn::Dropout dropout_{nullptr};
  nn::Linear head_{nullptr};
  int64_t pool_ = 1;
  bool max_pool_ = false;
};

// [optional time average-pooling] -> LSTM -> last step's hidden state(s) -> Dropout -> Linear.
class Lstm : public Classifier {
 public:
  Lstm(const config::Config& cfg, const InputShape& s) {
    int64_t hidden = cfg.get_int("model.lstm.hidden_size");
    int64_t layers = cfg.get_int("model.lstm.num_layers");
    bidir_ = cfg.get_bool("model.lstm.bidirectional");
    double p = cfg.get_float("model.lstm.dropout");
    down_ = cfg.get_int("model.lstm.downsample");
    TF_CHECK_INPUT(down_ <= s.steps, "model.lstm.downsample = " + std::to_string(down_) + " is longer than the data's " +
                                         std::to_string(s.steps) + " steps (it averages that many steps into one)");
    lstm_ = nn::LSTM(nn::LSTMOptions(s.channels, hidden).num_layers(layers).batch_first(true).bidirectional(bidir_).dropout(
        layers > 1 ? p : 0.0));
    dropout_ = nn::Dropout(p);
    head_ = nn::Linear(hidden * (bidir_ ? 2 : 1), s.classes);
    register_module("lstm", lstm_);
    register_module("dropout", dropout_);
    register_module("head", head_);
  }
  torch::Tensor forward(torch::Tensor x) override {
    if (down_ > 1 && x.size(1) >= down_) x = torch::avg_pool1d(x.transpose(1, 2), down_).transpose(1, 2);
    auto out = std::get<0>(lstm_->forward(x.contiguous()));  // [B, T', H*dirs]
    int64_t h = out.size(2) / (bidir_ ? 2 : 1);
    torch::Tensor last;
    if (bidir_) {  // forward direction's last step, backward direction's first step
      last = torch::cat({out.select(1, out.size(1) - 1).narrow(1, 0, h), out.select(1, 0).narrow(1, h, h)}, 1);
    } else {
      last = out.select(1, out.size(1) - 1);
    }
    return head_->forward(dropout_->forward(last));
  }

 private:
  nn::LSTM lstm_{nullptr};
  nn::Dropout dropout_{nullptr};
  nn::Linear head_{nullptr};
  bool bidir_ = false;
  int64_t down_ = 1;
};

using ModelRegistry = Registry<ClassifierPtr, const config::Config&, const InputShape&>;

const ModelRegistry& registry() {
  static const ModelRegistry r = [] {
    ModelRegistry m("model.name");
    m.add("mlp", [](const config::Config& c, const InputShape& s) -> ClassifierPtr { return std::make_shared<Mlp>(c, s); });
    m.add("cnn1d", [](const config::Config& c, const InputShape& s) -> ClassifierPtr { return std::make_shared<Cnn1d>(c, s); });
    m.add("lstm", [](const config::Config& c, const InputShape& s) -> ClassifierPtr { return std::make_shared<Lstm>(c, s); });
    return m;
  }();
  return r;
}

}  // namespace

ClassifierPtr make_model(const config::Config& cfg, const InputShape& shape) {
  return registry().create(cfg.get_string("model.name"), cfg, shape);
}

std::vector<std::string> model_names() { return registry().names(); }

int64_t parameter_count(const Classifier& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters())
    if (p.requires_grad()) n += p.numel();
  return n;
}

}  // namespace tf
