// V8 (THEORY.md §7.2, §8; posterior-sampler issue, test 7d): the collapsed sampler's
// posterior mean hidden kernel of a linear one-hidden-layer network against the exact
// finite-N oracle theory::one_hidden_layer_posterior (a 1-D quadrature over the output
// scale s, EXACT: only Monte Carlo error allowed). This test joins sampling and theory,
// so it lives in validation.
//
// Setup: K₀ = C^(1) = I (X = √d I with d = P = 4, g = 1), κ = 0.5, y = (1, −1, 1, −1)
// (‖y‖² = P), N = 4, so the O(1/N) adaptation is large. Standard errors: batch means,
// 20 batches per chain × 4 chains (79 dof, kernel_observables.hpp), every batch ≥ 20 τ̂.
// Bound: the t quantile at the family-wise rate of one two-sided 4.5-SE normal bound,
// Bonferroni over the 10 entries. Twin that must fail: the prior mean gK₀.
// Budget: ≈ 10 s on 2 cores (measured, under load).
#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <iostream>

#include "core/kernel_stack.hpp"
#include "support/statistical.hpp"
#include "theory/deep_linear_posterior.hpp"
#include "validation/posterior_run.hpp"

namespace kernelmc::validation {
namespace {

TEST(PosteriorRun, LinearOneHiddenLayerKernelMatchesTheExactOracleV8) {
  const Eigen::Index P = 4, N = 4;
  core::Config config;
  config.model = {.depth = 1, .widths = {N}, .activation = core::Activation::linear, .g = {1.0}, .kappa = 0.5};
  config.run.seed = 808;
  const core::Dataset data{2.0 * Eigen::MatrixXd::Identity(P, P), Eigen::Vector4d(1.0, -1.0, 1.0, -1.0), "v8"};
  const PosteriorRunSettings settings{.chains = 4, .warmup = 1000, .draws = 10000, .batches = 20};
  config.posterior = settings;
  SilentObserver silent;
  const PosteriorRunResult run = run_posterior(config, data, silent);

  const core::ModelSpec spec = core::resolve_model(config.model, P, 1);
  const Eigen::MatrixXd K0 = core::input_kernel(data.inputs, 1.0, 0.0);
  ASSERT_LT((K0 - Eigen::MatrixXd::Identity(P, P)).norm(), 1e-15);
  const theory::OneHiddenLayerPosterior oracle = theory::one_hidden_layer_posterior(spec, K0, data.targets.col(0));
  ASSERT_LT(oracle.kernel_error, 1e-8) << "quadrature error must be negligible next to the MC error";

  const sampling::LayerSummary& layer = run.kernels.layer(2);
  EXPECT_LE(20.0 * layer.autocorrelation_time.maxCoeff(), static_cast<double>(settings.draws / settings.batches))
      << "batches too short for honest batch-means errors";
  EXPECT_EQ(run.sampler_summary.divergences, 0);

  const double family = 2.0 * boost::math::cdf(boost::math::complement(boost::math::normal(), 4.5));
  const boost::math::students_t t(static_cast<double>(run.kernels.batch_degrees_of_freedom));
  const double bound = boost::math::quantile(boost::math::complement(t, family / (2.0 * 10.0)));
  double max_t = 0.0, max_t_prior = 0.0;
  for (Eigen::Index k = 0; k < 10; ++k) {
    const auto [a, b] = core::triangle_pair(k, P);
    EXPECT_TRUE(kernelmc::testing::WithinStandardErrors(layer.mean(a, b), oracle.mean_kernel(a, b), layer.mcse(a, b), bound))
        << "C^(2)_" << a << b;
    max_t = std::max(max_t, std::abs(layer.mean(a, b) - oracle.mean_kernel(a, b)) / layer.mcse(a, b));
    // E_prior[C^(2)] = gK₀ exactly for a linear network (THEORY.md §3.2).
    max_t_prior = std::max(max_t_prior, std::abs(layer.mean(a, b) - K0(a, b)) / layer.mcse(a, b));
  }
  std::cout << "[ V8 ] max |t| vs oracle " << max_t << ", vs prior (twin) " << max_t_prior << ", bound " << bound
            << "\n";
  EXPECT_GT(max_t_prior, bound) << "the posterior adaptation went unresolved";
}

}  // namespace
}  // namespace kernelmc::validation
