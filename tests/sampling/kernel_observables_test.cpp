// Kernel observables (sampling/kernel_observables.hpp): KTA and CKA against their
// definitions, the batch-means estimator against its formula, the recorder against the
// network's own empirical kernels, and the summary against the diagnostics it wraps.
#include "sampling/kernel_observables.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "sampling/diagnostics/ess.hpp"
#include "sampling/diagnostics/mcse.hpp"
#include "sampling/diagnostics/rhat.hpp"
#include "sampling/network.hpp"

namespace kernelmc::sampling {
namespace {

Eigen::MatrixXd random_psd(Eigen::Index P, std::uint64_t index) {
  core::Engine engine = core::make_stream(1, core::StreamPurpose::test, 0, index);
  const Eigen::MatrixXd A = core::standard_normal_matrix(engine, P, P + 2);
  return A * A.transpose();
}

// The definitions, with explicit matrices.
double kta_by_definition(const Eigen::MatrixXd& C, const Eigen::MatrixXd& Y) {
  const Eigen::MatrixXd T = Y * Y.transpose();
  return (C.cwiseProduct(T)).sum() / (C.norm() * T.norm());
}
double cka_by_definition(const Eigen::MatrixXd& C, const Eigen::MatrixXd& Y) {
  const Eigen::Index P = C.rows();
  const Eigen::MatrixXd H = Eigen::MatrixXd::Identity(P, P) - Eigen::MatrixXd::Constant(P, P, 1.0 / static_cast<double>(P));
  return kta_by_definition(H * C * H, H * Y);
}

TEST(KernelAlignment, KtaAndCkaMatchTheirDefinitions) {
  core::Engine engine = core::make_stream(2, core::StreamPurpose::test, 0, 0);
  for (Eigen::Index D : {1, 3}) {
    const Eigen::MatrixXd C = random_psd(6, static_cast<std::uint64_t>(D));
    const Eigen::MatrixXd Y = core::standard_normal_matrix(engine, 6, D);
    // Same quantity by another order of operations: agreement to rounding, 1e-13.
    EXPECT_NEAR(kernel_target_alignment(C, Y), kta_by_definition(C, Y), 1e-13);
    EXPECT_NEAR(centered_kernel_alignment(C, Y), cka_by_definition(C, Y), 1e-13);
  }
}

TEST(KernelAlignment, TargetKernelIsPerfectlyAlignedAndScaleDoesNotMatter) {
  // Dynamic size: GCC 12 reports a false -Warray-bounds for Eigen's AVX-512 copy of a Vector4d.
  const Eigen::VectorXd y = (Eigen::VectorXd(4) << 1.0, -1.0, -1.0, 1.0).finished();
  const Eigen::MatrixXd T = y * y.transpose();
  EXPECT_NEAR(kernel_target_alignment(T, y), 1.0, 1e-15);
  EXPECT_NEAR(centered_kernel_alignment(T, y), 1.0, 1e-15);
  const Eigen::MatrixXd C = random_psd(4, 7);
  EXPECT_NEAR(kernel_target_alignment(3.5 * C, y), kernel_target_alignment(C, y), 1e-14);
  // Centring removes a constant offset c𝟏𝟏ᵀ; the uncentred alignment sees it.
  const Eigen::MatrixXd shifted = C + Eigen::MatrixXd::Constant(4, 4, 2.0);
  EXPECT_NEAR(centered_kernel_alignment(shifted, y), centered_kernel_alignment(C, y), 1e-13);
  EXPECT_GT(std::abs(kernel_target_alignment(shifted, y) - kernel_target_alignment(C, y)), 1e-3);
}

TEST(KernelAlignment, ZeroKernelIsUnalignedAndZeroTargetIsUndefined) {
  const Eigen::Vector3d y(1.0, 2.0, -1.0);
  EXPECT_EQ(kernel_target_alignment(Eigen::MatrixXd::Zero(3, 3), y), 0.0);
  EXPECT_EQ(centered_kernel_alignment(Eigen::MatrixXd::Constant(3, 3, 4.0), y), 0.0);  // HCH = 0
  EXPECT_TRUE(std::isnan(kernel_target_alignment(Eigen::MatrixXd::Identity(3, 3), Eigen::Vector3d::Zero())));
  EXPECT_TRUE(std::isnan(centered_kernel_alignment(Eigen::MatrixXd::Identity(3, 3), Eigen::Vector3d::Ones())));
}

TEST(BatchMeans, ConsecutiveDrawsFormBatchesOfNearlyEqualSize) {
  BatchMeans b(1, 10, 3);
  for (Eigen::Index i = 0; i < 10; ++i) b.add(i, Eigen::VectorXd::Constant(1, static_cast<double>(i)));
  EXPECT_EQ(b.sizes(), Eigen::Vector3i(4, 3, 3));
  EXPECT_EQ(b.means(), Eigen::RowVector3d(1.5, 5.0, 8.0));
}

TEST(BatchMeans, PooledEstimateFollowsTheWeightedFormula) {
  // Two chains of 5 draws, 2 batches each: sizes (3, 2), means m_j.
  BatchMeans a(1, 5, 2), b(1, 5, 2);
  const double xa[] = {1, 2, 3, 10, 12}, xb[] = {0, 0, 3, 4, 4};
  for (Eigen::Index i = 0; i < 5; ++i) {
    a.add(i, Eigen::VectorXd::Constant(1, xa[i]));
    b.add(i, Eigen::VectorXd::Constant(1, xb[i]));
  }
  const BatchMeansEstimate e = pool_batch_means({&a, &b});
  const double mean = 39.0 / 10.0;
  // Batch means 2, 11, 1, 4 with sizes 3, 2, 3, 2: SE² = Σ n_j (m_j − x̄)² / ((J − 1) n).
  const double spread = 3 * std::pow(2 - mean, 2) + 2 * std::pow(11 - mean, 2) + 3 * std::pow(1 - mean, 2) +
                        2 * std::pow(4 - mean, 2);
  EXPECT_NEAR(e.mean(0), mean, 1e-15);
  EXPECT_NEAR(e.se(0), std::sqrt(spread / (3.0 * 10.0)), 1e-15);
  EXPECT_EQ(e.degrees_of_freedom, 3);
}

// A fixed sequence of parameter vectors, as a chain would record them.
std::vector<Eigen::VectorXd> parameter_sequence(Eigen::Index dimension, Eigen::Index draws, std::uint64_t chain) {
  core::Engine engine = core::make_stream(4, core::StreamPurpose::test, 2, chain);
  std::vector<Eigen::VectorXd> thetas;
  for (Eigen::Index i = 0; i < draws; ++i) thetas.emplace_back(core::standard_normal_matrix(engine, dimension, 1).col(0));
  return thetas;
}

TEST(KernelObservables, RecordsTheNetworksEmpiricalKernelsAndTheirSummaries) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 2, 5, core::Activation::erf, 2.0, 0.0, 1.0);
  const ObservableSettings settings{.draws = 12, .batches = 3, .keep_entry_draws = true};
  std::vector<KernelObservables> chains(2, KernelObservables(spec, data, settings));
  Network network(spec, data.inputs);
  const Eigen::Index hidden = network.layout().hidden_size();
  // Expected values by the network itself: per layer, the K × 24 matrix of entries.
  std::vector<Eigen::MatrixXd> entries(2, Eigen::MatrixXd(10, 24));
  std::vector<Eigen::MatrixXd> summaries(2, Eigen::MatrixXd(24, 3));
  for (std::uint64_t c = 0; c < 2; ++c) {
    const auto thetas = parameter_sequence(hidden, 12, c);
    for (Eigen::Index i = 0; i < 12; ++i) {
      chains[c].record(i, thetas[static_cast<std::size_t>(i)]);
      const core::KernelStack kernels = network.empirical_kernels(thetas[static_cast<std::size_t>(i)]);
      for (Eigen::Index l = 2; l <= 3; ++l) {
        const Eigen::MatrixXd& C = kernels.layer(l);
        const Eigen::Index col = static_cast<Eigen::Index>(c) * 12 + i;
        entries[l - 2].col(col) = core::upper_triangle(C);
        summaries[l - 2].row(col) << C.trace(), kta_by_definition(C, data.targets), cka_by_definition(C, data.targets);
      }
    }
  }
  const KernelPosteriorSummary s = summarize_observables(chains);
  EXPECT_EQ(s.points, 4);
  EXPECT_EQ(s.chains, 2);
  EXPECT_EQ(s.batch_degrees_of_freedom, 5);
  for (Eigen::Index l = 2; l <= 3; ++l) {
    const LayerSummary& layer = s.layer(l);
    const Eigen::MatrixXd& e = entries[l - 2];
    // Sums in another order: rounding only, 1e-13.
    EXPECT_LT((layer.mean - core::from_upper_triangle(e.rowwise().mean(), 4)).cwiseAbs().maxCoeff(), 1e-13);
    // SE by the pooled batch-means formula, batches of 4 draws.
    for (Eigen::Index k = 0; k < 10; ++k) {
      const auto [a, b] = core::triangle_pair(k, 4);
      double spread = 0.0;
      for (Eigen::Index j = 0; j < 6; ++j) spread += 4.0 * std::pow(e.row(k).segment(4 * j, 4).mean() - e.row(k).mean(), 2);
      EXPECT_NEAR(layer.mcse(a, b), std::sqrt(spread / (5.0 * 24.0)), 1e-13) << "entry " << k;
      EXPECT_NEAR(layer.sd(a, b), std::sqrt((e.row(k).array() - e.row(k).mean()).square().sum() / 23.0), 1e-13);
      Eigen::MatrixXd series(12, 2);
      series << e.row(k).head(12).transpose(), e.row(k).tail(12).transpose();
      EXPECT_EQ(layer.rhat(a, b), rhat(series));
      EXPECT_EQ(layer.ess_bulk(a, b), ess_bulk(series));
      EXPECT_EQ(layer.ess_tail(a, b), ess_tail(series));
      EXPECT_EQ(layer.mean(a, b), layer.mean(b, a));
    }
    for (int k = 0; k < kKernelSummaryKinds; ++k) {
      const ScalarSummary& sum = layer.summaries[static_cast<std::size_t>(k)];
      ASSERT_TRUE(sum.defined);
      Eigen::MatrixXd series(12, 2);
      series << summaries[l - 2].col(k).head(12), summaries[l - 2].col(k).tail(12);
      EXPECT_LT((sum.draws - series).cwiseAbs().maxCoeff(), 1e-13);
      EXPECT_NEAR(sum.mean, series.mean(), 1e-13);
      EXPECT_EQ(sum.mcse, mcse_mean(sum.draws));
      EXPECT_EQ(sum.rhat, rhat(sum.draws));
      EXPECT_EQ(sum.ess_bulk, ess_bulk(sum.draws));
    }
    ASSERT_EQ(layer.entry_draws.size(), 2u);
    EXPECT_LT((layer.entry_draws[1] - e.rightCols(12)).cwiseAbs().maxCoeff(), 1e-13);
  }
  EXPECT_EQ(s.output_mean.size(), 0) << "output not requested";
}

