#include "train/trainer.h"

#include "train/trainer_impl.h"

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


Trainer::Trainer(const config::Config& cfg, Communicator& comm, const ModelInfo& info)
    : impl_(std::make_unique<Impl>(cfg, comm, info)) {}
Trainer::~Trainer() = default;

FitResult Trainer::fit(const Dataset& train, const Dataset* val, const std::filesystem::path& run_dir,
                       const std::vector<Callback*>& extra) {
  return fit(MemoryRows(train), val, run_dir, extra);
}
FitResult Trainer::fit(const RowSource& train, const Dataset* val, const std::filesystem::path& run_dir,
                       const std::vector<Callback*>& extra) {
  if (!val) return impl_->fit(train, nullptr, run_dir, extra);
  const MemoryRows v(*val);
  return impl_->fit(train, &v, run_dir, extra);
}
FitResult Trainer::fit(const RowSource& train, const RowSource* val, const std::filesystem::path& run_dir,
                       const std::vector<Callback*>& extra) {
  return impl_->fit(train, val, run_dir, extra);
}
void Trainer::validate_fit(bool has_validation) const { impl_->validate_fit(has_validation); }
EvalResult Trainer::evaluate(const Dataset& d) { return evaluate(MemoryRows(d)); }
EvalResult Trainer::evaluate(const RowSource& d) { return impl_->evaluate(impl_->eval_rows(d)); }
EvalResult Trainer::evaluate(const RowSource& d, std::vector<float>* proba) {
  return impl_->evaluate(impl_->eval_rows(d), proba);
}
std::vector<float> Trainer::predict_proba(const Dataset& d) { return impl_->predict_proba(MemoryRows(d)); }
std::vector<float> Trainer::predict_proba(const RowSource& d) { return impl_->predict_proba(d); }
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
