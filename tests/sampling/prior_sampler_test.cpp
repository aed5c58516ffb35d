#include "sampling/prior_sampler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <Eigen/Eigenvalues>
#include <limits>
#include <stdexcept>
#include <thread>

#include "core/dataset.hpp"
#include "core/dataset_generators.hpp"
#include "core/error.hpp"

namespace kernelmc::sampling {
namespace {

using ::testing::HasSubstr;

core::Engine network_stream(std::uint64_t seed, const core::ModelSpec& spec, std::uint64_t m) {
  return core::make_stream(seed, core::StreamPurpose::prior_network,
                           static_cast<std::uint64_t>(spec.widths.front()), m);
}

// Eigenvalues of a symmetric matrix, ascending.
Eigen::VectorXd eigenvalues(const Eigen::MatrixXd& C) {
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(C, Eigen::EigenvaluesOnly).eigenvalues();
}

// Runs `body` with `threads` OpenMP threads and restores the previous count, also when
// `body` throws.
template <class F>
auto with_threads(int threads, F body) {
  struct Restore {
    int previous = omp_get_max_threads();
    ~Restore() { omp_set_num_threads(previous); }
  } restore;
  omp_set_num_threads(threads);
  return body();
}

bool identical(const PriorKernelStatistics& a, const PriorKernelStatistics& b) {
  return a.points == b.points && a.networks == b.networks && a.batches == b.batches;
}

TEST(PriorSampler, DrawHasInputKernelAndSymmetricPositiveSemidefiniteKernels) {
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 3, 5, core::Activation::erf, 2.0, 0.1, 1.0);
  core::Engine engine = network_stream(1, spec, 0);
  const core::KernelStack kernels = sample_prior_kernels(spec, data.inputs, engine);
  ASSERT_EQ(kernels.top_layer(), 4);
  EXPECT_TRUE(kernels.layer(1) == core::input_kernel(data.inputs, 2.0, 0.1));
  for (Eigen::Index l = 1; l <= 4; ++l) {
    const Eigen::MatrixXd& C = kernels.layer(l);
    ASSERT_EQ(C.rows(), 3);
    EXPECT_TRUE(C == C.transpose()) << "layer " << l;
    // PSD up to rounding of the rank update (ε·‖C‖, tolerance 1e-12·‖C‖).
    EXPECT_GT(eigenvalues(C).minCoeff(), -1e-12 * C.norm()) << "layer " << l;
  }
  // C^(l+1) ≥ σ_b² entrywise on the diagonal: the bias adds σ_b² to a nonnegative Gram term.
  for (Eigen::Index l = 2; l <= 4; ++l) EXPECT_GE(kernels.layer(l).diagonal().minCoeff(), 0.1);
}

TEST(PriorSampler, NarrowLayersKeepTheRankOfTheirWidth) {
  // P = 6 inputs in d = 2 dimensions, widths 3 < P: every kernel has rank ≤ width (+1 with
  // bias). Exercises the weight-factor path (no Cholesky) at every layer.
  core::Engine data_engine = core::make_stream(2, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd X = core::standard_normal_matrix(data_engine, 6, 2);
  for (const double bias_variance : {0.0, 0.5}) {
    core::ModelSpec spec = core::uniform_model(2, 3, 3, core::Activation::tanh, 1.5, bias_variance, 1.0);
    spec.widths = {3, 2, 4};
    core::Engine engine = network_stream(5, spec, 3);
    const core::KernelStack kernels = sample_prior_kernels(spec, X, engine);
    const Eigen::Index extra = bias_variance > 0.0 ? 1 : 0;
    for (Eigen::Index l = 1; l <= 4; ++l) {
      const Eigen::VectorXd lambda = eigenvalues(kernels.layer(l));
      const Eigen::Index rank = l == 1 ? 2 + extra : spec.width(l - 1) + extra;
      // Eigenvalues beyond the rank are rounding: below 1e-12 of the largest.
      EXPECT_LT(lambda.head(6 - rank).cwiseAbs().maxCoeff(), 1e-12 * lambda.maxCoeff())
          << "layer " << l << ", bias " << bias_variance;
      EXPECT_GT(lambda(6 - rank), 1e-8 * lambda.maxCoeff()) << "layer " << l;
    }
  }
}

TEST(PriorSampler, RepeatedInputsGiveIdenticalKernelRows) {
  // Inputs 0 and 2 coincide and d = 5 > P = 3: C^(1) is singular with a full-column factor,
  // so the eigen square root is used at layer 1, and C^(l) of the wide layers is singular
  // too (Cholesky fails or hits a rounding-level pivot).
  core::Engine data_engine = core::make_stream(3, core::StreamPurpose::test, 0, 0);
  Eigen::MatrixXd X = core::standard_normal_matrix(data_engine, 3, 5);
  X.row(2) = X.row(0);
  const core::ModelSpec spec = core::uniform_model(5, 3, 16, core::Activation::erf, 1.8, 0.0, 1.0);
  for (std::uint64_t m = 0; m < 20; ++m) {
    core::Engine engine = network_stream(9, spec, m);
    const core::KernelStack kernels = sample_prior_kernels(spec, X, engine);
    for (Eigen::Index l = 2; l <= 4; ++l) {
      const Eigen::MatrixXd& C = kernels.layer(l);
      ASSERT_TRUE(C.allFinite());
      // Rows 0 and 2 agree up to rounding of the eigen square root (ε·‖C‖; tolerance 1e-12·‖C‖).
      EXPECT_LT((C.row(0) - C.row(2)).cwiseAbs().maxCoeff(), 1e-12 * C.norm())
          << "network " << m << ", layer " << l;
    }
  }
}

TEST(PriorSampler, DeadReluUnitsGiveZeroKernelsNotNaN) {
  // One input, one ReLU unit per layer: with probability ½ per layer the unit is dead and
  // every kernel above is exactly 0 (C = 0 has no Cholesky factor).
  const Eigen::MatrixXd x = Eigen::MatrixXd::Ones(1, 1);
  const core::ModelSpec spec = core::uniform_model(1, 4, 1, core::Activation::relu, 2.0, 0.0, 1.0);
  int zero_tops = 0;
  for (std::uint64_t m = 0; m < 64; ++m) {
    core::Engine engine = network_stream(4, spec, m);
    const core::KernelStack kernels = sample_prior_kernels(spec, x, engine);
    bool dead = false;
    for (Eigen::Index l = 2; l <= 5; ++l) {
      const double c = kernels.layer(l)(0, 0);
      ASSERT_TRUE(std::isfinite(c));
      if (dead) {
        EXPECT_EQ(c, 0.0) << "network " << m << ", layer " << l;
      }
      dead = dead || c == 0.0;
    }
    zero_tops += kernels.layer(5)(0, 0) == 0.0;
  }
  // P(top = 0) = 1 − (1/2)^4 = 15/16; 64 networks give ≈ 60, and "fewer than 40" has
  // probability < 1e-9 (binomial tail).
  EXPECT_GE(zero_tops, 40);
}

TEST(PriorSampler, StatisticsOfOneNetworkPerBatchAreThatNetworksDraw) {
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 2, 7, core::Activation::erf, 2.0, 0.0, 1.0);
  const PriorSamplingSettings settings{.networks = 3, .batches = 3, .seed = 21};
  const PriorKernelStatistics stats = sample_prior_statistics(spec, data.inputs, settings);
  ASSERT_EQ(stats.top_layer(), 3);
  for (std::uint64_t m = 0; m < 3; ++m) {
    core::Engine engine = network_stream(21, spec, m);
    const core::KernelStack kernels = sample_prior_kernels(spec, data.inputs, engine);
    for (Eigen::Index l = 2; l <= 3; ++l) {
      const MeanCovarianceAccumulator& batch = stats.batches[static_cast<std::size_t>(l - 2)][m];
      EXPECT_EQ(batch.count(), 1);
      EXPECT_TRUE(batch.mean() == core::upper_triangle(kernels.layer(l))) << "network " << m;
    }
  }
}

TEST(PriorSampler, BatchesAreContiguousBlocksAndPooledMergesThemInOrder) {
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 1, 4, core::Activation::erf, 2.0, 0.0, 1.0);
  const PriorSamplingSettings settings{.networks = 10, .batches = 3, .seed = 1};
  const PriorKernelStatistics stats = sample_prior_statistics(spec, data.inputs, settings);
  EXPECT_EQ(stats.points, 3);
  EXPECT_EQ(stats.networks, 10);
  ASSERT_EQ(stats.batches.size(), 1u);
  // Batch b holds networks [b·M/B, (b+1)·M/B): 0–2, 3–5, 6–9.
  EXPECT_EQ(stats.batches[0][0].count(), 3);
  EXPECT_EQ(stats.batches[0][1].count(), 3);
  EXPECT_EQ(stats.batches[0][2].count(), 4);
  MeanCovarianceAccumulator manual;
  for (Eigen::Index m = 6; m < 10; ++m) {
    core::Engine engine = network_stream(1, spec, static_cast<std::uint64_t>(m));
    manual.add(core::upper_triangle(sample_prior_kernels(spec, data.inputs, engine).layer(2)));
  }
  // Rounding only: add vs add_batch (tolerance 1e-14 relative).
  EXPECT_TRUE(stats.batches[0][2].mean().isApprox(manual.mean(), 1e-14));
  MeanCovarianceAccumulator in_order;
  for (const auto& batch : stats.batches[0]) in_order.merge(batch);
  EXPECT_TRUE(stats.pooled(2) == in_order);
  EXPECT_EQ(stats.pooled(2).count(), 10);
}