TEST(KernelObservables, RecordsTheNetworkOutputOfFullParameterVectors) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 1, 4, core::Activation::tanh, 1.5, 0.2, 1.0);
  std::vector<KernelObservables> chains(1, KernelObservables(spec, data, {.draws = 6, .batches = 2, .record_output = true}));
  Network network(spec, data.inputs);
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(4, 1);
  Eigen::Index i = 0;
  for (const Eigen::VectorXd& theta : parameter_sequence(network.layout().size(), 6, 0)) {
    chains[0].record(i++, theta);
    network.forward(theta);
    sum += network.output();
  }
  const KernelPosteriorSummary s = summarize_observables(chains);
  EXPECT_LT((s.output_mean - sum / 6.0).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_EQ(s.output_mcse.rows(), 4);
  EXPECT_FALSE(s.entry_draws_kept);
  EXPECT_TRUE(s.layer(2).rhat.size() == 0) << "no per-entry diagnostics without kept draws";
}

TEST(KernelObservables, NonFiniteKernelThrowsNumericalErrorNamingDrawAndLayer) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 1, 2, core::Activation::linear, 1.0, 0.0, 1.0);
  KernelObservables observables(spec, data, {.draws = 2, .batches = 1});
  const Eigen::VectorXd huge = Eigen::VectorXd::Constant(6, 1e200);
  try {
    observables.record(1, huge);
    ADD_FAILURE() << "no error";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("posterior draw 1: kernel C^(2) is not finite"), std::string::npos) << e.what();
  }
}

