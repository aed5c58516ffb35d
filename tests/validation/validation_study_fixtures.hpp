#pragma once
// The tiny Config B validation study shared by the unit tests (shards, merging bit for
// bit) and the statistical tests (the analysis's verdicts) of validation_study.hpp.
#include <cstdint>

#include "core/config.hpp"

namespace kernelmc::validation::fixtures {

// Config B (THEORY.md §8.1: erf, g = 2, L = 2, κ = 1), three small widths, short chains.
// 4 chains × 300 draws of collapsed NUTS at these widths give bulk ESS ≳ 800 for every
// summary (measured), so the gate passes; 2000 prior networks per width.
inline core::Config tiny_config(std::uint64_t seed = 11) {
  core::Config c;
  c.data.kind = "config_b";
  c.model.depth = 2;
  c.model.g = {2.0};
  c.model.kappa = 1.0;
  c.validation.widths = {8, 16, 32};
  c.validation.prior_networks = 2000;
  c.validation.bootstrap_resamples = 50;
  c.posterior.chains = 4;
  c.posterior.warmup = 200;
  c.posterior.draws = 300;
  c.run.seed = seed;
  c.posterior.route = core::PosteriorRoute::chains;  // these tests are about chain units and shards
  return c;
}

}  // namespace kernelmc::validation::fixtures
