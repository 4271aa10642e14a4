// Bucketed vs per-parameter gradient all-reduce on real model gradients.
// For cnn1d and lstm (quickstart sizes) it computes one backward pass, then
// times GradSync::average with the default 25 MB buckets and with one bucket
// per parameter tensor (what a naive data-parallel loop does), reporting
// all-reduce calls per step and milliseconds per step (JSON lines).
//
//   mpirun -np 2 build/bench/bucket_bench [--steps 200]
#include <mpi.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "comm/mpi_comm.h"
#include "config/config.h"
#include "models/model.h"
#include "train/grad_sync.h"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int steps = 200;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--steps") steps = std::stoi(argv[i + 1]);
  torch::set_num_threads(1);
  {
    tf::MpiComm comm(MPI_COMM_WORLD, false, 600.0);
    const nlohmann::json models = {
        {"cnn1d", {{"name", "cnn1d"}}},
        {"lstm", {{"name", "lstm"}}},
        {"cnn1d_deep",
         {{"name", "cnn1d"},
          {"cnn1d", {{"channels", {32, 64, 64, 128, 128, 256}}, {"kernel_sizes", {7, 5, 5, 3, 3, 3}}, {"pool_size", 2}}}}},
        {"lstm_2x_bidir", {{"name", "lstm"}, {"lstm", {{"num_layers", 2}, {"bidirectional", true}, {"hidden_size", 128}}}}}};
    for (auto it = models.begin(); it != models.end(); ++it) {
      const std::string name = it.key();
      auto cfg = tf::config::Config::resolve(nlohmann::json{{"model", it.value()}});
      auto model = tf::make_model(cfg, tf::InputShape{1024, 9, 4});
      std::vector<torch::Tensor> params = model->parameters();
      torch::nn::functional::cross_entropy(model->forward(torch::randn({8, 1024, 9})), torch::randint(0, 4, {8}))
          .backward();
      int64_t numel = 0;
      for (auto& p : params) numel += p.numel();
      for (const std::string mode : {"bucketed", "per_parameter"}) {
        tf::GradSync sync(comm, params, mode == "bucketed" ? 0 : 1);
        for (int w = 0; w < 5; ++w) sync.average(params, 0.5);
        comm.barrier();
        auto t0 = std::chrono::steady_clock::now();
        for (int s = 0; s < steps; ++s) sync.average(params, 0.5);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
        double slowest = ms;
        MPI_Allreduce(MPI_IN_PLACE, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (comm.rank() == 0)
          std::printf("{\"model\":\"%s\",\"mode\":\"%s\",\"ranks\":%d,\"tensors\":%zu,\"floats\":%lld,"
                      "\"allreduce_calls_per_step\":%zu,\"ms_per_step\":%.4f}\n",
                      name.c_str(), mode.c_str(), comm.size(), params.size(), static_cast<long long>(numel),
                      sync.collectives_per_step(), slowest);
      }
    }
  }
  MPI_Finalize();
  return 0;
}
