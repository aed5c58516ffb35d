#include <gtest/gtest.h>

#include <cmath>

#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "support/statistical.hpp"
#include "theory/four_point.hpp"
#include "theory/kernel_fixtures.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

using fixtures::moderate_kernel;

struct Estimate {
  Eigen::MatrixXd mean, standard_error;
};

// Mean of the batch replicates and its standard error (sd / √B).
Estimate summarise(const std::vector<Eigen::MatrixXd>& batches) {
  const double B = static_cast<double>(batches.size());
  Estimate e;
  e.mean = Eigen::MatrixXd::Zero(batches[0].rows(), batches[0].cols());
  for (const Eigen::MatrixXd& b : batches) e.mean += b / B;
  Eigen::MatrixXd ss = Eigen::MatrixXd::Zero(e.mean.rows(), e.mean.cols());
  for (const Eigen::MatrixXd& b : batches) ss += (b - e.mean).cwiseAbs2();
  e.standard_error = (ss / (B * (B - 1.0))).cwiseSqrt();
  return e;
}

// Largest |z| over the upper triangle (the distinct entries) of the K×K block.
double max_abs_z(const Estimate& e, const Eigen::MatrixXd& expected) {
  double worst = 0.0;
  for (Eigen::Index i = 0; i < expected.rows(); ++i)
    for (Eigen::Index j = i; j < expected.cols(); ++j)
      worst = std::max(worst, std::abs(e.mean(i, j) - expected(i, j)) / e.standard_error(i, j));
  return worst;
}

// S = 10⁶ draws in kFourPointBatches batches (the default of theory.four_point_samples;
// ≈ 0.5 s). K = 10, so 55 distinct entries are compared. The SE comes from the
// kFourPointBatches = 100 batch replicates (t with 99 degrees of freedom): the bound is the
// t₉₉ quantile Bonferroni over 55 entries at family-wise false-fail 1e-4 (≈ 5.08; 4.5 SE
// would fail 1e-3 of the time). The tests with fewer entries use the same bound
// (conservative).
constexpr Eigen::Index kSamples = 1000000;
const double kZ = testing::t_tolerance(kFourPointBatches, 1e-4, 55);

TEST(FourPointStatistical, MonteCarloMatchesExactErfWithinStandardErrors) {
  const Eigen::MatrixXd C = moderate_kernel();
  core::Engine engine = core::make_stream(kernelmc::testing::test_seed(20240521), core::StreamPurpose::four_point_mc, 0, 2);
  const Estimate mc = summarise(product_covariance_monte_carlo(Activation::erf, C, kSamples, engine));
  const Eigen::MatrixXd exact = product_covariance_quadrature(Activation::erf, C, 28);
  for (Eigen::Index i = 0; i < exact.rows(); ++i)
    for (Eigen::Index j = i; j < exact.cols(); ++j)
      EXPECT_TRUE(testing::WithinStandardErrors(mc.mean(i, j), exact(i, j), mc.standard_error(i, j), kZ))
          << "entry (" << i << ", " << j << ")";
}

TEST(FourPointStatistical, MonteCarloDetectsAWrongKernel) {
  // Twin that must fail: the exact Q at a kernel with 10 % larger correlations lies far
  // outside 4.5 SE of the same Monte Carlo estimate.
  const Eigen::MatrixXd C = moderate_kernel();
  Eigen::MatrixXd wrong = 1.1 * C;
  wrong.diagonal() = C.diagonal();
  core::Engine engine = core::make_stream(kernelmc::testing::test_seed(20240521), core::StreamPurpose::four_point_mc, 0, 2);
  const Estimate mc = summarise(product_covariance_monte_carlo(Activation::erf, C, kSamples, engine));
  EXPECT_GT(max_abs_z(mc, product_covariance_quadrature(Activation::erf, wrong, 28)), kZ);
}

TEST(FourPointStatistical, MonteCarloMatchesTanhGaussHermiteWithinStandardErrors) {
  // tanh, variances ≤ 0.5: Gauss–Hermite with 48 nodes is converged far below the MC
  // error (gauss_hermite_four_point_error(tanh, 0.5, 28) = 1e-6 already).
  const Eigen::MatrixXd C = 0.5 * moderate_kernel();
  core::Engine engine = core::make_stream(kernelmc::testing::test_seed(20240521), core::StreamPurpose::four_point_mc, 0, 3);
  const Estimate mc = summarise(product_covariance_monte_carlo(Activation::tanh, C, kSamples, engine));
  EXPECT_LE(max_abs_z(mc, product_covariance_gauss_hermite(Activation::tanh, C, 48)), kZ);
}

TEST(FourPointStatistical, OperatorFormMatchesExplicitQuadratureWithinStandardErrors) {
  // Q[M] = Cov(φ_aφ_b, φᵀMφ) from Monte Carlo draws (THEORY.md §9.2) vs the exact K×K Q
  // contracted over ordered pairs; P×P entries, 10 distinct, 4.5 SE each.
  const Eigen::MatrixXd C = moderate_kernel();
  Eigen::MatrixXd M(4, 4);
  M << 0.3, -1.0, 0.2, 0.5,
      -1.0, 1.2, 0.7, -0.1,
       0.2, 0.7, -0.4, 0.9,
       0.5, -0.1, 0.9, 0.8;
  core::Engine engine = core::make_stream(kernelmc::testing::test_seed(20240521), core::StreamPurpose::four_point_mc, 0, 4);
  const ActivationDraws draws = draw_activations(Activation::erf, C, kSamples, engine);
  const Estimate mc = summarise(apply_product_covariance(draws, M));
  const Eigen::MatrixXd exact = apply_triangle_covariance(product_covariance_quadrature(Activation::erf, C, 28), M);
  EXPECT_LE(max_abs_z(mc, exact), kZ);
}

}  // namespace
}  // namespace kernelmc::theory
