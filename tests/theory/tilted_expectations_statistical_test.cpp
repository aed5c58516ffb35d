// Monte Carlo checks of the importance-sampling tilted expectations (THEORY.md §4.4 item 4):
// agreement with the deterministic tensor rule within the reported standard errors (with the
// Cholesky factor and the symmetric root for h = R z), of the two factors with each other at
// P = 12, the honesty of those standard errors over independent seeds, and the variance reduction
// of the exact first-order control variate. Each comparison has a twin that must fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/activation.hpp"
#include "support/statistical.hpp"
#include "theory/kernel_fixtures.hpp"
#include "theory/tilted_expectations.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;
using fixtures::moderate_tilt;
using fixtures::small_kernel;

PointEstimateOptions options(bool exact_first_order) {
  return {.gradient_form = TiltGradientForm::price, .exact_first_order = exact_first_order, .pair_tolerance = 1e-12};
}

// Largest |estimate − reference| / (SE + reference error) over the 12 upper-triangle
// entries of the second moment and the gradient.
double worst_z(const TiltedExpectations& is, const TiltedExpectations& reference) {
  double worst = 0.0;
  for (Eigen::Index a = 0; a < 3; ++a) {
    for (Eigen::Index b = a; b < 3; ++b) {
      worst = std::max(worst, std::abs(is.second_moment(a, b) - reference.second_moment(a, b)) /
                                  (is.second_moment_error(a, b) + reference.second_moment_error(a, b)));
      worst = std::max(worst, std::abs(is.gradient(a, b) - reference.gradient(a, b)) /
                                  (is.gradient_error(a, b) + reference.gradient_error(a, b)));
    }
  }
  return worst;
}

TEST(TiltedExpectationsStatistical, ImportanceSamplingAgreesWithQuadratureWithinStandardErrors) {
  const double g = 2.0;
  // S = 2e5 draws (≈ 20 ms): kImportanceBatches = 20 batches of 1e4.
  const GaussianPoints draws = tilted_base_draws(testing::test_seed(20240521), 2, 200000, 3);
  // The SE comes from 20 batches, so (est − truth)/SE is t with 19 degrees of freedom:
  // the t₁₉ quantile, Bonferroni over 12 entries at family-wise false-fail 1e-4 (≈ 6.0);
  // the reference adds its |Q_20 − Q_14|.
  // Both factors of h = R z (the automatic Cholesky one and the symmetric root), so four
  // settings: this test's rate is 4e-4.
  const double z = testing::t_tolerance(kImportanceBatches, 1e-4, 12);
  for (CovarianceRootKind root : {CovarianceRootKind::cholesky, CovarianceRootKind::symmetric}) {
    for (bool exact_first_order : {true, false}) {
      PointEstimateOptions o = options(exact_first_order);
      o.root = root;
      const TiltedExpectations is =
          importance_sampling_tilted_expectations(Activation::erf, g, small_kernel(), moderate_tilt(), draws, o);
      const TiltedExpectations reference =
          quadrature_tilted_expectations(Activation::erf, g, small_kernel(), moderate_tilt(), 20, options(true));
      const double worst = worst_z(is, reference);
      EXPECT_LT(worst, z) << "exact_first_order " << exact_first_order << " root " << static_cast<int>(root);
      RecordProperty(std::string("worst_z_") + (root == CovarianceRootKind::cholesky ? "cholesky_" : "symmetric_") +
                         (exact_first_order ? "exact_first_order" : "plain"),
                     std::to_string(worst));
      // Twin that must fail: the reference at the opposite tilt.
      const TiltedExpectations wrong =
          quadrature_tilted_expectations(Activation::erf, g, small_kernel(), -moderate_tilt(), 20, options(true));
      EXPECT_GT(worst_z(is, wrong), z) << "exact_first_order " << exact_first_order;
      EXPECT_GT(is.effective_sample_size, 0.9 * 200000);
    }
  }
}

// Largest |a − b| / √(SE_a² + SE_b²) over the upper triangles of the second moment and the
// gradient, for two estimates from independent draws.
double worst_difference_z(const TiltedExpectations& a, const TiltedExpectations& b) {
  const Eigen::MatrixXd moment = (a.second_moment - b.second_moment).cwiseAbs().cwiseQuotient(
      (a.second_moment_error.cwiseAbs2() + b.second_moment_error.cwiseAbs2()).cwiseSqrt());
  const Eigen::MatrixXd gradient = (a.gradient - b.gradient).cwiseAbs().cwiseQuotient(
      (a.gradient_error.cwiseAbs2() + b.gradient_error.cwiseAbs2()).cwiseSqrt());
  return std::max(moment.triangularView<Eigen::Upper>().toDenseMatrix().maxCoeff(),
                  gradient.triangularView<Eigen::Upper>().toDenseMatrix().maxCoeff());
}

