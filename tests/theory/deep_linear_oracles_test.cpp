#include "theory/deep_linear_oracles.hpp"

#include <gtest/gtest.h>

#include <Eigen/LU>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

core::ModelSpec linear_model(Eigen::Index depth, Eigen::Index width, double g, double kappa) {
  return core::uniform_model(3, depth, width, Activation::linear, g, 0.0, kappa);
}

// A generic 3×3 input kernel (Config A geometry, THEORY.md §8, scaled) and target.
Eigen::MatrixXd config_a_kernel() {
  Eigen::MatrixXd X(3, 3);
  X << 1, 0, 0, 0.6, 0.8, 0, 0, 0.6, 0.8;
  return 1.3 * X * X.transpose();
}
Eigen::VectorXd xor_like_target() { return Eigen::Vector3d(1.0, -1.0, 0.5); }

// ŷᵀ C ŷ, the kernel component along the target (THEORY.md §4.8).
double along(const Eigen::MatrixXd& C, const Eigen::VectorXd& y) {
  return y.dot(C * y) / y.squaredNorm();
}

// The §3.2 recursion on the full P⁴ tensor, written out literally: an independent route
// to the two-coefficient closed form of wishart_moment_coefficients.
std::vector<double> full_tensor_second_moments(const core::ModelSpec& spec, const Eigen::MatrixXd& K,
                                               Eigen::Index layer) {
  const Eigen::Index P = K.rows();
  auto at = [P](Eigen::Index a, Eigen::Index b, Eigen::Index c, Eigen::Index d) {
    return static_cast<std::size_t>(((a * P + b) * P + c) * P + d);
  };
  std::vector<double> M(static_cast<std::size_t>(P * P * P * P));
  for (Eigen::Index a = 0; a < P; ++a)
    for (Eigen::Index b = 0; b < P; ++b)
      for (Eigen::Index c = 0; c < P; ++c)
        for (Eigen::Index d = 0; d < P; ++d) M[at(a, b, c, d)] = K(a, b) * K(c, d);
  const double N = static_cast<double>(spec.width(1));
  for (Eigen::Index l = 2; l <= layer; ++l) {
    const double g2 = spec.g(l) * spec.g(l);
    std::vector<double> next(M.size());
    for (Eigen::Index a = 0; a < P; ++a)
      for (Eigen::Index b = 0; b < P; ++b)
        for (Eigen::Index c = 0; c < P; ++c)
          for (Eigen::Index d = 0; d < P; ++d)
            next[at(a, b, c, d)] =
                g2 * (M[at(a, b, c, d)] + (M[at(a, c, b, d)] + M[at(a, d, b, c)]) / N);
    M = next;
  }
  return M;
}

