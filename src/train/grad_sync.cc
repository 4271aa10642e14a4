#include "train/grad_sync.h"

#include <torch/torch.h>

#include <cstdlib>

#include "train/torch_compat.h"

namespace tf {

GradSync::GradSync(Communicator& comm, const std::vector<torch::Tensor>& params, size_t bucket_bytes) : comm_(comm) {
  if (bucket_bytes == 0) {
    const char* env = std::getenv("TRAINFLEET_BUCKET_MB");
    double mb = env ? std::atof(env) : 25.0;
    bucket_bytes = static_cast<size_t>((mb > 0 ? mb : 25.0) * 1024 * 1024);
  }
  size_t start = 0, bytes = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    size_t b = static_cast<size_t>(params[i].numel()) * sizeof(float);
    if (bytes > 0 && bytes + b > bucket_bytes) {
      bounds_.emplace_back(start, i);
      start = i;
      bytes = 0;
    }
    bytes += b;
  }
  if (start < params.size()) bounds_.emplace_back(start, params.size());
  // Buffers live where the communicator reduces: GPU memory for NCCL, host memory for MPI.
  torch::Device dev = comm.device_buffers() && !params.empty() ? params[0].device() : torch::Device(torch::kCPU);
  for (auto [a, z] : bounds_) {
    int64_t n = 0;
    for (size_t i = a; i < z; ++i) n += params[i].numel();
    flat_.push_back(torch::empty({n}, torch::TensorOptions().dtype(torch::kFloat32).device(dev)));
  }
}

void GradSync::average(std::vector<torch::Tensor>& params, double weight) {
  if (!comm_.is_distributed()) return;
  torch::NoGradGuard ng;
  // The buckets are packed and unpacked on LibTorch's current stream; the
  // device communicator orders its collectives after and before that stream.
  if (!flat_.empty()) comm_.set_stream(compat::current_cuda_stream(flat_[0].device()));
  for (size_t k = 0; k < bounds_.size(); ++k) {
    auto [a, z] = bounds_[k];
    auto& flat = flat_[k];
    int64_t off = 0;
    for (size_t i = a; i < z; ++i) {
      int64_t n = params[i].numel();
      auto dst = flat.narrow(0, off, n);
      const auto& g = params[i].grad();
      if (g.defined())
        dst.copy_(g.reshape({-1})).mul_(weight);
      else
        dst.zero_();
      off += n;
    }
    comm_.allreduce(flat.data_ptr<float>(), static_cast<size_t>(flat.numel()), DType::kFloat32, ReduceOp::kSum);
    off = 0;
    for (size_t i = a; i < z; ++i) {
      int64_t n = params[i].numel();
      auto src = flat.narrow(0, off, n).view(params[i].sizes());
      if (params[i].grad().defined())
        params[i].mutable_grad().copy_(src);
      else
        params[i].mutable_grad() = src.to(params[i].device(), /*non_blocking=*/false, /*copy=*/true);
      off += n;
    }
  }
}

void GradSync::broadcast_parameters(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& buffers) {
  if (!comm_.is_distributed()) return;
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> all = params;
  all.insert(all.end(), buffers.begin(), buffers.end());
  const bool on_device = comm_.device_buffers();
  if (on_device && !all.empty()) comm_.set_stream(compat::current_cuda_stream(all[0].device()));
  for (auto& t : all) {
    auto c = on_device ? t.contiguous() : t.to(torch::kCPU).contiguous();
    comm_.broadcast(c.data_ptr(), static_cast<size_t>(c.numel() * c.element_size()), 0);
    if (!c.is_same(t)) t.copy_(c);
  }
}

}  // namespace tf
