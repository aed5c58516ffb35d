// Deterministic checks of the tilted expectations (THEORY.md §4.3, §4.4). Independent
// routes: the linear closed form against explicit inverses and finite differences of
// 𝒲 = −½ log det(I − 2gC̃C); the tensor rule against theory/gauss_hermite's general
// gaussian_expectation (its own eigen square root and node loop) and against finite
// differences of 𝒲 = log E e^{gφᵀC̃φ} computed by that routine.
#include "theory/tilted_expectations.hpp"

#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <cmath>
#include <functional>
#include <string>

#include "core/activation.hpp"
#include "core/error.hpp"
#include "theory/gauss_hermite.hpp"
#include "theory/gaussian_expectations.hpp"
#include "theory/kernel_fixtures.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

using fixtures::moderate_kernel;
using fixtures::moderate_tilt;
using fixtures::small_kernel;

double max_abs(const Eigen::MatrixXd& M) { return M.cwiseAbs().maxCoeff(); }

PointEstimateOptions options(TiltGradientForm form, bool exact_first_order, double pair_tolerance = 1e-12) {
  return {.gradient_form = form, .exact_first_order = exact_first_order, .pair_tolerance = pair_tolerance};
}

// ⟨f(φ(h))⟩ under h ~ N(0, C) tilted by e^{gφᵀC̃φ}, by the general tensor rule of
// theory/gauss_hermite (ratio of two untilted expectations).
struct Reference {
  Eigen::MatrixXd second_moment;
  double log_normaliser = 0.0;  // 𝒲 without the bias term
};

Reference direct_tensor_rule(Activation activation, double g, const Eigen::MatrixXd& C,
                             const Eigen::MatrixXd& tilt, Eigen::Index nodes, bool moments = true) {
  const GaussHermiteRule rule = gauss_hermite_rule(nodes);
  const Eigen::Index P = C.rows();
  auto phi = [activation](const Eigen::VectorXd& h) {
    return Eigen::VectorXd(h.unaryExpr([activation](double x) { return core::activation_value(activation, x); }));
  };
  auto weight = [&](const Eigen::VectorXd& h) {
    const Eigen::VectorXd f = phi(h);
    return std::exp(g * f.dot(tilt * f));
  };
  Reference out;
  const double Z = gaussian_expectation(weight, C, rule);
  out.log_normaliser = std::log(Z);
  if (!moments) return out;
  out.second_moment.resize(P, P);
  for (Eigen::Index a = 0; a < P; ++a) {
    for (Eigen::Index b = a; b < P; ++b) {
      const double m = gaussian_expectation(
          [&](const Eigen::VectorXd& h) { return phi(h)(a) * phi(h)(b) * weight(h); }, C, rule);
      out.second_moment(a, b) = out.second_moment(b, a) = m / Z;
    }
  }
  return out;
}

// ∂𝒲/∂C (unsymmetrised convention, THEORY.md §9.1) by central differences of `W`:
// a symmetric step h(E_ab + E_ba) changes 𝒲 by 2h·G_ab off the diagonal, h·G_aa on it.
Eigen::MatrixXd finite_difference_gradient(const std::function<double(const Eigen::MatrixXd&)>& W,
                                           const Eigen::MatrixXd& C, double h) {
  const Eigen::Index P = C.rows();
  Eigen::MatrixXd G(P, P);
  for (Eigen::Index a = 0; a < P; ++a) {
    for (Eigen::Index b = a; b < P; ++b) {
      Eigen::MatrixXd E = Eigen::MatrixXd::Zero(P, P);
      E(a, b) = E(b, a) = 1.0;
      const double diff = W(C + h * E) - W(C - h * E);
      G(a, b) = G(b, a) = diff / (a == b ? 2.0 * h : 4.0 * h);
    }
  }
  return G;
}

