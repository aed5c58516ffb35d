#include "theory/four_point.hpp"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <array>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <limits>
#include <numbers>

#include "core/dataset.hpp"
#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "theory/gauss_hermite.hpp"
#include "theory/gaussian_expectations.hpp"
#include "theory/kernel_fixtures.hpp"

// libgomp comes with kernelmc::theory; declared here so that the test can vary the
// thread count without compiling itself with -fopenmp.
extern "C" void omp_set_num_threads(int);
extern "C" int omp_get_max_threads();

namespace kernelmc::theory {
namespace {

using core::Activation;

using fixtures::moderate_kernel;

std::vector<std::array<Eigen::Index, 4>> quadruple_types() {
  // 4 distinct; 3 distinct; two pairs; a triple; one input four times.
  return {{0, 1, 2, 3}, {0, 0, 2, 3}, {1, 2, 3, 3}, {0, 0, 1, 1}, {2, 2, 2, 0}, {3, 3, 3, 3}};
}

TEST(FourPoint, ErfSignMomentRouteMatchesGaussHermite) {
  const Eigen::MatrixXd C = moderate_kernel();
  for (const auto& q : quadruple_types()) {
    // Exact route (Gauss–Kronrod in one dimension, ≈ 1e-14) vs tensor Gauss–Hermite,
    // n = 80 (≈ 1e-10 at these variances): tolerance 1e-9.
    EXPECT_NEAR(erf_four_point(C, q[0], q[1], q[2], q[3]),
                four_point_gauss_hermite(Activation::erf, C, q[0], q[1], q[2], q[3], 80), 1e-9)
        << q[0] << q[1] << q[2] << q[3];
  }
}

TEST(FourPoint, ErfSignMomentRouteFactorisesOverIndependentPairs) {
  // {0, 1} independent of {2, 3}: ⟨φ₀φ₁φ₂φ₃⟩ = ⟨φ₀φ₁⟩⟨φ₂φ₃⟩, with the pair closed forms
  // (Williams) as the independent route; at variance 4, where Gauss–Hermite is poor.
  Eigen::MatrixXd C = Eigen::MatrixXd::Zero(4, 4);
  C.topLeftCorner(2, 2) << 4.0, 3.1, 3.1, 3.0;
  C.bottomRightCorner(2, 2) << 2.5, -1.9, -1.9, 3.5;
  const Eigen::MatrixXd pair = expected_phi_phi(Activation::erf, C, 0);
  // Gauss–Kronrod integrates the path integral to ≈ 1e-14: tolerance 1e-12.
  EXPECT_NEAR(erf_four_point(C, 0, 1, 2, 3), pair(0, 1) * pair(2, 3), 1e-12);
  EXPECT_NEAR(erf_four_point(C, 0, 0, 2, 2), pair(0, 0) * pair(2, 2), 1e-12);
}

TEST(FourPoint, ErfSignMomentRouteMatchesOneDimensionalIntegralAtLargeVariance) {
  // ⟨erf(h)⁴⟩ at variance q by adaptive Gauss–Kronrod in one dimension (independent
  // route, relative accuracy 1e-13), where Gauss–Hermite with 28 nodes misses by 0.8 %
  // at q = 2 and 3.5 % at q = 4. Tolerance 1e-11.
  for (double q : {0.5, 2.0, 4.0}) {
    const Eigen::MatrixXd C = Eigen::MatrixXd::Constant(1, 1, q);
    auto f = [&](double z) {
      return 2.0 * std::pow(std::erf(std::sqrt(q) * z), 4) * std::exp(-0.5 * z * z) * std::numbers::inv_sqrtpi /
             std::numbers::sqrt2;
    };
    const double reference = boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
        f, 0.0, std::numeric_limits<double>::infinity(), 15, 1e-13);
    EXPECT_NEAR(erf_four_point(C, 0, 0, 0, 0), reference, 1e-11) << q;
  }
}

TEST(FourPoint, GaussHermiteNestedRuleMatchesGenericTensorRule) {
  // The level-by-level Cholesky rule vs the plain n^m tensor rule on an eigen square
  // root (gaussian_expectation): different nodes in h-space, both converged. tanh with
  // variances ≤ 0.3 and n = 32: gauss_hermite_four_point_error(tanh, 0.25, 28) = 1.6e-9
  // is the worst case. Tolerance 1e-8.
  const Eigen::MatrixXd C = 0.3 * moderate_kernel();
  const GaussHermiteRule rule = gauss_hermite_rule(32);
  for (const auto& q : quadruple_types()) {
    const double generic = gaussian_expectation(
        [&](const Eigen::VectorXd& h) {
          double product = 1.0;
          for (Eigen::Index i : q) product *= std::tanh(h(i));
          return product;
        },
        C, rule);
    EXPECT_NEAR(four_point_gauss_hermite(Activation::tanh, C, q[0], q[1], q[2], q[3], 32), generic, 1e-8)
        << q[0] << q[1] << q[2] << q[3];
  }
}

TEST(FourPoint, SingularSubCovarianceUsesItsRange) {
  // Inputs 0 and 1 identical: the 4-D set {0, 1, 2, 3} is singular (rank 3), and
  // ⟨φ₀φ₁φ₂φ₃⟩ must equal ⟨φ₀²φ₂φ₃⟩ (the exact erf route handles both: Cov w = 2C + I).
  Eigen::MatrixXd C = moderate_kernel();
  C.row(1) = C.row(0);
  C.col(1) = C.col(0);
  // Gauss–Hermite n = 60 at variance ≤ 1 is converged to ≈ 1e-9; tolerance 1e-8.
  EXPECT_NEAR(four_point_gauss_hermite(Activation::erf, C, 0, 1, 2, 3, 60), erf_four_point(C, 0, 0, 2, 3), 1e-8);
  EXPECT_NEAR(erf_four_point(C, 0, 1, 2, 3), erf_four_point(C, 0, 0, 2, 3), 1e-13);
}

TEST(FourPoint, LinearQuadratureIsIsserlis) {
  // Degree-4 polynomials: Gauss–Hermite with 3 nodes is exact, and so is Isserlis.
  const Eigen::MatrixXd C = moderate_kernel();
  EXPECT_LT((product_covariance_quadrature(Activation::linear, C, 28) -
             product_covariance_gauss_hermite(Activation::linear, C, 3)).cwiseAbs().maxCoeff(), 1e-13);
}

TEST(FourPoint, ConfigAOneLayerCovarianceMatchesTheoryPrintedDigits) {
  // THEORY.md §8 V2: N·Cov(C^(2)) = g²·Q at C^(1) (g = 2). The erf route is exact, so
  // the tolerance is half a unit in the last printed digit, 5e-6.
  const Eigen::MatrixXd C1 = core::input_kernel(core::config_a_dataset().inputs, 2.0, 0.0);
  const Eigen::MatrixXd V = 4.0 * product_covariance_quadrature(Activation::erf, C1, 28);
  auto k = [](Eigen::Index a, Eigen::Index b) { return core::triangle_index(a, b, 3); };
  EXPECT_NEAR(V(k(0, 0), k(0, 0)), 0.53306, 5e-6);
  EXPECT_NEAR(V(k(0, 1), k(0, 1)), 1.09015, 5e-6);
  EXPECT_NEAR(V(k(0, 1), k(0, 2)), 0.52821, 5e-6);
  EXPECT_NEAR(V(k(0, 2), k(0, 2)), 1.39398, 5e-6);
}

TEST(FourPoint, GaussHermiteAtConfigAVarianceNeedsManyNodes) {
  // C^(1)_aa = 2 in Config A. Gauss–Hermite with 28 nodes misses Var(C_00) by ≈ 3 %,
  // and its error estimate says so; 160 nodes reach the exact route to 1e-9.
  const Eigen::MatrixXd C1 = core::input_kernel(core::config_a_dataset().inputs, 2.0, 0.0);
  const Eigen::MatrixXd exact = product_covariance_quadrature(Activation::erf, C1, 28);
  const Eigen::MatrixXd coarse = product_covariance_gauss_hermite(Activation::erf, C1, 28);
  const Eigen::MatrixXd fine = product_covariance_gauss_hermite(Activation::erf, C1, 160);
  EXPECT_GT(std::abs(coarse(0, 0) - exact(0, 0)), 1e-3);
  EXPECT_GT(gauss_hermite_four_point_error(Activation::erf, 2.0, 28), 1e-3);
  EXPECT_LT((fine - exact).cwiseAbs().maxCoeff(), 1e-9);
}

TEST(FourPoint, GaussHermiteCovarianceVanishesForIndependentProducts) {
  // The subtracted 2-point functions use the same rule, so Q_{01,23} = 0 to rounding for
  // independent blocks even where the rule itself is inaccurate (variance 4, n = 14).
  Eigen::MatrixXd C = Eigen::MatrixXd::Zero(4, 4);
  C.topLeftCorner(2, 2) << 4.0, 1.1, 1.1, 3.0;
  C.bottomRightCorner(2, 2) << 2.5, -0.9, -0.9, 3.5;
  const Eigen::MatrixXd Q = product_covariance_gauss_hermite(Activation::tanh, C, 14);
  EXPECT_NEAR(Q(core::triangle_index(0, 1, 4), core::triangle_index(2, 3, 4)), 0.0, 1e-15);
  EXPECT_NEAR(Q(core::triangle_index(0, 0, 4), core::triangle_index(3, 3, 4)), 0.0, 1e-15);
}

TEST(FourPoint, ProductCovarianceIsSymmetricAndPositiveSemiDefinite) {
  const Eigen::MatrixXd C = moderate_kernel();
  for (Activation activation : {Activation::linear, Activation::erf, Activation::tanh}) {
    const Eigen::MatrixXd Q = product_covariance_quadrature(activation, C, 28);
    EXPECT_TRUE(Q.isApprox(Q.transpose(), 0.0));
    // A covariance matrix: smallest eigenvalue ≥ −(rounding of the entries, 1e-12).
    EXPECT_GT(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(Q).eigenvalues().minCoeff(), -1e-12)
        << core::activation_name(activation);
  }
}

TEST(FourPoint, OperatorContractionMatchesExplicitMonteCarloOnSameDraws) {
  const Eigen::MatrixXd C = moderate_kernel();
  core::Engine engine = core::make_stream(5, core::StreamPurpose::four_point_mc, 0, 2);
  core::Engine copy = engine;
  const Eigen::Index samples = 20000;
  const std::vector<Eigen::MatrixXd> explicit_batches =
      product_covariance_monte_carlo(Activation::erf, C, samples, engine);
  const ActivationDraws draws = draw_activations(Activation::erf, C, samples, copy);
  ASSERT_EQ(static_cast<Eigen::Index>(explicit_batches.size()), kFourPointBatches);
  ASSERT_EQ(draws.batches(), kFourPointBatches);
  Eigen::MatrixXd M(4, 4);
  M << 0.3, -1.0, 0.2, 0.5,
      -1.0, 1.2, 0.7, -0.1,
       0.2, 0.7, -0.4, 0.9,
       0.5, -0.1, 0.9, 0.8;
  const std::vector<Eigen::MatrixXd> operator_batches = apply_product_covariance(draws, M);
  for (Eigen::Index b = 0; b < kFourPointBatches; ++b) {
    // Same draws, same batches, two summation orders: rounding only (1e-12).
    EXPECT_LT((operator_batches[static_cast<std::size_t>(b)] -
               apply_triangle_covariance(explicit_batches[static_cast<std::size_t>(b)], M)).cwiseAbs().maxCoeff(),
              1e-12);
  }
}

TEST(FourPoint, TriangleContractionSumsOverOrderedPairs) {
  const Eigen::Index P = 3, K = core::triangle_size(P);
  Eigen::MatrixXd Q(K, K);
  for (Eigen::Index i = 0; i < K; ++i)
    for (Eigen::Index j = 0; j < K; ++j) Q(i, j) = 1.0 + i + 10.0 * j + (i == j ? 5.0 : 0.0);
  Q = (Q + Q.transpose()).eval();
  Eigen::MatrixXd M(3, 3);
  M << 1.0, 2.0, -1.0,
       2.0, 0.5, 3.0,
      -1.0, 3.0, -2.0;
  const Eigen::MatrixXd out = apply_triangle_covariance(Q, M);
  for (Eigen::Index a = 0; a < P; ++a) {
    for (Eigen::Index b = 0; b < P; ++b) {
      double expected = 0.0;  // Σ over all ordered (c, d)
      for (Eigen::Index c = 0; c < P; ++c)
        for (Eigen::Index d = 0; d < P; ++d) expected += Q(core::triangle_index(a, b, P), core::triangle_index(c, d, P)) * M(c, d);
      EXPECT_NEAR(out(a, b), expected, 1e-12);
    }
  }
}

TEST(FourPoint, TooFewMonteCarloSamplesIsAConfigError) {
  core::Engine engine = core::make_stream(1, core::StreamPurpose::four_point_mc, 0, 2);
  try {
    product_covariance_monte_carlo(Activation::erf, moderate_kernel(), kFourPointBatches, engine);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("theory.four_point_samples"), std::string::npos) << e.what();
  }
}