TEST(PriorSampler, StatisticsAreBitIdenticalForOneAndTwoThreads) {
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 3, 16, core::Activation::erf, 2.0, 0.2, 1.0);
  const PriorSamplingSettings settings{.networks = 2000, .batches = 7, .seed = 42};
  const auto run = [&] { return sample_prior_statistics(spec, data.inputs, settings); };
  const PriorKernelStatistics one = with_threads(1, run);
  const PriorKernelStatistics two = with_threads(2, run);
  EXPECT_TRUE(identical(one, two));
  PriorSamplingSettings other_seed = settings;
  other_seed.seed = 43;
  const PriorKernelStatistics three =
      with_threads(2, [&] { return sample_prior_statistics(spec, data.inputs, other_seed); });
  EXPECT_FALSE(identical(one, three));
  EXPECT_NE(one.pooled(4).mean(), three.pooled(4).mean());
}

TEST(PriorSampler, CovarianceTrackingCanBeTurnedOff) {
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 2, 8, core::Activation::erf, 2.0, 0.0, 1.0);
  const PriorSamplingSettings light{.networks = 100, .batches = 4, .seed = 5, .track_covariance = false};
  PriorSamplingSettings full = light;
  full.track_covariance = true;
  const PriorKernelStatistics a = sample_prior_statistics(spec, data.inputs, light);
  const PriorKernelStatistics b = sample_prior_statistics(spec, data.inputs, full);
  EXPECT_FALSE(a.pooled(3).tracks_covariance());
  EXPECT_TRUE(b.pooled(3).tracks_covariance());
  EXPECT_TRUE(a.pooled(3).mean() == b.pooled(3).mean());
  // Rounding only: the variances come from the same sums (tolerance 1e-13 relative).
  EXPECT_TRUE(a.pooled(3).variance().isApprox(b.pooled(3).covariance().diagonal(), 1e-13));
}