TEST(TiltedExpectations, LinearClosedFormMatchesInverseCovarianceFormula) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd T = moderate_tilt();
  const double g = 1.7;
  const TiltedExpectations t = linear_tilted_expectations(g, C, T);
  // q = N(0, (C⁻¹ − 2gC̃)⁻¹); ∂𝒲/∂C = gC̃(I − 2gCC̃)⁻¹ (THEORY.md §4.3, linear (B)).
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(3, 3);
  const Eigen::MatrixXd covariance = (C.inverse() - 2.0 * g * T).inverse();
  const Eigen::MatrixXd gradient = g * T * (I - 2.0 * g * C * T).inverse();
  // two routes through 3×3 inverses of condition number < 100: rounding, tolerance 1e-12
  EXPECT_LT(max_abs(t.second_moment - covariance), 1e-12);
  EXPECT_LT(max_abs(t.gradient - gradient), 1e-12);
  EXPECT_EQ(t.second_moment, t.second_moment.transpose());
  EXPECT_EQ(t.gradient, t.gradient.transpose());
  EXPECT_EQ(max_abs(t.second_moment_error), 0.0);
  EXPECT_EQ(t.truncation_order, 0);
  EXPECT_TRUE(std::isnan(t.effective_sample_size));
}

TEST(TiltedExpectations, LinearClosedFormHandlesSingularKernel) {
  // Rank 2: C = B Bᵀ with B 3×2 (a kernel of inputs in d = 2 dimensions).
  Eigen::MatrixXd B(3, 2);
  B << 1.0, 0.2, -0.4, 0.8, 0.3, 0.5;
  const Eigen::MatrixXd C = B * B.transpose();
  const Eigen::MatrixXd T = moderate_tilt();
  const double g = 2.0;
  const TiltedExpectations t = linear_tilted_expectations(g, C, T);
  // (I − 2gCC̃)⁻¹C needs no C⁻¹; rounding of a rank-deficient eigen square root: 1e-12
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(3, 3);
  EXPECT_LT(max_abs(t.second_moment - (I - 2.0 * g * C * T).inverse() * C), 1e-12);
  EXPECT_LT(max_abs(t.gradient - g * T * (I - 2.0 * g * C * T).inverse()), 1e-12);
}

TEST(TiltedExpectations, LinearClosedFormGradientMatchesFiniteDifferences) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd T = moderate_tilt();
  const double g = 1.3;
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(3, 3);
  auto W = [&](const Eigen::MatrixXd& Cx) { return -0.5 * std::log((I - 2.0 * g * T * Cx).determinant()); };
  // central differences, h = 1e-4: truncation h²|𝒲'''|/6 ≈ 1e-9, rounding 1e-16/h = 1e-12;
  // tolerance 1e-7
  const Eigen::MatrixXd fd = finite_difference_gradient(W, C, 1e-4);
  EXPECT_LT(max_abs(linear_tilted_expectations(g, C, T).gradient - fd), 1e-7);
}

TEST(TiltedExpectations, LinearClosedFormRejectsNonNormalisableTilt) {
  const Eigen::MatrixXd C = small_kernel();
  // 2g·λ_max(RᵀC̃R) > 1 for C̃ = 2·I, g = 1: e^{hᵀC̃h} outgrows the Gaussian.
  const Eigen::MatrixXd T = 2.0 * Eigen::MatrixXd::Identity(3, 3);
  EXPECT_FALSE(linear_tilt_normalisable(1.0, C, T));
  EXPECT_TRUE(linear_tilt_normalisable(1.0, C, moderate_tilt()));
  EXPECT_THROW(linear_tilted_expectations(1.0, C, T), NumericalError);
}