TEST(DeepLinearPrior, MeanIsProductOfLayerGainsTimesInputKernel) {
  core::ModelSpec spec = linear_model(3, 7, 1.0, 1.0);
  spec.weight_variances = {5.0, 1.5, 0.5, 3.0};  // g_1 is not used: K₀ contains it
  const Eigen::MatrixXd K = config_a_kernel();
  // exact arithmetic up to round-off: tolerance 1e-14 relative
  EXPECT_LT((deep_linear_prior_mean(spec, K, 4) - 2.25 * K).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LT((deep_linear_prior_mean(spec, K, 2) - 1.5 * K).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_EQ(deep_linear_prior_mean(spec, K, 1), K);
}

TEST(DeepLinearPrior, CovarianceMatchesFullTensorRecursion) {
  core::ModelSpec spec = linear_model(4, 5, 1.0, 1.0);
  spec.weight_variances = {1.0, 1.3, 0.7, 2.0, 0.9};
  const Eigen::MatrixXd K = config_a_kernel();
  const Eigen::Index P = K.rows();
  for (Eigen::Index layer = 1; layer <= 5; ++layer) {
    const std::vector<double> M = full_tensor_second_moments(spec, K, layer);
    const Eigen::MatrixXd mean = deep_linear_prior_mean(spec, K, layer);
    const Eigen::MatrixXd cov = deep_linear_prior_covariance(spec, K, layer);
    ASSERT_EQ(cov.rows(), core::triangle_size(P));
    for (Eigen::Index i = 0; i < cov.rows(); ++i) {
      const auto [a, b] = core::triangle_pair(i, P);
      for (Eigen::Index j = 0; j < cov.cols(); ++j) {
        const auto [c, d] = core::triangle_pair(j, P);
        const double expected =
            M[static_cast<std::size_t>(((a * P + b) * P + c) * P + d)] - mean(a, b) * mean(c, d);
        // the same exact recursion by two routes, ≤ 5 layers of round-off: 1e-13 of the scale
        EXPECT_NEAR(cov(i, j), expected, 1e-13 * mean.cwiseAbs().maxCoeff() * mean.cwiseAbs().maxCoeff())
            << "layer " << layer << " entry (" << a << b << "," << c << d << ")";
      }
    }
  }
}

TEST(DeepLinearPrior, SingleInputRelativeVarianceIsOnePlusTwoOverNToTheL) {
  // THEORY.md §3.2 / V3: N = 6, L = 4 gives 2.16049 (quoted to 5 decimals: tolerance 5e-6).
  const core::ModelSpec spec = linear_model(4, 6, 1.7, 1.0);
  EXPECT_NEAR(deep_linear_relative_variance(spec), 2.16049, 5e-6);
  // The same number from the covariance tensor with P = 1 (exact; round-off tolerance).
  const Eigen::MatrixXd K = Eigen::MatrixXd::Constant(1, 1, 0.8);
  const double mean = deep_linear_prior_mean(spec, K, 5)(0, 0);
  const double var = deep_linear_prior_covariance(spec, K, 5)(0, 0);
  EXPECT_NEAR(var / (mean * mean), std::pow(1.0 + 2.0 / 6.0, 4) - 1.0, 1e-13);
}

TEST(DeepLinearPrior, RejectsNonLinearModelsAndBadKernels) {
  const Eigen::MatrixXd K = config_a_kernel();
  core::ModelSpec spec = linear_model(2, 5, 1.0, 1.0);
  auto expect_config_error = [&](const core::ModelSpec& bad, const std::string& field) {
    try {
      deep_linear_prior_mean(bad, K, 2);
      ADD_FAILURE() << "no ConfigError for " << field;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  core::ModelSpec bad = spec;
  bad.activation = Activation::erf;
  expect_config_error(bad, "model.activation");
  bad = spec;
  bad.bias_variance = 0.1;
  expect_config_error(bad, "model.bias_variance");
  bad = spec;
  bad.widths = {5, 6};
  expect_config_error(bad, "model.width[2]");
  bad = spec;
  bad.output_dim = 2;
  expect_config_error(bad, "model.output_dim");
  EXPECT_THROW(deep_linear_prior_mean(spec, K, 4), ConfigError);  // layer beyond L+1
  EXPECT_THROW(deep_linear_prior_mean(spec, Eigen::MatrixXd::Ones(3, 2), 2), DataError);
  Eigen::MatrixXd asymmetric = K;
  asymmetric(0, 1) += 0.1;
  EXPECT_THROW(deep_linear_prior_covariance(spec, asymmetric, 2), DataError);
  EXPECT_THROW(deep_linear_first_order_adaptation(spec, K, Eigen::VectorXd::Ones(4)), DataError);
}

// THEORY.md §4.6 derives δC^(l) = Σ_cd Cov(C^(l), C^(L+1)_cd) ∂ℓ/∂C_cd at leading order.
// The exact covariance (item §3.2) contains all orders, so N·(exact contraction) → N·δC
// with a relative O(l/N) remainder (the pairing coefficient is ((l−1)/N)(1 + O(l/N))).
TEST(DeepLinearAdaptation, FirstOrderMatchesExactCovarianceContraction) {
  core::ModelSpec spec = linear_model(3, 4000, 1.0, 0.3);
  spec.weight_variances = {1.0, 1.4, 0.8, 1.1};
  const Eigen::MatrixXd K = config_a_kernel();
  const Eigen::VectorXd y = xor_like_target();
  const Eigen::Index P = K.rows();
  const double G = gain_product(spec, 2, 4);
  const Eigen::MatrixXd A = (G * K + spec.kappa * Eigen::MatrixXd::Identity(P, P)).inverse();
  const Eigen::MatrixXd dl = 0.5 * (A * y * y.transpose() * A - A);  // ∂ℓ/∂C, THEORY.md §9.1
  const core::KernelStack first_order = deep_linear_first_order_adaptation(spec, K, y);
  EXPECT_EQ(first_order.layer(1), Eigen::MatrixXd::Zero(P, P));
  for (Eigen::Index l = 2; l <= 4; ++l) {
    const Eigen::MatrixXd cov = deep_linear_prior_covariance(spec, K, l) * gain_product(spec, l + 1, 4);
    Eigen::MatrixXd contraction = Eigen::MatrixXd::Zero(P, P);
    for (Eigen::Index i = 0; i < cov.rows(); ++i) {
      const auto [a, b] = core::triangle_pair(i, P);
      double sum = 0.0;
      for (Eigen::Index j = 0; j < cov.cols(); ++j) {
        const auto [c, d] = core::triangle_pair(j, P);
        sum += cov(i, j) * dl(c, d) * (c == d ? 1.0 : 2.0);  // both ordered pairs (c,d), (d,c)
      }
      contraction(a, b) = contraction(b, a) = sum;
    }
    const double scale = first_order.layer(l).cwiseAbs().maxCoeff();
    // ASYM(1/N): relative remainder ≤ 2 l/N (covers the O(l/N) correction of the pairing
    // coefficient, ≈ (l−2)/(2N) for g = 1, and the product term ∝ 1/N²)
    EXPECT_LT((contraction - first_order.layer(l)).cwiseAbs().maxCoeff(), 2.0 * l / 4000.0 * scale)
        << "layer " << l;
  }
}

// THEORY.md §4.8 table (L = 1, K₀ = I, g = 1, κ = 0.5, ‖y‖² = P): the FB and first-order
// columns, quoted to 5 decimals (tolerance 5e-6 = half a unit in the last digit).
struct TableRow {
  Eigen::Index N, P;
  double fb, first_order;
};
const TableRow kTableFourEight[] = {{40, 4, 1.02723, 1.02778},
                                   {20, 4, 1.05340, 1.05556},
                                   {20, 10, 1.17438, 1.18889},
                                   {200, 100, 1.20381, 1.21889}};

TEST(LinearFb, ReproducesTableFourEightForwardBackwardColumn) {
  for (const TableRow& row : kTableFourEight) {
    const core::ModelSpec spec = linear_model(1, row.N, 1.0, 0.5);
    const Eigen::MatrixXd K = Eigen::MatrixXd::Identity(row.P, row.P);
    Eigen::VectorXd y = Eigen::VectorXd::Ones(row.P);
    y(0) = -1.0;  // any y with ‖y‖² = P: K₀ = I is rotation invariant
    const LinearFbSolution fb = linear_fb_kernels(spec, K, y);
    EXPECT_NEAR(along(fb.kernels.layer(2), y), row.fb, 5e-6) << "N " << row.N << " P " << row.P;
    const Eigen::MatrixXd first = K + deep_linear_first_order_adaptation(spec, K, y).layer(2);
    EXPECT_NEAR(along(first, y), row.first_order, 5e-6) << "N " << row.N << " P " << row.P;
  }
}

TEST(LinearFb, SolutionSatisfiesForwardBackwardEquations) {
  core::ModelSpec spec = linear_model(3, 30, 1.0, 0.4);
  spec.weight_variances = {1.0, 1.2, 0.9, 1.5};
  const Eigen::MatrixXd K = config_a_kernel();
  const Eigen::VectorXd y = xor_like_target();
  const LinearFbSolution fb = linear_fb_kernels(spec, K, y);
  const Eigen::Index P = K.rows();
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(P, P);
  const core::KernelStack& C = fb.kernels;
  const core::KernelStack& Ct = fb.conjugate_kernels;
  // The equations of THEORY.md §4.3 written with explicit inverses (independent of the
  // solver's LU form); residuals at the solver tolerance 1e-12, allow 1e-10.
  const Eigen::MatrixXd A = (C.layer(4) + spec.kappa * I).inverse();
  EXPECT_LT((Ct.layer(4) - (A * y * y.transpose() * A - A) / (2.0 * 30)).cwiseAbs().maxCoeff(), 1e-10);
  for (Eigen::Index l = 2; l <= 4; ++l) {
    const double g = spec.g(l);
    const Eigen::MatrixXd forward = g * C.layer(l - 1) * (I - 2 * g * Ct.layer(l) * C.layer(l - 1)).inverse();
    EXPECT_LT((C.layer(l) - forward).cwiseAbs().maxCoeff(), 1e-10) << "layer " << l;
    if (l >= 3) {
      const Eigen::MatrixXd backward = g * Ct.layer(l) * (I - 2 * g * C.layer(l - 1) * Ct.layer(l)).inverse();
      EXPECT_LT((Ct.layer(l - 1) - backward).cwiseAbs().maxCoeff(), 1e-10) << "layer " << l;
    }
  }
  EXPECT_LE(fb.residual, 1e-12);
}

// V16: N(C_FB − C_GP) → N δC (THEORY.md §4.6). The remainder is O(1/N), so quadrupling N
// divides it by 4 up to O(1/N) corrections: the ratio must lie in [3.5, 4.5], and the
// remainder at the largest N must be below 1 % of the signal.
TEST(LinearFb, ApproachesFirstOrderAdaptationLikeOneOverN) {
  const Eigen::MatrixXd K = config_a_kernel();
  const Eigen::VectorXd y = xor_like_target();
  std::vector<double> remainder;
  for (Eigen::Index N : {1000, 4000, 16000}) {
    core::ModelSpec spec = linear_model(3, N, 1.0, 0.4);
    spec.weight_variances = {1.0, 1.2, 0.9, 1.5};
    const LinearFbSolution fb = linear_fb_kernels(spec, K, y);
    const core::KernelStack first = deep_linear_first_order_adaptation(spec, K, y);
    double worst = 0.0, signal = 0.0;
    for (Eigen::Index l = 2; l <= 4; ++l) {
      const Eigen::MatrixXd fb_shift = N * (fb.kernels.layer(l) - deep_linear_prior_mean(spec, K, l));
      worst = std::max(worst, (fb_shift - N * first.layer(l)).cwiseAbs().maxCoeff());
      signal = std::max(signal, (N * first.layer(l)).cwiseAbs().maxCoeff());
    }
    remainder.push_back(worst);
    if (N == 16000) {
      EXPECT_LT(worst, 0.01 * signal);
    }
  }
  EXPECT_GT(remainder[0] / remainder[1], 3.5);
  EXPECT_LT(remainder[0] / remainder[1], 4.5);
  EXPECT_GT(remainder[1] / remainder[2], 3.5);
  EXPECT_LT(remainder[1] / remainder[2], 4.5);
}

// V16: for L = 2 and equal g, δC^(3)/δC^(2) = 2g. The FB ratio tends to it with an O(1/N)
// remainder: at N = 20000 the entries agree to 1e-3 relative (≈ 20 × 1/N).
TEST(LinearFb, LayerResolvedAdaptationRatioIsTwoG) {
  const double g = 1.3;
  const core::ModelSpec spec = linear_model(2, 20000, g, 0.4);
  const Eigen::MatrixXd K = config_a_kernel();
  const Eigen::VectorXd y = xor_like_target();
  const LinearFbSolution fb = linear_fb_kernels(spec, K, y);
  const Eigen::MatrixXd shift2 = fb.kernels.layer(2) - deep_linear_prior_mean(spec, K, 2);
  const Eigen::MatrixXd shift3 = fb.kernels.layer(3) - deep_linear_prior_mean(spec, K, 3);
  EXPECT_LT((shift3 - 2.0 * g * shift2).cwiseAbs().maxCoeff(), 1e-3 * shift3.cwiseAbs().maxCoeff());
  const core::KernelStack first = deep_linear_first_order_adaptation(spec, K, y);
  // exact ratio of the closed form (round-off tolerance)
  EXPECT_LT((first.layer(3) - 2.0 * g * first.layer(2)).cwiseAbs().maxCoeff(),
            1e-14 * first.layer(3).cwiseAbs().maxCoeff());
}

TEST(LinearFb, LargeKappaGivesNngpKernels) {
  // κ = 1e12: the tilt is O(1/(Nκ)) = 1e-13 relative, below the 1e-10 tolerance.
  const core::ModelSpec spec = linear_model(2, 10, 1.1, 1e12);
  const Eigen::MatrixXd K = config_a_kernel();
  const LinearFbSolution fb = linear_fb_kernels(spec, K, xor_like_target());
  for (Eigen::Index l = 1; l <= 3; ++l)
    EXPECT_LT((fb.kernels.layer(l) - deep_linear_prior_mean(spec, K, l)).cwiseAbs().maxCoeff(), 1e-10);
}

TEST(LinearFb, NonConvergenceThrowsNumericalErrorWithResidualHistory) {
  const core::ModelSpec spec = linear_model(2, 10, 1.0, 0.5);
  LinearFbSettings settings;
  settings.max_iterations = 3;
  try {
    linear_fb_kernels(spec, config_a_kernel(), xor_like_target(), settings);
    ADD_FAILURE() << "no NumericalError";
  } catch (const NumericalError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("linear_fb_kernels: no convergence after 3 iterations"), std::string::npos)
        << message;
    EXPECT_NE(message.find("residual history"), std::string::npos) << message;
  }
}

TEST(LinearFb, RejectsBadSettingsNamingTheField) {
  const core::ModelSpec spec = linear_model(1, 10, 1.0, 0.5);
  const Eigen::MatrixXd K = config_a_kernel();
  const Eigen::VectorXd y = xor_like_target();
  auto expect_field = [&](const LinearFbSettings& settings, const std::string& field) {
    try {
      linear_fb_kernels(spec, K, y, settings);
      ADD_FAILURE() << "no ConfigError for " << field;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  expect_field({.damping = 0.0}, "linear_fb.damping");
  expect_field({.damping = 1.5}, "linear_fb.damping");
  expect_field({.max_iterations = 0}, "linear_fb.max_iterations");
  expect_field({.tolerance = -1.0}, "linear_fb.tolerance");
}

}  // namespace
}  // namespace kernelmc::theory