TEST(PriorSampler, ProjectionMomentsAreThoseOfTheFullCovariance) {
  // U = two directions in the K = 6 upper-triangle entries of config A (P = 3): the
  // projected mean and covariance equal Uᵀμ and UᵀΣU of the same networks, to rounding
  // (1e-12 relative: different summation orders of the same products).
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 2, 8, core::Activation::erf, 2.0, 0.0, 1.0);
  PriorSamplingSettings s{.networks = 200, .batches = 4, .seed = 6, .track_covariance = true};
  s.projection = Eigen::MatrixXd(6, 2);
  s.projection << 1, 0, 2, 1, 0, -1, 1, 3, 2, 0, 0.5, 1;
  const PriorKernelStatistics stats = sample_prior_statistics(spec, data.inputs, s);
  for (Eigen::Index l = 2; l <= 3; ++l) {
    const MeanCovarianceAccumulator full = stats.pooled(l), projected = stats.pooled_projection(l);
    EXPECT_EQ(projected.count(), 200);
    EXPECT_TRUE(projected.mean().isApprox(s.projection.transpose() * full.mean(), 1e-12)) << "layer " << l;
    const Eigen::MatrixXd expected = s.projection.transpose() * full.covariance() * s.projection;
    EXPECT_TRUE(projected.covariance().isApprox(expected, 1e-12)) << "layer " << l;
  }
  s.projection = Eigen::MatrixXd(5, 1);
  EXPECT_THROW(sample_prior_statistics(spec, data.inputs, s), DataError);
}