TEST(TiltedExpectations, QuadratureMatchesLinearClosedForm) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd T = moderate_tilt();
  const double g = 1.5;
  const TiltedExpectations exact = linear_tilted_expectations(g, C, T);
  // Error bound of the n = 24 rule: it integrates z_a z_b e^{zᵀAz}, A = gRᵀC̃R, exactly
  // up to the Taylor term (zᵀAz)^22 (degree 46 ≤ 2n − 1); the rest is below the tail
  // Σ_{k≥23} E[‖z‖^{2k+2}] a^k/k!, a = max|eig A|, with E‖z‖^{2m} = 2^m Γ(P/2+m)/Γ(P/2).
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(C);
  const Eigen::MatrixXd R = eig.operatorSqrt();
  const double a = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(g * R * T * R)
                       .eigenvalues().cwiseAbs().maxCoeff();
  double tail = 0.0;
  for (int k = 23; k < 300; ++k)
    tail += std::exp(k * std::log(a) - std::lgamma(k + 1.0) + (k + 1) * std::log(2.0) +
                     std::lgamma(1.5 + k + 1) - std::lgamma(1.5));
  ASSERT_LT(tail, 1e-13);
  // so what remains is rounding of sums over 24³ points: tolerance 1e-12
  for (TiltGradientForm form : {TiltGradientForm::price, TiltGradientForm::score}) {
    for (bool exact_first_order : {true, false}) {
      const TiltedExpectations q = quadrature_tilted_expectations(
          Activation::linear, g, C, T, 24, options(form, exact_first_order, 1e-10));
      EXPECT_LT(max_abs(q.second_moment - exact.second_moment), 1e-12)
          << tilt_gradient_form_name(form) << " " << exact_first_order;
      EXPECT_LT(max_abs(q.gradient - exact.gradient), 1e-12)
          << tilt_gradient_form_name(form) << " " << exact_first_order;
    }
  }
}

// The Gauss–Hermite references at 40 and 30 nodes, and their difference as the
// reference's own error (geometric convergence: the 40-node error is below it).
struct ReferencePair {
  Reference fine;
  double error = 0.0;
};

ReferencePair erf_reference(double g, const Eigen::MatrixXd& C, const Eigen::MatrixXd& T) {
  ReferencePair out;
  out.fine = direct_tensor_rule(Activation::erf, g, C, T, 40);
  const Reference coarse = direct_tensor_rule(Activation::erf, g, C, T, 30);
  out.error = max_abs(out.fine.second_moment - coarse.second_moment);
  return out;
}

TEST(TiltedExpectations, QuadratureSecondMomentMatchesDirectTensorRule) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd T = moderate_tilt();
  const double g = 2.0;
  const ReferencePair reference = erf_reference(g, C, T);
  ASSERT_LT(reference.error, 1e-8);
  for (bool exact_first_order : {true, false}) {
    const TiltedExpectations q = quadrature_tilted_expectations(
        Activation::erf, g, C, T, 12, options(TiltGradientForm::price, exact_first_order, 1e-12));
    // the rule's reported |Q_12 − Q_8| per entry, plus the reference's error and rounding
    const Eigen::MatrixXd bound =
        q.second_moment_error.array() + reference.error + 1e-13;
    const Eigen::MatrixXd miss = (q.second_moment - reference.fine.second_moment).cwiseAbs();
    EXPECT_TRUE((miss.array() <= bound.array()).all())
        << "exact_first_order " << exact_first_order << "\nmiss\n" << miss << "\nbound\n" << bound;
    // Twin that must fail: the untilted moments (an evaluation that ignored C̃) fall
    // outside the same bound.
    const Eigen::MatrixXd untilted = expected_phi_phi(Activation::erf, C, 1e-12);
    EXPECT_FALSE((((untilted - reference.fine.second_moment).cwiseAbs()).array() <= bound.array()).all());
  }
}