TEST(TiltedExpectationsStatistical, CholeskyAndSymmetricRootsAgreeWithinStandardErrors) {
  // P = 12 (no quadrature reference): a well-conditioned kernel, a tilt of FB's size, and
  // S = 1e5 independent draws for each factor of h = R z (Cholesky, symmetric root): both
  // estimate the same expectations, so their difference over √(SE_a² + SE_b²) is a Welch t
  // with at least 19 degrees of freedom (each SE from 20 batches). Bound: the t₁₉ quantile,
  // Bonferroni over the 2 × 78 upper-triangle entries at family-wise false-fail 1e-4
  // (conservative: the Welch degrees of freedom lie between 19 and 38).
  const Eigen::Index P = 12;
  const Eigen::MatrixXd A = fixtures::random_symmetric(21, P);
  const Eigen::MatrixXd C = A * A.transpose() / static_cast<double>(P) + 0.3 * Eigen::MatrixXd::Identity(P, P);
  const Eigen::MatrixXd tilt = 0.05 * fixtures::random_symmetric(22, P) / std::sqrt(static_cast<double>(P));
  const double g = 2.0;
  const double bound = testing::t_tolerance(kImportanceBatches, 1e-4, 2 * 78);
  PointEstimateOptions cholesky = options(false), symmetric = options(false);
  cholesky.root = CovarianceRootKind::cholesky;
  symmetric.root = CovarianceRootKind::symmetric;
  ASSERT_TRUE(cholesky_factor_applies(C));
  const TiltedExpectations a = importance_sampling_tilted_expectations(
      Activation::erf, g, C, tilt, tilted_base_draws(testing::test_seed(31), 2, 100000, P), cholesky);
  const TiltedExpectations b = importance_sampling_tilted_expectations(
      Activation::erf, g, C, tilt, tilted_base_draws(testing::test_seed(32), 2, 100000, P), symmetric);
  const double z = worst_difference_z(a, b);
  EXPECT_LT(z, bound);
  RecordProperty("worst_z", std::to_string(z));
  // Twin that must fail: the symmetric root's estimate at the opposite tilt.
  const TiltedExpectations wrong = importance_sampling_tilted_expectations(
      Activation::erf, g, C, -tilt, tilted_base_draws(testing::test_seed(32), 2, 100000, P), symmetric);
  const double twin = worst_difference_z(a, wrong);
  EXPECT_GT(twin, bound);
  RecordProperty("twin_z", std::to_string(twin));
}

TEST(TiltedExpectationsStatistical, StandardErrorsMatchSpreadOverSeeds) {
  // R = 40 independent seeds, S = 2e4 each: the reported SE should match the spread of
  // the estimates around the (quadrature) truth. With 20-batch SEs, z = (est − truth)/SE
  // is ≈ t with 19 degrees of freedom, so z² ~ F(1, 19): E z² = 19/17 = 1.12, and the mean
  // of 40 z² is skewed to the right. Acceptance band [0.35, 2.8], from the law of the mean
  // of 40 F(1, 19) variables (tests/support/false_fail/mean_of_f_1_19.cpp, 2·10⁶
  // replicates): 2.6e-5 below, 2.4e-5 above, so ≈ 5e-5 per quantity and 1e-4 for the
  // test. Power: an SE twice too large (mean z² ≈ 0.28)
  // fails with probability 0.85, an SE half the truth (≈ 4.5) with 0.96.
  const double g = 2.0;
  const TiltedExpectations truth =
      quadrature_tilted_expectations(Activation::erf, g, small_kernel(), moderate_tilt(), 20, options(false));
  const int R = 40;
  double sum_z2_moment = 0.0, sum_z2_gradient = 0.0;
  for (int r = 0; r < R; ++r) {
    const GaussianPoints draws = tilted_base_draws(testing::test_seed(1000 + static_cast<std::uint64_t>(r)), 2, 20000, 3);
    const TiltedExpectations is =
        importance_sampling_tilted_expectations(Activation::erf, g, small_kernel(), moderate_tilt(), draws, options(false));
    sum_z2_moment += std::pow((is.second_moment(0, 1) - truth.second_moment(0, 1)) / is.second_moment_error(0, 1), 2);
    sum_z2_gradient += std::pow((is.gradient(0, 1) - truth.gradient(0, 1)) / is.gradient_error(0, 1), 2);
  }
  const double mean_moment = sum_z2_moment / R, mean_gradient = sum_z2_gradient / R;
  RecordProperty("mean_z2_second_moment", std::to_string(mean_moment));
  RecordProperty("mean_z2_gradient", std::to_string(mean_gradient));
  EXPECT_GT(mean_moment, 0.35);
  EXPECT_LT(mean_moment, 2.8);
  EXPECT_GT(mean_gradient, 0.35);
  EXPECT_LT(mean_gradient, 2.8);
}

TEST(TiltedExpectationsStatistical, ExactFirstOrderShrinksStandardError) {
  // With C̃ small the points' part is O(C̃) without and O(C̃²) with the exact first-order
  // term, so the SE ratio is O(C̃) ≈ 0.1 at a tenth of the moderate tilt: require < ⅓.
  const double g = 2.0;
  const Eigen::MatrixXd T = 0.1 * moderate_tilt();
  const GaussianPoints draws = tilted_base_draws(testing::test_seed(3), 2, 100000, 3);
  const TiltedExpectations plain =
      importance_sampling_tilted_expectations(Activation::erf, g, small_kernel(), T, draws, options(false));
  const TiltedExpectations refined =
      importance_sampling_tilted_expectations(Activation::erf, g, small_kernel(), T, draws, options(true));
  EXPECT_LT(refined.second_moment_error.maxCoeff(), plain.second_moment_error.maxCoeff() / 3.0);
  RecordProperty("se_ratio", std::to_string(refined.second_moment_error.maxCoeff() / plain.second_moment_error.maxCoeff()));
}

}  // namespace
}  // namespace kernelmc::theory
