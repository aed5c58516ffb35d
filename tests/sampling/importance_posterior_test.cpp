// Deterministic properties of the importance route (sampling/importance_posterior.hpp): its
// prior mean is the exact prior sampler's on the same streams, ΔC is Σ(w̃ − 1/M)C of the
// same draws, results are bit-identical for 1 and 2 threads, and degenerate weights are
// reported (k̂ > 0.7) or refused (every weight vanished), never silently averaged.
#include "sampling/importance_posterior.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "core/model_spec.hpp"
#include "sampling/diagnostics/pareto_k.hpp"
#include "sampling/prior_sampler.hpp"

namespace kernelmc::sampling {
namespace {

core::ModelSpec config_b_model(Eigen::Index width) {
  return core::uniform_model(3, 2, width, core::Activation::erf, 2.0, 0.0, 1.0);  // THEORY.md §8.1
}

TEST(ImportancePosterior, PriorMeanIsThePriorSamplersOnTheSameStreams) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = config_b_model(8);
  const ImportancePosterior ip = run_importance_posterior(spec, data, {.networks = 2000, .batches = 10, .seed = 5});
  const PriorKernelStatistics prior =
      sample_prior_statistics(spec, data.inputs, {.networks = 2000, .batches = 10, .seed = 5});
  for (Eigen::Index l = 2; l <= 3; ++l) {
    const Eigen::MatrixXd expected = core::from_upper_triangle(prior.pooled(l).mean(), 4);
    // Same draws, different summation order (Welford vs plain sums): rounding only.
    EXPECT_LT((ip.kernels.prior_mean.layer(l) - expected).cwiseAbs().maxCoeff(), 1e-12) << "layer " << l;
  }
}

TEST(ImportancePosterior, AdaptationIsTheWeightedMinusPlainMeanAndWeightsAreTheEvidence) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = config_b_model(6);
  const ImportancePosterior ip = run_importance_posterior(spec, data, {.networks = 300, .batches = 3, .seed = 9});
  // Recompute from the kernels of the same networks.
  Eigen::MatrixXd weighted = Eigen::MatrixXd::Zero(4, 4), plain = weighted;
  double total = 0.0;
  Eigen::LLT<Eigen::MatrixXd> llt(4);
  for (Eigen::Index m = 0; m < 300; ++m) {
    core::Engine engine = core::make_stream(9, core::StreamPurpose::prior_network, 6, static_cast<std::uint64_t>(m));
    const core::KernelStack k = sample_prior_kernels(spec, data.inputs, engine);
    const double lw = gaussian_process_log_evidence(k.layer(3), 1.0, data.targets, llt);
    EXPECT_EQ(lw, ip.log_weights(m));
    weighted += std::exp(lw) * k.layer(2);
    total += std::exp(lw);
    plain += k.layer(2);
  }
  const Eigen::MatrixXd adaptation = weighted / total - plain / 300.0;
  EXPECT_LT((ip.kernels.adaptation(2) - adaptation).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_NEAR(ip.log_evidence, std::log(total / 300.0), 1e-12);
  EXPECT_EQ(ip.kernels.replicates(), 3);
}

TEST(ImportancePosterior, BitIdenticalForOneAndTwoThreads) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = config_b_model(8);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const ImportancePosterior one = run_importance_posterior(spec, data, {.networks = 1000, .batches = 7, .seed = 3});
  omp_set_num_threads(2);
  const ImportancePosterior two = run_importance_posterior(spec, data, {.networks = 1000, .batches = 7, .seed = 3});
  omp_set_num_threads(threads);
  EXPECT_TRUE(one.log_weights == two.log_weights);
  for (Eigen::Index l = 2; l <= 3; ++l) {
    EXPECT_TRUE(one.kernels.posterior_mean.layer(l) == two.kernels.posterior_mean.layer(l));
    EXPECT_TRUE(one.kernels.adaptation_error(l) == two.kernels.adaptation_error(l));
  }
  EXPECT_EQ(one.pareto_k, two.pareto_k);
}

TEST(ImportancePosterior, SharpLikelihoodIsFlaggedUnreliable) {
  // κ = 1e-4 and large targets on P = 4: the weights are dominated by a handful of networks.
  core::Dataset data = core::config_b_dataset();
  data.targets *= 3.0;
  core::ModelSpec spec = config_b_model(8);
  spec.kappa = 1e-4;
  const ImportancePosterior ip = run_importance_posterior(spec, data, {.networks = 4000, .batches = 4, .seed = 1});
  EXPECT_GT(ip.pareto_k, kParetoKThreshold);
  EXPECT_FALSE(ip.reliable());
  EXPECT_NE(ip.warning.find("k-hat"), std::string::npos) << ip.warning;
}

TEST(ImportancePosterior, SettingsOutOfRangeNameTheirField) {
  const core::Dataset data = core::config_b_dataset();
  try {
    run_importance_posterior(config_b_model(4), data, {.networks = 10, .batches = 1});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("importance.batches = 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_importance_posterior(config_b_model(4), data, {.networks = 1, .batches = 1}), ConfigError);
}

}  // namespace
}  // namespace kernelmc::sampling