TEST(TiltedExpectations, QuadraturePriceAndScoreFormsMatchFiniteDifferenceOfCumulant) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd T = moderate_tilt();
  const double g = 2.0;
  auto cumulant = [&](Eigen::Index nodes) {
    return [&, nodes](const Eigen::MatrixXd& Cx) {
      return direct_tensor_rule(Activation::erf, g, Cx, T, nodes, false).log_normaliser;
    };
  };
  // Central differences of the 40-node 𝒲 at h and 2h: the truncation error of the h-step
  // is ≈ |FD_h − FD_2h|/3 (Richardson, error ∝ h²), rounding ≈ 1e-15/h; the 40-node
  // rule's own error is bounded by its difference to the 30-node rule.
  const double h = 2e-4;
  const Eigen::MatrixXd fd = finite_difference_gradient(cumulant(40), C, h);
  const Eigen::MatrixXd fd2 = finite_difference_gradient(cumulant(40), C, 2.0 * h);
  const Eigen::MatrixXd fd30 = finite_difference_gradient(cumulant(30), C, h);
  const double fd_error = max_abs(fd - fd2) / 3.0 + 1e-15 / h + max_abs(fd - fd30);
  ASSERT_LT(fd_error, 1e-7);
  // Both factors of h = R z: the rule's nodes on the symmetric root (automatic) and on the
  // Cholesky factor, whose score form ½R⁻ᵀ(Σ t zzᵀ)R⁻¹ needs R⁻ᵀ ≠ R⁻¹.
  for (CovarianceRootKind root : {CovarianceRootKind::automatic, CovarianceRootKind::cholesky}) {
    for (TiltGradientForm form : {TiltGradientForm::price, TiltGradientForm::score}) {
      for (bool exact_first_order : {true, false}) {
        PointEstimateOptions o = options(form, exact_first_order, 1e-12);
        o.root = root;
        const TiltedExpectations q = quadrature_tilted_expectations(Activation::erf, g, C, T, 16, o);
        // reported |Q_16 − Q_11| per entry plus the finite-difference error
        const Eigen::MatrixXd miss = (q.gradient - fd).cwiseAbs();
        const Eigen::MatrixXd bound = q.gradient_error.array() + fd_error;
        EXPECT_TRUE((miss.array() <= bound.array()).all())
            << tilt_gradient_form_name(form) << " exact_first_order " << exact_first_order << " cholesky "
            << (root == CovarianceRootKind::cholesky) << "\nmiss\n" << miss << "\nbound\n" << bound;
        // the O(C̃²) part is resolved: the first-order gradient Jᵀ[C̃] misses by far more
        // (100×; 10× on the Cholesky factor, whose rule has its nodes off C's principal axes
        // and a larger |Q_16 − Q_11|, 2e-4 for the score form)
        const TiltedExpectations f = first_order_tilted_expectations(Activation::erf, g, C, T, 1e-12);
        const double margin = root == CovarianceRootKind::cholesky ? 10.0 : 100.0;
        EXPECT_GT(max_abs(f.gradient - fd), margin * bound.maxCoeff());
      }
    }
  }
}

TEST(TiltedExpectations, FirstOrderIsExactToFirstOrderInTilt) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd M = moderate_tilt();
  const double g = 2.0;
  // THEORY.md §4.4 item 2: first order − exact = O(C̃²), so halving C̃ divides the miss by
  // ≈ 4; the zeroth order (untilted moments) misses at O(C̃) and halves. 20-node rule:
  // its error estimate must stay below 1 % of the misses, so it cannot move the ratios.
  auto misses = [&](double scale) {
    const Eigen::MatrixXd T = scale * M;
    const TiltedExpectations q = quadrature_tilted_expectations(
        Activation::erf, g, C, T, 20, options(TiltGradientForm::price, true, 1e-12));
    const TiltedExpectations f = first_order_tilted_expectations(Activation::erf, g, C, T, 1e-12);
    EXPECT_EQ(f.truncation_order, 2);
    const Eigen::MatrixXd untilted = expected_phi_phi(Activation::erf, C, 1e-12);
    const Eigen::Vector3d out(max_abs(q.second_moment - f.second_moment), max_abs(q.gradient - f.gradient),
                              max_abs(q.second_moment - untilted));
    EXPECT_LT(max_abs(q.second_moment_error), 0.01 * out(0));
    EXPECT_LT(max_abs(q.gradient_error), 0.01 * out(1));
    return out;
  };
  const Eigen::Vector3d big = misses(0.2);
  const Eigen::Vector3d small = misses(0.1);
  // ASYM(C̃³/C̃²): the ratio is 4(1 + O(C̃)), here within 15 %; the zeroth order gives 2(1 + O(C̃))
  EXPECT_NEAR(big(0) / small(0), 4.0, 0.6);
  EXPECT_NEAR(big(1) / small(1), 4.0, 0.6);
  EXPECT_NEAR(big(2) / small(2), 2.0, 0.3);
}

