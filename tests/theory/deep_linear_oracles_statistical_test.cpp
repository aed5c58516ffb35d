// Monte Carlo checks of the deep linear prior oracles (THEORY.md §3.2, V3) against
// Wishart chains sampled inside the test (§9.5: given C^(l), the N neurons of layer l are
// i.i.d. N(0, C^(l)), so C^(l+1) = (g/N) R Z Zᵀ Rᵀ with R Rᵀ = C^(l) is an exact draw).
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"
#include "support/statistical.hpp"
#include "theory/deep_linear_oracles.hpp"

namespace kernelmc::theory {
namespace {

using kernelmc::testing::bonferroni_z;
using kernelmc::testing::WithinStandardErrors;

// Upper-triangle entries of the output kernel C^(L+1) of M exact prior draws, one per column.
Eigen::MatrixXd sample_output_kernels(const core::ModelSpec& spec, const Eigen::MatrixXd& K,
                                      Eigen::Index draws, std::uint64_t seed) {
  const Eigen::Index P = K.rows();
  const Eigen::Index N = spec.width(1);
  Eigen::MatrixXd out(core::triangle_size(P), draws);
  Eigen::MatrixXd Z(P, N);
  for (Eigen::Index m = 0; m < draws; ++m) {
    core::Engine engine = core::make_stream(seed, core::StreamPurpose::test, static_cast<std::uint64_t>(N),
                                            static_cast<std::uint64_t>(m));
    Eigen::MatrixXd C = K;
    for (Eigen::Index l = 2; l <= spec.depth() + 1; ++l) {
      core::fill_standard_normal(engine, Z);
      const Eigen::MatrixXd H = Eigen::LLT<Eigen::MatrixXd>(C).matrixL() * Z;
      C = (spec.g(l) / static_cast<double>(N)) * H * H.transpose();
    }
    out.col(m) = core::upper_triangle(C);
  }
  return out;
}

// THEORY.md V3 (EXACT): N = 6 and L = 3 give strongly non-Gaussian kernels (relative
// variance (1 + 2/6)³ − 1 = 1.37), where the exact second-moment recursion and its
// first-order truncation differ by ~30 %.
TEST(DeepLinearPrior, MeanAndCovarianceMatchWishartChainMonteCarlo) {
  core::ModelSpec spec = core::uniform_model(3, 3, 6, core::Activation::linear, 1.0, 0.0, 1.0);
  spec.weight_variances = {1.0, 1.3, 0.8, 1.1};
  Eigen::MatrixXd X(3, 3);
  X << 1, 0, 0, 0.6, 0.8, 0, 0, 0.6, 0.8;
  const Eigen::MatrixXd K = X * X.transpose();
  const Eigen::Index M = 100000;  // ≈ 0.2 s; heavy tails make SE(Cov) ≈ 1–2 % here
  const Eigen::MatrixXd draws = sample_output_kernels(spec, K, M, kernelmc::testing::test_seed(20240611));

  const Eigen::VectorXd mean = draws.rowwise().mean();
  const Eigen::MatrixXd centred = draws.colwise() - mean;
  const Eigen::MatrixXd covariance = centred * centred.transpose() / static_cast<double>(M - 1);
  const Eigen::VectorXd predicted_mean = core::upper_triangle(deep_linear_prior_mean(spec, K, 4));
  const Eigen::MatrixXd predicted = deep_linear_prior_covariance(spec, K, 4);
  const Eigen::Index k = mean.size();

  // 6 means and 21 distinct covariances: Bonferroni z for a family-wise false-fail rate
  // of 1e-3 over 27 comparisons (z ≈ 4.1). SE of a covariance entry from the spread of
  // the centred products (x_i − x̄)(y_i − ȳ), estimated from the same draws.
  const double z = bonferroni_z(1e-3, static_cast<int>(k + k * (k + 1) / 2));
  // Twin: the first-order (1/N) covariance, pairing coefficient (L/N)∏g² and no product
  // term, must be rejected somewhere: the check resolves the O(1/N²) terms.
  const double first_order_pairing = 3.0 / 6.0 * std::pow(1.3 * 0.8 * 1.1, 2);
  double twin_worst = 0.0, worst = 0.0;
  for (Eigen::Index i = 0; i < k; ++i) {
    const double se_mean = std::sqrt(covariance(i, i) / static_cast<double>(M));
    EXPECT_TRUE(WithinStandardErrors(mean(i), predicted_mean(i), se_mean, z)) << "mean entry " << i;
    const auto [a, b] = core::triangle_pair(i, 3);
    for (Eigen::Index j = i; j < k; ++j) {
      const auto [c, d] = core::triangle_pair(j, 3);
      const Eigen::ArrayXd products = centred.row(i).array() * centred.row(j).array();
      const double se = std::sqrt((products - products.mean()).square().sum() /
                                  static_cast<double>(M - 1) / static_cast<double>(M));
      EXPECT_TRUE(WithinStandardErrors(covariance(i, j), predicted(i, j), se, z))
          << "Cov(C_" << a << b << ", C_" << c << d << ")";
      worst = std::max(worst, std::abs(covariance(i, j) - predicted(i, j)) / se);
      const double twin = first_order_pairing * (K(a, c) * K(b, d) + K(a, d) * K(b, c));
      twin_worst = std::max(twin_worst, std::abs(covariance(i, j) - twin) / se);
    }
  }
  std::printf("Wishart chain, M = %td: max |z| exact %.2f, first-order twin %.2f (bound %.2f)\n", M,
              worst, twin_worst, z);
  EXPECT_GT(twin_worst, z) << "the first-order twin was not rejected: the test has no power";
}

}  // namespace
}  // namespace kernelmc::theory
