#include "data/synth.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "core/resources.h"
#include "data/h5io.h"

namespace tf {

namespace {
struct Site {
  double gain[16];
  double offset[16];
  double hiss;     // sensor self-noise level
  double loud;     // typical background loudness
};
}  // namespace

void check_synth_options(const SynthOptions& opt) {
  TF_CHECK_INPUT(opt.samples >= 8, "make-data: --samples must be >= 8");
  TF_CHECK_INPUT(opt.steps >= 64, "make-data: --steps must be >= 64");
  TF_CHECK_INPUT(opt.channels == 9, "make-data: the air-leak generator has 9 channels");
  TF_CHECK_INPUT(opt.sites >= 1, "make-data: --sites must be >= 1");
  TF_CHECK_INPUT(opt.leak_fraction > 0 && opt.leak_fraction < 1, "make-data: --leak-fraction must be in (0, 1)");
}

namespace {
const double kPi = 3.14159265358979323846;
}  // namespace

struct AirleakGenerator::Impl {
  SynthOptions opt;
  std::mt19937_64 rng;
  std::uniform_real_distribution<double> U{0.0, 1.0};
  std::normal_distribution<double> N{0.0, 1.0};
  std::vector<Site> sites;
  std::vector<double> bg, white;
  double clock = 0;
  int64_t done = 0;

  double uni(double a, double b) { return a + (b - a) * U(rng); }

  explicit Impl(const SynthOptions& o)
      : opt(o), rng(o.seed), bg(static_cast<size_t>(o.steps)), white(static_cast<size_t>(o.steps + 1)) {
    sites.resize(static_cast<size_t>(opt.sites));
    for (auto& s : sites) {
      for (int c = 0; c < 9; ++c) {
        s.gain[c] = c < 4 ? uni(0.95, 1.05) : uni(0.8, 1.25);  // acoustic sensors are calibrated
        s.offset[c] = N(rng) * 3.0;
      }
      s.hiss = uni(0.04, 0.07);
      s.loud = uni(0.7, 1.4);
    }
  }

  void row(Dataset& d, int64_t i);
};

AirleakGenerator::AirleakGenerator(const SynthOptions& opt) {
  check_synth_options(opt);
  impl_ = std::make_unique<Impl>(opt);
}
AirleakGenerator::~AirleakGenerator() = default;
int64_t AirleakGenerator::remaining() const { return impl_->opt.samples - impl_->done; }

void AirleakGenerator::next(Dataset& d, int64_t rows) {
  rows = std::min(rows, remaining());
  d.n = rows;
  d.t = impl_->opt.steps;
  d.c = impl_->opt.channels;
  d.num_classes = 4;
  d.class_names = {"no_leak", "small_leak", "medium_leak", "large_leak"};
  d.x.assign(static_cast<size_t>(d.n * d.t * d.c), 0.f);
  d.y.resize(static_cast<size_t>(d.n));
  d.groups.resize(static_cast<size_t>(d.n));
  d.time.resize(static_cast<size_t>(d.n));
  for (int64_t i = 0; i < d.n; ++i) impl_->row(d, i);
  impl_->done += rows;
}

// Row i of block d: the next window of the stream.
void AirleakGenerator::Impl::row(Dataset& d, int64_t i) {
  // Leak strength ranges; neighbours overlap a little.
  const double lo[4] = {0.0, 0.15, 0.45, 0.75};
  const double hi[4] = {0.0, 0.41, 0.71, 1.01};
  const int64_t T = d.t;
  double u = U(rng);
  int64_t label = u < 1 - opt.leak_fraction ? 0 : 1 + std::min<int64_t>(2, (int64_t)((u - (1 - opt.leak_fraction)) / (opt.leak_fraction / 3)));
  d.y[i] = label;
  int64_t site = static_cast<int64_t>(U(rng) * opt.sites) % opt.sites;
  d.groups[i] = site;
  clock += uni(30, 90);
  d.time[i] = clock;
  const Site& s = sites[site];
  double strength = label == 0 ? 0.0 : uni(lo[label], hi[label]);
  double loud = s.loud * std::exp(N(rng) * 0.35);  // background loudness varies a lot per window
  double pump_f = uni(0.004, 0.02), pump_phase = uni(0, 2 * kPi);
  double tau = uni(150, 700);
  double drift = N(rng) * 0.8;
  float* row = d.x.data() + i * T * d.c;
  for (int c = 0; c < 9; ++c) {
    // slow AR(1) background
    double phi = 0.995, a = 0;
    double scale = loud * std::sqrt(1 - phi * phi);
    for (int64_t t = 0; t < T; ++t) {
      a = phi * a + scale * N(rng);
      bg[t] = a;
    }
    // 16-step moving average: the background lives at low frequencies.
    double acc = 0;
    for (int64_t t = 0; t < T; ++t) {
      acc += bg[t];
      if (t >= 16) acc -= bg[t - 16];
      white[t] = acc / static_cast<double>(std::min<int64_t>(t + 1, 16));
    }
    for (int64_t t = 0; t < T; ++t) bg[t] = white[t];
    double tone_amp = loud * uni(0.3, 0.9);
    for (int64_t t = 0; t <= T; ++t) white[t] = N(rng);
    for (int64_t t = 0; t < T; ++t) {
      double v = bg[t] + tone_amp * std::sin(2 * kPi * pump_f * t + pump_phase + c);
      double hiss = s.hiss * N(rng);
      if (c < 4) {
        // leak: high-frequency broadband noise (differenced white noise), level ~ strength
        double hf = (white[t + 1] - white[t]) * 0.7071;
        v += hiss + 0.55 * strength * hf * (0.9 + 0.05 * c);
      } else if (c < 6) {
        v += hiss + drift * (double)t / T - 1.6 * strength * (1 - std::exp(-(double)t / tau));
      } else {
        v += hiss + (c == 6 ? 0.5 * strength * (1 - std::exp(-(double)t / tau)) : 0.0) + 0.3 * drift * (c - 6);
      }
      row[t * d.c + c] = static_cast<float>(s.gain[c] * v + s.offset[c]);
    }
  }
}

namespace {
uint64_t window_bytes(const SynthOptions& opt) {
  return checked_product({static_cast<uint64_t>(opt.samples), static_cast<uint64_t>(opt.steps),
                          static_cast<uint64_t>(opt.channels), sizeof(float)});
}
std::string windows_text(const SynthOptions& opt) {
  return "make-data: " + std::to_string(opt.samples) + " windows x " + std::to_string(opt.steps) + " steps x " +
         std::to_string(opt.channels) + " channels (float32)";
}
}  // namespace

Dataset make_airleak_data(const SynthOptions& opt) {
  check_memory(window_bytes(opt), windows_text(opt));
  AirleakGenerator gen(opt);
  Dataset d;
  gen.next(d, opt.samples);
  return d;
}

std::vector<int64_t> write_airleak_h5(const std::filesystem::path& path, const SynthOptions& opt,
                                      const H5Layout& layout, int64_t block_rows) {
  check_synth_options(opt);
  check_disk(window_bytes(opt), path.parent_path(), windows_text(opt));  // written block by block: disk, not memory
  AirleakGenerator gen(opt);
  std::vector<int64_t> counts(4, 0);
  write_h5_blocks(path, opt.samples, opt.steps, opt.channels, {"no_leak", "small_leak", "medium_leak", "large_leak"},
                  true, layout, [&](Dataset& block) {
                    gen.next(block, block_rows);
                    for (auto v : block.y) counts[static_cast<size_t>(v)]++;
                  });
  return counts;
}

}  // namespace tf