TEST(TiltedExpectations, TanhFirstOrderErrorCoversItsFourPointRule) {
  // tanh's 4-point functions come from a 4-D Gauss–Hermite rule: the reported error (its
  // change from 28 to 19 nodes) must cover the distance to a 40-node rule. A larger
  // variance (×3) makes the rule's error visible.
  const Eigen::MatrixXd C = 3.0 * small_kernel();
  const Eigen::MatrixXd T = moderate_tilt();
  const TiltedExpectations f = first_order_tilted_expectations(Activation::tanh, 2.0, C, T, 1e-12);
  const TiltedExpectations fine = first_order_tilted_expectations(Activation::tanh, 2.0, C, T, 1e-12, 40);
  EXPECT_GT(max_abs(f.second_moment_error), 0.0);
  const Eigen::MatrixXd miss = (f.second_moment - fine.second_moment).cwiseAbs();
  EXPECT_TRUE((miss.array() <= f.second_moment_error.array() + 1e-14).all())
      << "miss\n" << miss << "\nerror\n" << f.second_moment_error;
  // erf and linear: exact 4-point functions, zero error
  EXPECT_EQ(max_abs(first_order_tilted_expectations(Activation::erf, 2.0, C, T, 1e-12).second_moment_error), 0.0);
}

TEST(TiltedExpectations, ZeroTiltReproducesUntiltedMomentsExactly) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd Z = Eigen::MatrixXd::Zero(3, 3);
  for (Activation activation : {Activation::erf, Activation::tanh, Activation::linear}) {
    const Eigen::MatrixXd untilted = expected_phi_phi(activation, C, 1e-12);
    const TiltedExpectations q =
        quadrature_tilted_expectations(activation, 1.5, C, Z, 8, options(TiltGradientForm::automatic, true, 1e-12));
    const TiltedExpectations f = first_order_tilted_expectations(activation, 1.5, C, Z, 1e-12);
    // the control variate subtracts the rule's untilted value: at C̃ = 0 the points add
    // exactly zero (up to rounding of the symmetrisation), tolerance 1e-15
    EXPECT_LT(max_abs(q.second_moment - untilted), 1e-15) << core::activation_name(activation);
    EXPECT_LT(max_abs(f.second_moment - untilted), 1e-15) << core::activation_name(activation);
    EXPECT_EQ(max_abs(q.gradient), 0.0);
    EXPECT_EQ(max_abs(f.gradient), 0.0);
  }
  const GaussianPoints draws = tilted_base_draws(7, 2, 1000, 3);
  const TiltedExpectations s = importance_sampling_tilted_expectations(Activation::erf, 1.5, C, Z, draws, {});
  EXPECT_LT(max_abs(s.second_moment - expected_phi_phi(Activation::erf, C, 1e-12)), 1e-15);
  // Σw = 1000·(1/1000) up to rounding of a 1000-term sum: 1e-12 relative
  EXPECT_NEAR(s.effective_sample_size, 1000.0, 1e-9);
  EXPECT_LT(max_abs(s.second_moment_error), 1e-15);
}