TEST(PriorSampler, ProgressIsReportedFromTheCallingThreadOnlyAndEndsAtM) {
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 1, 4, core::Activation::erf, 2.0, 0.0, 1.0);
  const PriorSamplingSettings settings{.networks = 50000, .batches = 16, .seed = 3};
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<Eigen::Index> reports;
  bool other_thread = false;
  with_threads(2, [&] {
    return sample_prior_statistics(spec, data.inputs, settings, [&](Eigen::Index done) {
      other_thread = other_thread || std::this_thread::get_id() != caller;
      reports.push_back(done);
    });
  });
  EXPECT_FALSE(other_thread);
  ASSERT_FALSE(reports.empty());
  EXPECT_LE(reports.size(), 300u);
  EXPECT_TRUE(std::is_sorted(reports.begin(), reports.end()));
  EXPECT_EQ(reports.back(), 50000);
}

TEST(PriorSampler, ProgressExceptionStopsTheRunAndIsRethrown) {
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 1, 4, core::Activation::erf, 2.0, 0.0, 1.0);
  const PriorSamplingSettings settings{.networks = 20000, .batches = 8, .seed = 3};
  int calls = 0;
  EXPECT_THROW(with_threads(2,
                            [&] {
                              return sample_prior_statistics(spec, data.inputs, settings, [&](Eigen::Index) {
                                ++calls;
                                throw std::runtime_error("interrupted");
                              });
                            }),
               std::runtime_error);
  EXPECT_EQ(calls, 1);
}

TEST(PriorSampler, OverflowThrowsNumericalErrorAlsoFromTheParallelLoop) {
  // Linear network with g = 1e200: C^(1) = 1e200 is finite, C^(2) ≈ 1e400 overflows to inf.
  const Eigen::MatrixXd x = Eigen::MatrixXd::Ones(2, 1);
  const core::ModelSpec spec = core::uniform_model(1, 2, 4, core::Activation::linear, 1e200, 0.0, 1.0);
  core::Engine engine = network_stream(1, spec, 0);
  try {
    sample_prior_kernels(spec, x, engine);
    ADD_FAILURE() << "no NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_THAT(e.what(), HasSubstr("C^(2)"));
  }
  const PriorSamplingSettings settings{.networks = 40, .batches = 4, .seed = 1};
  EXPECT_THROW(with_threads(2, [&] { return sample_prior_statistics(spec, x, settings); }), NumericalError);
}

// Expects `call` to throw E with every fragment in its message.
template <class E, class F>
void expect_error(F call, std::initializer_list<const char*> fragments) {
  try {
    call();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    for (const char* fragment : fragments) EXPECT_THAT(e.what(), HasSubstr(fragment));
  }
}

TEST(PriorSampler, InvalidSettingsThrowConfigErrorNamingTheField) {
  const core::Dataset data = core::config_a_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 1, 4, core::Activation::erf, 2.0, 0.0, 1.0);
  const auto run = [&](Eigen::Index networks, Eigen::Index batches) {
    return [&, networks, batches] {
      sample_prior_statistics(spec, data.inputs, {.networks = networks, .batches = batches});
    };
  };
  expect_error<ConfigError>(run(0, 1), {"prior_sampling.networks = 0"});
  expect_error<ConfigError>(run(10, 0), {"prior_sampling.batches = 0"});
  expect_error<ConfigError>(run(10, 11), {"prior_sampling.batches = 11", "prior_sampling.networks = 10"});
  core::ModelSpec bad = spec;
  bad.weight_variances[1] = -1.0;
  expect_error<ConfigError>([&] { sample_prior_statistics(bad, data.inputs, {.networks = 5}); }, {"model.g[2]"});
  core::Engine engine = network_stream(1, spec, 0);
  expect_error<ConfigError>([&] { sample_prior_kernels(bad, data.inputs, engine); }, {"model.g[2]"});
}

TEST(PriorSampler, InputsThatDoNotMatchTheModelThrowDataError) {
  const core::ModelSpec spec = core::uniform_model(3, 1, 4, core::Activation::erf, 2.0, 0.0, 1.0);
  core::Engine engine = network_stream(1, spec, 0);
  const Eigen::MatrixXd wrong_dim = Eigen::MatrixXd::Ones(4, 2);
  expect_error<DataError>([&] { sample_prior_kernels(spec, wrong_dim, engine); },
                          {"2 columns", "model.input_dim = 3"});
  Eigen::MatrixXd nan = Eigen::MatrixXd::Ones(4, 3);
  nan(1, 2) = std::numeric_limits<double>::quiet_NaN();
  expect_error<DataError>([&] { sample_prior_statistics(spec, nan, {.networks = 4, .batches = 1}); },
                          {"row 2, column 3"});
  expect_error<DataError>([&] { sample_prior_kernels(spec, Eigen::MatrixXd(0, 3), engine); }, {"P = 0"});
}

}  // namespace
}  // namespace kernelmc::sampling