TEST(FourPoint, AutomaticMethodFollowsActivationSizeAndAccuracy) {
  core::TheorySettings settings;  // automatic, 28 nodes, P ≤ 12
  using core::FourPointMethod;
  EXPECT_EQ(resolve_four_point_method(settings, Activation::erf, 8, 4.0), FourPointMethod::quadrature);
  EXPECT_EQ(resolve_four_point_method(settings, Activation::linear, 12, 4.0), FourPointMethod::quadrature);
  EXPECT_EQ(resolve_four_point_method(settings, Activation::erf, 13, 0.5), FourPointMethod::monte_carlo);
  EXPECT_EQ(resolve_four_point_method(settings, Activation::relu, 3, 0.5), FourPointMethod::monte_carlo);
  // tanh: quadrature when converged and affordable; not at variance 2 (error 2e-3), not
  // at P = 8 (C(8,4)·28⁴ = 4.3e7 > kMaxGaussHermiteNodes nodes).
  EXPECT_EQ(resolve_four_point_method(settings, Activation::tanh, 6, 0.25), FourPointMethod::quadrature);
  EXPECT_EQ(resolve_four_point_method(settings, Activation::tanh, 6, 2.0), FourPointMethod::monte_carlo);
  EXPECT_EQ(resolve_four_point_method(settings, Activation::tanh, 8, 0.25), FourPointMethod::monte_carlo);
  settings.four_point = FourPointMethod::quadrature;
  EXPECT_EQ(resolve_four_point_method(settings, Activation::relu, 40, 9.0), FourPointMethod::quadrature);
}

TEST(FourPoint, GaussHermiteResultDoesNotDependOnThreadCount) {
  Eigen::MatrixXd C(6, 6);
  C.setIdentity();
  C.topLeftCorner(4, 4) = moderate_kernel();
  C(4, 5) = C(5, 4) = 0.2;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const Eigen::MatrixXd one = product_covariance_gauss_hermite(Activation::tanh, C, 12);
  omp_set_num_threads(2);
  const Eigen::MatrixXd two = product_covariance_gauss_hermite(Activation::tanh, C, 12);
  omp_set_num_threads(threads);
  EXPECT_EQ(one, two);  // bit-identical
}

}  // namespace
}  // namespace kernelmc::theory