TEST(TiltedExpectations, EffectiveSampleSizeIsKishOfTiltWeights) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd T = 5.0 * moderate_tilt();
  const double g = 2.0;
  const GaussianPoints draws = tilted_base_draws(11, 3, 4000, 3);
  const TiltedExpectations s = importance_sampling_tilted_expectations(Activation::erf, g, C, T, draws, {});
  // (Σw)²/Σw² with w_s = e^{gφ_sᵀC̃φ_s}, h_s = L z_s (the Cholesky factor: the automatic
  // root of random draws), written out here
  const Eigen::MatrixXd R = Eigen::LLT<Eigen::MatrixXd>(C).matrixL();
  double sum = 0.0, sum2 = 0.0;
  for (Eigen::Index i = 0; i < draws.z.rows(); ++i) {
    const Eigen::VectorXd h = R * draws.z.row(i).transpose();
    const Eigen::VectorXd f = h.unaryExpr([](double x) { return std::erf(x); });
    const double w = std::exp(g * f.dot(T * f));
    sum += w;
    sum2 += w * w;
  }
  // the same sums in another order: rounding, 1e-10 relative
  EXPECT_NEAR(s.effective_sample_size, sum * sum / sum2, 1e-10 * 4000);
  EXPECT_LT(s.effective_sample_size, 4000.0);
}

TEST(TiltedExpectations, AutomaticGradientFormIsScoreForReluAndPriceOtherwise) {
  const Eigen::MatrixXd C = small_kernel();
  const Eigen::MatrixXd T = moderate_tilt();
  auto gradient = [&](Activation activation, TiltGradientForm form) {
    return quadrature_tilted_expectations(activation, 2.0, C, T, 6, options(form, true, 1e-12)).gradient;
  };
  EXPECT_EQ(gradient(Activation::relu, TiltGradientForm::automatic),
            gradient(Activation::relu, TiltGradientForm::score));
  EXPECT_EQ(gradient(Activation::erf, TiltGradientForm::automatic),
            gradient(Activation::erf, TiltGradientForm::price));
}

TEST(TiltedExpectations, RejectsWhatItCannotEvaluate) {
  const Eigen::MatrixXd T = moderate_tilt();
  // score form on a singular kernel
  Eigen::MatrixXd B(3, 2);
  B << 1.0, 0.2, -0.4, 0.8, 0.3, 0.5;
  const Eigen::MatrixXd singular = B * B.transpose();
  EXPECT_THROW(quadrature_tilted_expectations(Activation::erf, 2.0, singular, T, 6,
                                              options(TiltGradientForm::score, true, 1e-10)),
               NumericalError);
  // … while the Price form takes it
  EXPECT_NO_THROW(quadrature_tilted_expectations(Activation::erf, 2.0, singular, T, 6,
                                                 options(TiltGradientForm::price, true, 1e-10)));
  auto message_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no ConfigError";
  };
  EXPECT_NE(message_of([&] {
              quadrature_tilted_expectations(Activation::relu, 2.0, small_kernel(), T, 6,
                                             options(TiltGradientForm::price, true, 1e-10));
            }).find("theory.fb.gradient_form"),
            std::string::npos);
  const Eigen::MatrixXd C6 = Eigen::MatrixXd::Identity(6, 6);
  const Eigen::MatrixXd T6 = Eigen::MatrixXd::Zero(6, 6);
  EXPECT_NE(message_of([&] { quadrature_tilted_expectations(Activation::erf, 2.0, C6, T6, 4, {}); })
                .find("theory.fb.method"),
            std::string::npos);
  const Eigen::MatrixXd C13 = Eigen::MatrixXd::Identity(13, 13);
  const Eigen::MatrixXd T13 = Eigen::MatrixXd::Zero(13, 13);
  EXPECT_NE(message_of([&] { first_order_tilted_expectations(Activation::tanh, 2.0, C13, T13, 1e-10); })
                .find("theory.fb.method"),
            std::string::npos);
  EXPECT_NO_THROW(first_order_tilted_expectations(Activation::linear, 2.0, C13, T13, 1e-10));
  EXPECT_NE(message_of([&] { tilted_base_draws(1, 2, 39, 3); }).find("theory.fb.importance_samples"),
            std::string::npos);
}