TEST(KernelObservables, UndefinedSummariesAreFlaggedNeverNaN) {
  core::Dataset data = core::config_b_dataset();
  data.targets.setConstant(1.0);  // HY = 0: CKA undefined, KTA defined
  const core::ModelSpec spec = core::uniform_model(3, 1, 3, core::Activation::erf, 1.0, 0.0, 1.0);
  std::vector<KernelObservables> chains(2, KernelObservables(spec, data, {.draws = 8, .batches = 2}));
  EXPECT_TRUE(chains[0].summary_defined(KernelSummaryKind::kta));
  EXPECT_FALSE(chains[0].summary_defined(KernelSummaryKind::cka));
  for (std::uint64_t c = 0; c < 2; ++c) {
    const auto thetas = parameter_sequence(9, 8, c);
    for (Eigen::Index i = 0; i < 8; ++i) chains[c].record(i, thetas[static_cast<std::size_t>(i)]);
  }
  const KernelPosteriorSummary s = summarize_observables(chains);
  const ScalarSummary& cka = s.layer(2).summary(KernelSummaryKind::cka);
  EXPECT_FALSE(cka.defined);
  EXPECT_EQ(cka.draws.size(), 0);
  EXPECT_EQ(cka.rhat, 0.0);
  EXPECT_TRUE(s.layer(2).summary(KernelSummaryKind::kta).defined);

  core::Dataset two = data;
  two.inputs = data.inputs.topRows(2);
  two.targets = (Eigen::VectorXd(2) << 1.0, -1.0).finished();
  const KernelObservables small(spec, two, {.draws = 1, .batches = 1});
  EXPECT_FALSE(small.summary_defined(KernelSummaryKind::cka)) << "P = 2: CKA = ±1 identically";
  two.targets.setZero();
  EXPECT_FALSE(KernelObservables(spec, two, {.draws = 1, .batches = 1}).summary_defined(KernelSummaryKind::kta));
}

