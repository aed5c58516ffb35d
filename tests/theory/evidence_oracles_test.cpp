// The evidence oracles (theory/evidence_oracles.hpp): Bayesian linear regression in weight
// space against the function-space density, and the deep linear L = 1 evidence against its
// infinite-width limit and against a direct Gauss–Kronrod integral in u.
#include "theory/evidence_oracles.hpp"

#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"

namespace kernelmc::theory {
namespace {

TEST(EvidenceOracles, LinearRegressionWeightSpaceEqualsFunctionSpace) {
  core::Engine engine = core::make_stream(3, core::StreamPurpose::test, 0, 0);
  for (const auto& [P, n] : {std::pair<Eigen::Index, Eigen::Index>{5, 3}, {3, 7}}) {
    const Eigen::MatrixXd A = core::standard_normal_matrix(engine, P, n);
    const Eigen::VectorXd y = core::standard_normal_matrix(engine, P, 1).col(0);
    const LinearGaussianPosterior post = bayesian_linear_regression(A, y, 0.4);
    const Eigen::MatrixXd S = A * A.transpose() + 0.4 * Eigen::MatrixXd::Identity(P, P);
    // Two factorisations of O(1) matrices: rounding ≈ 1e-14; tolerance 1e-11.
    EXPECT_NEAR(post.log_evidence, gaussian_log_density(y, S), 1e-11) << P << "x" << n;
    // Posterior mean in function space: Aμ = AAᵀ(AAᵀ + κI)⁻¹y.
    EXPECT_LT((A * post.mean - A * A.transpose() * S.ldlt().solve(y)).norm(), 1e-11);
    // Σ = I − Aᵀ(AAᵀ + κI)⁻¹A (Woodbury).
    const Eigen::MatrixXd woodbury = Eigen::MatrixXd::Identity(n, n) - A.transpose() * S.ldlt().solve(A);
    EXPECT_LT((post.covariance - woodbury).norm(), 1e-11);
  }
}

TEST(EvidenceOracles, LinearRegressionRejectsBadInputByName) {
  const Eigen::MatrixXd A = Eigen::MatrixXd::Ones(3, 2);
  EXPECT_THROW(bayesian_linear_regression(A, Eigen::Vector2d(1, 2), 1.0), DataError);
  try {
    bayesian_linear_regression(A, Eigen::Vector3d(1, 2, 3), -1.0);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("kappa"), std::string::npos);
  }
}

struct DeepLinearCase {
  Eigen::MatrixXd K0 = (Eigen::MatrixXd(3, 3) << 2.0, 0.5, 0.1, 0.5, 1.0, 0.3, 0.1, 0.3, 1.5).finished();
  Eigen::VectorXd y = Eigen::Vector3d(1.0, -0.5, 2.0);
  double g = 1.3, kappa = 0.2;
  core::ModelSpec spec(Eigen::Index N) const { return core::uniform_model(3, 1, N, core::Activation::linear, g, 0.0, kappa); }
};

TEST(EvidenceOracles, DeepLinearOneLayerMatchesDirectIntegralInU) {
  const DeepLinearCase c;
  for (Eigen::Index N : {2, 5, 30}) {
    // Independent route: Gauss–Kronrod in u itself (no log substitution, no eigenbasis),
    // Gamma(N/2, 2/N) density times the dense Gaussian density, on [0, 60] split at the mode.
    const double half = 0.5 * static_cast<double>(N);
    const auto integrand = [&](double u) {
      if (u <= 0.0) return 0.0;
      const double log_gamma = half * std::log(half) - std::lgamma(half) + (half - 1.0) * std::log(u) - half * u;
      const Eigen::MatrixXd S = c.g * u * c.K0 + c.kappa * Eigen::MatrixXd::Identity(3, 3);
      return std::exp(log_gamma + gaussian_log_density(c.y, S));
    };
    double z = 0.0;
    for (const auto& [a, b] : {std::pair{0.0, 0.5}, {0.5, 2.0}, {2.0, 8.0}, {8.0, 60.0}})
      z += boost::math::quadrature::gauss_kronrod<double, 61>::integrate(integrand, a, b, 15, 1e-12);
    // Both integrals to ≤ 1e-9 relative (the oracle's accepted Gauss–Kronrod error; the
    // direct rule's is smaller). Tolerance 1e-8 on log Z.
    EXPECT_NEAR(deep_linear_one_layer_log_evidence(c.spec(N), c.K0, c.y), std::log(z), 1e-8) << "N = " << N;
  }
}

TEST(EvidenceOracles, DeepLinearOneLayerTendsToTheGaussianProcessEvidence) {
  // u ~ χ²_N/N → 1: log Z → log N(y; 0, gK₀ + κI) with an O(1/N) correction. ASYM(1/N): the
  // difference times N stays bounded (ratio of N = 1e4 and 1e5 differences ≈ 10 ± 1 %).
  const DeepLinearCase c;
  const double gp = gaussian_log_density(c.y, c.g * c.K0 + c.kappa * Eigen::MatrixXd::Identity(3, 3));
  const double d4 = deep_linear_one_layer_log_evidence(c.spec(10000), c.K0, c.y) - gp;
  const double d5 = deep_linear_one_layer_log_evidence(c.spec(100000), c.K0, c.y) - gp;
  EXPECT_NEAR(d4 / d5, 10.0, 0.1);
}

TEST(EvidenceOracles, DeepLinearNeedsOneHiddenLayer) {
  const DeepLinearCase c;
  core::ModelSpec two = core::uniform_model(3, 2, 4, core::Activation::linear, 1.0, 0.0, 0.2);
  EXPECT_THROW(deep_linear_one_layer_log_evidence(two, c.K0, c.y), ConfigError);
}

}  // namespace
}  // namespace kernelmc::theory