TEST(TiltedExpectations, CholeskyFactorReproducesKernelAndFallsBackWhenSingular) {
  const Eigen::MatrixXd C = moderate_kernel();
  const CovarianceFactor L = covariance_factor(C, CovarianceRootKind::cholesky, true);
  EXPECT_EQ(L.kind, CovarianceRootKind::cholesky);
  EXPECT_TRUE(L.invertible);
  EXPECT_TRUE(cholesky_factor_applies(C));
  // lower triangular, LLᵀ = C and L⁻¹L = I to rounding (entries ≤ 1, P = 4: 1e-15)
  EXPECT_EQ(max_abs(L.root.triangularView<Eigen::StrictlyUpper>().toDenseMatrix()), 0.0);
  EXPECT_LT(max_abs(L.root * L.root.transpose() - C), 1e-15);
  EXPECT_LT(max_abs(L.inverse * L.root - Eigen::MatrixXd::Identity(4, 4)), 1e-14);
  const CovarianceFactor S = covariance_factor(C, CovarianceRootKind::symmetric, true);
  EXPECT_EQ(S.kind, CovarianceRootKind::symmetric);
  EXPECT_LT(max_abs(S.root - S.root.transpose()), 1e-15);  // symmetric up to rounding
  EXPECT_LT(max_abs(S.root * S.root - C), 1e-14);
  // Rank 2 of 5 (an input kernel of d = 2): singular to rounding, so the cholesky route
  // takes the symmetric root, which still reproduces C, and is not invertible.
  const Eigen::MatrixXd X = fixtures::random_symmetric(3, 5).leftCols(2);
  const Eigen::MatrixXd K = X * X.transpose();
  const CovarianceFactor fallback = covariance_factor(K, CovarianceRootKind::cholesky, true);
  EXPECT_EQ(fallback.kind, CovarianceRootKind::symmetric);
  EXPECT_FALSE(fallback.invertible);
  EXPECT_EQ(fallback.inverse.size(), 0);
  EXPECT_LT(max_abs(fallback.root * fallback.root.transpose() - K), 1e-13 * max_abs(K));
  EXPECT_FALSE(cholesky_factor_applies(K));
  // The pivot floor kCholeskyPivotFloor = 1e-10 (relative to max C_aa) on either side.
  EXPECT_TRUE(cholesky_factor_applies(Eigen::Vector2d(1.0, 1e-9).asDiagonal().toDenseMatrix()));
  EXPECT_FALSE(cholesky_factor_applies(Eigen::Vector2d(1.0, 1e-11).asDiagonal().toDenseMatrix()));
}

TEST(TiltedExpectations, GivenFactorGivesTheSameEstimateAsAFreshOne) {
  const Eigen::MatrixXd C = small_kernel();
  const GaussianPoints draws = tilted_base_draws(5, 2, 400, 3);
  for (TiltGradientForm form : {TiltGradientForm::price, TiltGradientForm::score}) {
    PointEstimateOptions o = options(form, false);
    o.root = CovarianceRootKind::cholesky;
    const bool score = form == TiltGradientForm::score;
    const CovarianceFactor factor = covariance_factor(C, CovarianceRootKind::cholesky, score);
    const TiltedExpectations fresh = point_set_tilted_expectations(Activation::erf, 2.0, C, moderate_tilt(), draws, o);
    const TiltedExpectations given =
        point_set_tilted_expectations(Activation::erf, 2.0, C, moderate_tilt(), draws, o, factor);
    EXPECT_EQ(fresh.second_moment, given.second_moment);
    EXPECT_EQ(fresh.gradient, given.gradient);
  }
  // a factor of another size, and a score form without the inverse, are refused
  const CovarianceFactor small = covariance_factor(C.topLeftCorner(2, 2), CovarianceRootKind::cholesky, true);
  EXPECT_THROW(point_set_tilted_expectations(Activation::erf, 2.0, C, moderate_tilt(), draws, {}, small), DataError);
  const CovarianceFactor no_inverse = covariance_factor(C, CovarianceRootKind::cholesky, false);
  EXPECT_THROW(point_set_tilted_expectations(Activation::erf, 2.0, C, moderate_tilt(), draws,
                                             options(TiltGradientForm::score, false), no_inverse),
               DataError);
}

