// A small synthetic air-leak set, split (stratified) into normalised train and
// validation rows, with the ModelInfo a Trainer needs: shared by the trainer tests.
#pragma once

#include "data/normalizer.h"
#include "data/synth.h"
#include "train/trainer.h"

namespace tf::test {

struct SmallData {
  Dataset train, val;
  ModelInfo info;
  SmallData(int64_t samples, uint64_t seed, double val_fraction) {
    SynthOptions o;
    o.samples = samples;
    o.steps = 64;
    o.seed = seed;
    Dataset all = make_airleak_data(o);
    std::vector<int64_t> rows(static_cast<size_t>(all.n)), a, b;
    for (int64_t i = 0; i < all.n; ++i) rows[i] = i;
    stratified_split(all.y, rows, val_fraction, 1, &a, &b);
    train = all.subset(a);
    val = all.subset(b);
    auto z = Normalizer::fit(train);
    z.apply(train);
    z.apply(val);
    info = {all.t, all.c, 4, {"n", "s", "m", "l"}, train.class_counts()};
  }
};

}  // namespace tf::test