TEST(KernelObservables, ConstantDrawsGiveZeroErrorsAndNaNDiagnostics) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = core::uniform_model(3, 1, 3, core::Activation::erf, 1.0, 0.0, 1.0);
  std::vector<KernelObservables> chains(2, KernelObservables(spec, data, {.draws = 8, .batches = 2}));
  const Eigen::VectorXd theta = parameter_sequence(9, 1, 0).front();
  for (auto& c : chains)
    for (Eigen::Index i = 0; i < 8; ++i) c.record(i, theta);
  const KernelPosteriorSummary s = summarize_observables(chains);
  EXPECT_LT(s.layer(2).mcse.cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_TRUE(s.layer(2).autocorrelation_time.allFinite()) << "τ̂ of a constant entry is 0, not 0/0";
  // A stuck chain has no R̂ (sampling/diagnostics: NaN); the convergence gate fails on it.
  EXPECT_TRUE(std::isnan(s.layer(2).summary(KernelSummaryKind::trace).rhat));
}

TEST(KernelObservables, BadBatchCountThrowsConfigErrorNamingTheField) {
  for (Eigen::Index batches : {0, 11}) {
    try {
      validate(ObservableSettings{.draws = 10, .batches = batches});
      ADD_FAILURE() << batches;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("posterior.batches = " + std::to_string(batches)), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace kernelmc::sampling
