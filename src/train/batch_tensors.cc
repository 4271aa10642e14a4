#include "train/batch_tensors.h"

#include "data/batch_stream.h"

namespace tf {

std::pair<torch::Tensor, torch::Tensor> to_tensors(const Dataset& d, torch::Device device, int64_t begin,
                                                   int64_t end) {
  if (end < 0) end = d.n;
  const int64_t m = end - begin;
  auto x = torch::from_blob(const_cast<float*>(d.row(begin)), {m, d.t, d.c}, torch::kFloat32)
               .transpose(1, 2)
               .contiguous();
  auto y = torch::from_blob(const_cast<int64_t*>(d.y.data() + begin), {m}, torch::kInt64).clone();
  return {x.to(device), y.to(device)};
}

EvalRows::EvalRows(const RowSource& source, int rank, int world, int64_t chunk, torch::Device device)
    : source_(source),
      begin_(source.size() * rank / world),
      end_(source.size() * (rank + 1) / world),
      chunk_(chunk),
      device_(device) {
  if (const Dataset* d = source.in_memory(); d && end_ > begin_) std::tie(x_, y_) = to_tensors(*d, device_, begin_, end_);
}

void EvalRows::for_each(const std::function<void(int64_t, const torch::Tensor&, const torch::Tensor&)>& fn) const {
  if (x_.defined()) {
    for (int64_t b = begin_; b < end_; b += chunk_) {
      const int64_t m = std::min(chunk_, end_ - b);
      fn(b, x_.narrow(0, b - begin_, m), y_.narrow(0, b - begin_, m));
    }
    return;
  }
  for_each_chunk(source_, begin_, end_, chunk_, [&](int64_t b, const Dataset& d) {
    auto [x, y] = to_tensors(d, device_);
    fn(b, x, y);
  });
}

}  // namespace tf