TEST(TiltedExpectations, PointSubsetOfDrawsStaysDraws) {
  const GaussianPoints draws = tilted_base_draws(5, 2, 100, 3);
  const GaussianPoints batch = point_subset(draws, 10, 15);
  EXPECT_EQ(batch.batch_starts, (std::vector<Eigen::Index>{0, 5}));
  EXPECT_EQ(batch.z, draws.z.middleRows(10, 5));
  EXPECT_NEAR(batch.weights.sum(), 1.0, 1e-15);
  EXPECT_TRUE(point_subset(tensor_gauss_hermite_points(2, 3), 0, 4).batch_starts.empty());
}

TEST(TiltedExpectations, MethodNamesRoundTrip) {
  for (TiltMethod m : {TiltMethod::automatic, TiltMethod::linear_closed_form, TiltMethod::first_order,
                       TiltMethod::quadrature, TiltMethod::importance_sampling})
    EXPECT_EQ(parse_tilt_method(tilt_method_name(m)), m);
  for (TiltGradientForm f : {TiltGradientForm::automatic, TiltGradientForm::price, TiltGradientForm::score})
    EXPECT_EQ(parse_tilt_gradient_form(tilt_gradient_form_name(f)), f);
  try {
    parse_tilt_method("newton");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("theory.fb.method = \"newton\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_tilt_gradient_form("hessian"), ConfigError);
}

TEST(TiltedExpectations, BaseDrawsDependOnSeedAndLayerOnly) {
  const GaussianPoints a = tilted_base_draws(5, 2, 100, 4);
  const GaussianPoints b = tilted_base_draws(5, 2, 100, 4);
  const GaussianPoints c = tilted_base_draws(5, 3, 100, 4);
  const GaussianPoints d = tilted_base_draws(6, 2, 100, 4);
  EXPECT_EQ(a.z, b.z);
  EXPECT_NE(a.z, c.z);
  EXPECT_NE(a.z, d.z);
  EXPECT_DOUBLE_EQ(a.weights.sum(), 1.0);
  ASSERT_EQ(a.batch_starts.size(), static_cast<std::size_t>(kImportanceBatches + 1));
  EXPECT_EQ(a.batch_starts.front(), 0);
  EXPECT_EQ(a.batch_starts.back(), 100);
}

TEST(TiltedExpectations, TensorRuleIntegratesLowDegreePolynomialsExactly) {
  const GaussianPoints rule = tensor_gauss_hermite_points(3, 4);
  ASSERT_EQ(rule.z.rows(), 64);
  // E[z_0² z_1⁴ z_2²] = 1·3·1 = 3; degree per coordinate ≤ 2n − 1 = 7: rounding, 1e-13
  double moment = 0.0;
  for (Eigen::Index i = 0; i < rule.z.rows(); ++i)
    moment += rule.weights(i) * std::pow(rule.z(i, 0), 2) * std::pow(rule.z(i, 1), 4) * std::pow(rule.z(i, 2), 2);
  EXPECT_NEAR(moment, 3.0, 1e-13);
  EXPECT_NEAR(rule.weights.sum(), 1.0, 1e-14);
}

}  // namespace
}  // namespace kernelmc::theory
