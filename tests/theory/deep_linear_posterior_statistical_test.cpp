// Importance-sampling checks of the exact deep linear posterior (THEORY.md §7, V8, V9).
// Proposals are exact prior draws, weights the Gaussian likelihood computed with dense
// Cholesky factors, so nothing is shared with the oracles' eigenbasis quadrature. The
// self-normalised estimator Σ w f / Σ w has delta-method SE
// √(Σ w²(f − f̂)²)/Σ w, estimated from the same draws.
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <boost/random/gamma_distribution.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"
#include "support/statistical.hpp"
#include "theory/deep_linear_posterior.hpp"

namespace kernelmc::theory {
namespace {

using kernelmc::testing::bonferroni_z;
using kernelmc::testing::WithinStandardErrors;

core::ModelSpec linear_model(Eigen::Index depth, Eigen::Index width, double g, double kappa) {
  return core::uniform_model(3, depth, width, core::Activation::linear, g, 0.0, kappa);
}

// log N(y; 0, S) + (P/2) log 2π (fixed-size or dynamic S).
template <class Matrix, class Vector>
double log_gaussian(const Matrix& S, const Vector& y) {
  const Eigen::LLT<Matrix> llt(S);
  const Vector white = llt.matrixL().solve(y);
  return -0.5 * white.squaredNorm() - llt.matrixLLT().diagonal().array().log().sum();
}

// Self-normalised importance-sampling estimates of E[f_j], one row of `values` per j.
struct Weighted {
  Eigen::VectorXd mean;
  Eigen::VectorXd se;
  double ess = 0.0;  // (Σ w)²/Σ w²
};
Weighted self_normalised(const std::vector<double>& log_weights, const Eigen::MatrixXd& values) {
  const auto M = static_cast<Eigen::Index>(log_weights.size());
  Eigen::ArrayXd w(M);
  const double top = *std::max_element(log_weights.begin(), log_weights.end());
  for (Eigen::Index m = 0; m < M; ++m) w(m) = std::exp(log_weights[static_cast<std::size_t>(m)] - top);
  w /= w.sum();
  Weighted out;
  out.mean = values * w.matrix();
  out.se.resize(values.rows());
  for (Eigen::Index j = 0; j < values.rows(); ++j)
    out.se(j) = std::sqrt((w.square() * (values.row(j).array().transpose() - out.mean(j)).square()).sum());
  out.ess = 1.0 / w.square().sum();
  return out;
}

// The P = 3 problem used for the full-network check.
Eigen::MatrixXd three_input_kernel() {
  Eigen::MatrixXd X(3, 3);
  X << 1, 0, 0, 0.6, 0.8, 0, 0, 0.6, 0.8;
  return 1.2 * X * X.transpose();
}

// V8 (EXACT): the §7.2 reduction to a 1-D integral over s, checked against the network
// itself. Prior draws of the hidden layer (h = R Z, C^(2) = (g/N) h hᵀ) are weighted by the
// collapsed likelihood N(y; 0, C^(2) + κI) of THEORY.md §1.5, which integrates the readout
// out exactly. Twin: dropping the −1/N of g(1 − 1/N)K₀ shifts every entry by gK₀/N and must
// be rejected.
TEST(OneHiddenLayerPosterior, MeanKernelMatchesImportanceSampledNetworks) {
  const Eigen::Index N = 8;
  const double g = 1.3;
  const core::ModelSpec spec = linear_model(1, N, g, 0.5);
  const Eigen::MatrixXd K = three_input_kernel();
  const Eigen::VectorXd y = Eigen::Vector3d(1.0, -1.0, 0.5);
  const Eigen::MatrixXd R = Eigen::LLT<Eigen::MatrixXd>(K).matrixL();
  const Eigen::Index M = 200000;  // ≈ 0.3 s; ESS ≈ 0.6 M
  std::vector<double> log_weights(static_cast<std::size_t>(M));
  Eigen::MatrixXd kernels(6, M);
  Eigen::MatrixXd Z(3, N);
  for (Eigen::Index m = 0; m < M; ++m) {
    core::Engine engine = core::make_stream(kernelmc::testing::test_seed(7001), core::StreamPurpose::test, N, static_cast<std::uint64_t>(m));
    core::fill_standard_normal(engine, Z);
    const Eigen::MatrixXd h = R * Z;
    const Eigen::MatrixXd C = (g / static_cast<double>(N)) * h * h.transpose();
    kernels.col(m) = core::upper_triangle(C);
    log_weights[static_cast<std::size_t>(m)] =
        log_gaussian(Eigen::MatrixXd(C + 0.5 * Eigen::MatrixXd::Identity(3, 3)), y);
  }
  const Weighted is = self_normalised(log_weights, kernels);
  const Eigen::VectorXd exact = core::upper_triangle(one_hidden_layer_posterior(spec, K, y).mean_kernel);
  const Eigen::VectorXd twin = exact + core::upper_triangle(g * K / static_cast<double>(N));
  // 6 entries, family-wise false-fail 1e-3: Bonferroni z ≈ 3.8
  const double z = bonferroni_z(1e-3, 6);
  double twin_worst = 0.0;
  for (Eigen::Index i = 0; i < 6; ++i) {
    EXPECT_TRUE(WithinStandardErrors(is.mean(i), exact(i), is.se(i), z)) << "entry " << i;
    twin_worst = std::max(twin_worst, std::abs(is.mean(i) - twin(i)) / is.se(i));
  }
  std::printf("E[C2|y] by IS over networks: ESS %.0f, max |z| twin %.1f (bound %.2f)\n", is.ess, twin_worst, z);
  EXPECT_GT(twin_worst, z) << "the twin without -1/N was not rejected: the test has no power";
}

// V9 (EXACT): E[s|y] and E[s²|y] from the quadrature (L = 1, 2) and the log-scale
// convolution (L = 3) against importance sampling of the renormalisations u_k ~ χ²_N/N.
// Twin: the N → ∞ saddle s* differs from E[s|y] by O(1/N) and must be rejected at N = 10.
TEST(ScalePosterior, MomentsMatchImportanceSampledRenormalisations) {
  Eigen::MatrixXd X(4, 5);
  X << 1.0, 0.2, -0.3, 0.5, 0.0,  //
      0.1, 1.1, 0.4, -0.2, 0.3,    //
      -0.6, 0.3, 0.9, 0.0, 0.5,    //
      0.2, -0.5, 0.1, 1.2, 0.0;
  const Eigen::Matrix4d K = X * X.transpose() / 5.0;
  const Eigen::Vector4d y(1.2, -0.8, 1.5, -0.4);
  // per depth; ≈ 0.1 s each. Sized for the twin: E[s|y] − s* ≈ 0.006 at L = 1 against an SE
  // of ≈ 0.0007, so the twin is rejected at z ≈ 8 while the bound is 3.8.
  const Eigen::Index N = 10, M = 400000;
  // 3 depths × 2 moments: Bonferroni z for family-wise false-fail 1e-3
  const double z = bonferroni_z(1e-3, 6);
  for (Eigen::Index L : {1, 2, 3}) {
    const core::ModelSpec spec = linear_model(L, N, 1.15, 0.3);
    const double G = std::pow(1.15, static_cast<double>(L));
    boost::random::gamma_distribution<double> chi2_over_n(0.5 * N, 2.0 / N);
    core::Engine engine = core::make_stream(kernelmc::testing::test_seed(7002), core::StreamPurpose::test, N, static_cast<std::uint64_t>(L));
    std::vector<double> log_weights(static_cast<std::size_t>(M));
    Eigen::MatrixXd moments(2, M);
    for (Eigen::Index m = 0; m < M; ++m) {
      double s = G;
      for (Eigen::Index k = 0; k < L; ++k) s *= chi2_over_n(engine);
      moments(0, m) = s;
      moments(1, m) = s * s;
      log_weights[static_cast<std::size_t>(m)] =
          log_gaussian(Eigen::Matrix4d(s * K + 0.3 * Eigen::Matrix4d::Identity()), y);
    }
    const Weighted is = self_normalised(log_weights, moments);
    const ScalePosterior post = deep_linear_scale_posterior(spec, K, y);
    EXPECT_TRUE(WithinStandardErrors(is.mean(0), post.mean, is.se(0), z)) << "E[s|y], L = " << L;
    EXPECT_TRUE(WithinStandardErrors(is.mean(1), post.variance + post.mean * post.mean, is.se(1), z))
        << "E[s²|y], L = " << L;
    const double saddle = deep_linear_scale_saddle(spec, K, y).scale;
    const double twin_z = std::abs(is.mean(0) - saddle) / is.se(0);
    std::printf("L = %td: E[s|y] = %.5f, IS %.5f ± %.5f (ESS %.0f), saddle twin |z| = %.1f\n", L, post.mean,
                is.mean(0), is.se(0), is.ess, twin_z);
    EXPECT_GT(twin_z, z) << "the saddle twin was not rejected at L = " << L;
  }
}

// V8 / THEORY.md §4.8 table (L = 1, K₀ = I, g = 1, κ = 0.5, ‖y‖² = P): the exact component of
// E[C^(2)|y] along ŷ, from the quadrature, against importance sampling of u ~ χ²_N/N with
// the integrand (1 − 1/N) + (1/N)[sP/(s + κ)² + κ/(s + κ)] of §7.2 at K₀ = I.
TEST(OneHiddenLayerPosterior, TableFourEightExactValuesMatchImportanceSampling) {
  struct Row {
    Eigen::Index N, P;
  };
  const Row rows[] = {{40, 4}, {20, 4}, {20, 10}, {200, 100}};
  const double kappa = 0.5;
  const Eigen::Index M = 200000;  // per row; the likelihood is a scalar formula here
  const double z = bonferroni_z(1e-3, 4);
  for (const Row row : rows) {
    const double N = static_cast<double>(row.N), P = static_cast<double>(row.P);
    boost::random::gamma_distribution<double> chi2_over_n(0.5 * N, 2.0 / N);
    core::Engine engine = core::make_stream(kernelmc::testing::test_seed(7003), core::StreamPurpose::test, row.N, row.P);
    std::vector<double> log_weights(static_cast<std::size_t>(M));
    Eigen::MatrixXd along(1, M);
    for (Eigen::Index m = 0; m < M; ++m) {
      const double s = chi2_over_n(engine);
      // log N(y; 0, (s + κ)I) with ‖y‖² = P
      log_weights[static_cast<std::size_t>(m)] = -0.5 * P * std::log(s + kappa) - 0.5 * P / (s + kappa);
      along(0, m) = (1.0 - 1.0 / N) + (s * P / ((s + kappa) * (s + kappa)) + kappa / (s + kappa)) / N;
    }
    const Weighted is = self_normalised(log_weights, along);
    const core::ModelSpec spec = linear_model(1, row.N, 1.0, kappa);
    const Eigen::VectorXd y = Eigen::VectorXd::Ones(row.P);
    const double exact =
        y.dot(one_hidden_layer_posterior(spec, Eigen::MatrixXd::Identity(row.P, row.P), y).mean_kernel * y) / P;
    std::printf("N = %td, P = %td: exact along y %.6f, IS %.6f ± %.1e\n", row.N, row.P, exact, is.mean(0),
                is.se(0));
    EXPECT_TRUE(WithinStandardErrors(is.mean(0), exact, is.se(0), z)) << "N " << row.N << " P " << row.P;
  }
}

}  // namespace
}  // namespace kernelmc::theory
