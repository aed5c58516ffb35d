// Tests of sampling/integrators: the leapfrog against the exact solutions of the
// harmonic oscillator (its discrete solution and the continuous flow), time
// reversibility and symplecticity on a non-quadratic potential, the exact
// Ornstein–Uhlenbeck momentum step, and BAOAB's exact positions on a Gaussian.
#include "sampling/integrators.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "support/statistical.hpp"
#include "sampling/test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

using testing::correlated_gumbel;
using testing::GaussianPotential;

// U = ω² q² / 2 on ℝ¹ (a Gaussian with variance 1/ω²).
GaussianPotential harmonic(double omega) {
  return GaussianPotential(Eigen::VectorXd::Zero(1), Eigen::MatrixXd::Constant(1, 1, 1.0 / (omega * omega)));
}

PhasePoint start_1d(Potential& U, double q0, double p0) {
  PhasePoint z = make_phase_point(U, Eigen::VectorXd::Constant(1, q0));
  z.p(0) = p0;
  return z;
}

TEST(Leapfrog, MatchesExactDiscreteSolutionOfHarmonicOscillator) {
  // One step is the matrix M = [[1 − h²ω²/2, h], [−hω²(1 − h²ω²/4), 1 − h²ω²/2]] on (q, p),
  // with det M = 1 and trace 2 cos θ; hence Mⁿ = cos(nθ) I + sin(nθ)/sin θ (M − cos θ I).
  const double omega = 1.3, h = 0.1, q0 = 0.7, p0 = -0.4;
  GaussianPotential U = harmonic(omega);
  const Metric metric(1);
  PhasePoint z = start_1d(U, q0, p0);
  const double theta = std::acos(1.0 - h * h * omega * omega / 2.0);
  for (int n = 1; n <= 1000; ++n) {
    leapfrog(z, metric, U, h);
    const double s = std::sin(n * theta) / std::sin(theta);
    const double q_exact = std::cos(n * theta) * q0 + s * h * p0;
    const double p_exact = std::cos(n * theta) * p0 - s * h * omega * omega * (1.0 - h * h * omega * omega / 4.0) * q0;
    // Deterministic: 1000 steps of round-off (≈ 1e-16 each, growing at most linearly on
    // this stable rotation) against O(1) values; tolerance 1e-11.
    ASSERT_NEAR(z.q(0), q_exact, 1e-11) << "step " << n;
    ASSERT_NEAR(z.p(0), p_exact, 1e-11) << "step " << n;
  }
}

TEST(Leapfrog, ConservesShadowHamiltonianOfHarmonicOscillator) {
  // M preserves H̃ = p²/2 + (ω²/2)(1 − h²ω²/4) q² exactly (MᵀQM = Q for Q = diag(−M₂₁, M₁₂)).
  const double omega = 2.0, h = 0.3;
  GaussianPotential U = harmonic(omega);
  const Metric metric(1);
  PhasePoint z = start_1d(U, 1.1, 0.3);
  const auto shadow = [&](const PhasePoint& x) {
    return 0.5 * x.p(0) * x.p(0) + 0.5 * omega * omega * (1.0 - h * h * omega * omega / 4.0) * x.q(0) * x.q(0);
  };
  const double H0 = shadow(z);
  double max_true_error = 0.0;
  for (int n = 0; n < 1000; ++n) {
    leapfrog(z, metric, U, h);
    // Deterministic: exact invariant; tolerance 1e-12 for the round-off of 1000 steps.
    ASSERT_NEAR(shadow(z), H0, 1e-12) << "step " << n;
    max_true_error = std::max(max_true_error, std::abs(hamiltonian(z, metric) - hamiltonian(start_1d(U, 1.1, 0.3), metric)));
  }
  // The true energy is not conserved (the check has power): H − H̃ = h²ω⁴q²/8 ≠ 0.
  EXPECT_GT(max_true_error, 1e-3);
}

// Error at time T = 1 against the exact flow q(t) = q0 cos ωt + (p0/ω) sin ωt.
double global_error(double h) {
  const double omega = 1.0, q0 = 1.0, p0 = 0.5;
  GaussianPotential U = harmonic(omega);
  const Metric metric(1);
  PhasePoint z = start_1d(U, q0, p0);
  const int n = static_cast<int>(std::lround(1.0 / h));
  for (int i = 0; i < n; ++i) leapfrog(z, metric, U, h);
  return std::hypot(z.q(0) - (q0 * std::cos(omega) + p0 / omega * std::sin(omega)),
                    z.p(0) - (p0 * std::cos(omega) - q0 * omega * std::sin(omega)));
}

// Largest |H − H₀| over one period.
double energy_error(double h) {
  GaussianPotential U = harmonic(1.0);
  const Metric metric(1);
  PhasePoint z = start_1d(U, 1.0, 0.5);
  const double H0 = hamiltonian(z, metric);
  double worst = 0.0;
  for (int i = 0; i < static_cast<int>(2 * M_PI / h); ++i) {
    leapfrog(z, metric, U, h);
    worst = std::max(worst, std::abs(hamiltonian(z, metric) - H0));
  }
  return worst;
}

TEST(Leapfrog, ErrorsAreSecondOrderInStepSize) {
  // ASYM(h²): error = c h² (1 + O(h²)), so halving h divides it by 4 (1 + O(h²)); at
  // h ≤ 0.1 the O(h²) correction is ≈ 1 %, and the sampled maximum of |H − H₀| adds a
  // grid effect of O(h) relative; tolerance ±5 % on the ratio 4.
  for (double h : {0.1, 0.05}) {
    EXPECT_NEAR(global_error(h) / global_error(h / 2), 4.0, 0.2) << "h = " << h;
    EXPECT_NEAR(energy_error(h) / energy_error(h / 2), 4.0, 0.2) << "h = " << h;
  }
}

TEST(Leapfrog, IsTimeReversible) {
  auto U = correlated_gumbel();
  const Metric metric((Eigen::VectorXd(3) << 0.5, 1.0, 2.0).finished());
  PhasePoint z = make_phase_point(U, (Eigen::VectorXd(3) << 0.3, 0.8, -1.2).finished());
  z.p << 0.7, -1.1, 0.4;
  const PhasePoint start = z;
  for (int i = 0; i < 50; ++i) leapfrog(z, metric, U, 0.1);
  EXPECT_GT((z.q - start.q).norm(), 0.1);  // it did move
  z.p = -z.p;
  for (int i = 0; i < 50; ++i) leapfrog(z, metric, U, 0.1);
  z.p = -z.p;
  // Deterministic: exact in exact arithmetic; 1e-11 allows the round-off of 100 steps.
  EXPECT_LT((z.q - start.q).lpNorm<Eigen::Infinity>(), 1e-11);
  EXPECT_LT((z.p - start.p).lpNorm<Eigen::Infinity>(), 1e-11);
  EXPECT_NEAR(z.potential, start.potential, 1e-11);
}

TEST(Leapfrog, IsSymplecticOnNonQuadraticPotential) {
  // The Jacobian J of 20 leapfrog steps on (q, p) ∈ ℝ⁶ satisfies Jᵀ Ω J = Ω.
  auto U = correlated_gumbel();
  const Metric metric((Eigen::VectorXd(3) << 0.5, 1.0, 2.0).finished());
  const Eigen::Index d = 3;
  Eigen::VectorXd x0(2 * d);
  x0 << 0.3, 0.8, -1.2, 0.7, -1.1, 0.4;
  const auto flow = [&](const Eigen::VectorXd& x) {
    PhasePoint z = make_phase_point(U, x.head(d));
    z.p = x.tail(d);
    for (int i = 0; i < 20; ++i) leapfrog(z, metric, U, 0.1);
    Eigen::VectorXd out(2 * d);
    out << z.q, z.p;
    return out;
  };
  const double delta = 1e-5;
  Eigen::MatrixXd J(2 * d, 2 * d);
  for (Eigen::Index j = 0; j < 2 * d; ++j) {
    Eigen::VectorXd plus = x0, minus = x0;
    plus(j) += delta;
    minus(j) -= delta;
    J.col(j) = (flow(plus) - flow(minus)) / (2 * delta);
  }
  Eigen::MatrixXd Omega = Eigen::MatrixXd::Zero(2 * d, 2 * d);
  Omega.topRightCorner(d, d).setIdentity();
  Omega.bottomLeftCorner(d, d) = -Eigen::MatrixXd::Identity(d, d);
  const Eigen::MatrixXd defect = J.transpose() * Omega * J - Omega;
  // Deterministic: central differences err by O(δ²·|∂³flow|) ≈ 1e-10 plus round-off
  // 1e-16/δ ≈ 1e-11 per entry of J (entries O(1)); tolerance 1e-7.
  EXPECT_LT(defect.lpNorm<Eigen::Infinity>(), 1e-7) << defect;
  // Power: a map that is not symplectic (q scaled by 1.01) fails the same check.
  Eigen::MatrixXd scaled = J;
  scaled.topRows(d) *= 1.01;
  EXPECT_GT((scaled.transpose() * Omega * scaled - Omega).lpNorm<Eigen::Infinity>(), 1e-3);
}

TEST(OrnsteinUhlenbeck, HasExactConditionalMeanAndVariance) {
  // From fixed p₀: p = c p₀ + √(1 − c²) M^{1/2} ξ, so E p = c p₀ and Var p = (1 − c²) M.
  const Eigen::VectorXd inverse_mass = (Eigen::VectorXd(2) << 0.25, 4.0).finished();
  const Metric metric(inverse_mass);
  const double friction = 0.7, duration = 0.5, c = std::exp(-friction * duration);
  const Eigen::VectorXd p0 = (Eigen::VectorXd(2) << 1.5, -0.5).finished();
  core::Engine engine = core::make_stream(1, core::StreamPurpose::test, 0, 0);
  const int n = 20000;
  Eigen::MatrixXd draws(2, n);
  for (int i = 0; i < n; ++i) {
    PhasePoint z{Eigen::VectorXd::Zero(2), p0, Eigen::VectorXd::Zero(2), 0.0};
    ornstein_uhlenbeck(z, metric, friction, duration, engine);
    draws.col(i) = z.p;
  }
  const Eigen::VectorXd var = (1.0 - c * c) * inverse_mass.cwiseInverse();
  const Eigen::VectorXd mean = draws.rowwise().mean();
  const Eigen::VectorXd sample_var = (draws.colwise() - mean).rowwise().squaredNorm() / (n - 1);
  // Statistical: 4 comparisons, Bonferroni z at α = 1e-6 (≈ 5.3); SE of the mean √(var/n),
  // of a Gaussian sample variance var·√(2/(n−1)); both exact for i.i.d. Gaussian draws.
  const double z = kernelmc::testing::bonferroni_z(1e-6, 4);
  for (Eigen::Index i = 0; i < 2; ++i) {
    EXPECT_TRUE(kernelmc::testing::WithinStandardErrors(mean(i), c * p0(i), std::sqrt(var(i) / n), z));
    EXPECT_TRUE(kernelmc::testing::WithinStandardErrors(sample_var(i), var(i), var(i) * std::sqrt(2.0 / (n - 1)), z));
  }
}

TEST(Baoab, SamplesHarmonicPositionsExactly) {
  // BAOAB is linear on U = ω²q²/2: z' = F z + g ξ with one normal ξ per step (unit metric).
  // F and g are read off the implementation (two runs on copies of one engine), and the
  // stationary covariance solves Σ = F Σ Fᵀ + g gᵀ. Leimkuhler & Matthews 2013: Σ_qq = 1/ω²
  // exactly, for every stable h and friction; Σ_pp = 1 − h²ω²/4 is biased.
  const double omega = 1.7, h = 0.6, friction = 0.8;
  GaussianPotential U = harmonic(omega);
  const Metric metric(1);
  core::Engine engine = core::make_stream(2, core::StreamPurpose::test, 0, 0);
  const auto step = [&](double q, double p, core::Engine e) {
    PhasePoint z = start_1d(U, q, p);
    baoab(z, metric, U, h, friction, e);
    return Eigen::Vector2d(z.q(0), z.p(0));
  };
  const Eigen::Vector2d noise_only = step(0.0, 0.0, engine);
  Eigen::Matrix2d F;
  F.col(0) = step(1.0, 0.0, engine) - noise_only;
  F.col(1) = step(0.0, 1.0, engine) - noise_only;
  core::Engine copy = engine;
  Eigen::VectorXd xi(1);
  core::fill_standard_normal(copy, xi);
  const Eigen::Vector2d g = noise_only / xi(0);
  Eigen::Matrix2d Sigma = Eigen::Matrix2d::Zero();
  for (int i = 0; i < 5000; ++i) Sigma = F * Sigma * F.transpose() + g * g.transpose();
  // Deterministic: the fixed-point iteration contracts by the spectral radius of F
  // (< 0.8 here) per sweep, so 5000 sweeps converge to round-off; tolerance 1e-12.
  EXPECT_NEAR(Sigma(0, 0), 1.0 / (omega * omega), 1e-12);
  EXPECT_NEAR(Sigma(1, 1), 1.0 - h * h * omega * omega / 4.0, 1e-12);
}

TEST(MakePhasePoint, RejectsNonFiniteStart) {
  testing::WalledPotential U(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2), 0.0);
  EXPECT_THROW(make_phase_point(U, Eigen::VectorXd::Ones(2)), NumericalError);
  const PhasePoint z = make_phase_point(U, -Eigen::VectorXd::Ones(2));
  EXPECT_DOUBLE_EQ(z.potential, 1.0);
  EXPECT_TRUE(z.gradient.isApprox(-Eigen::VectorXd::Ones(2)));
}

}  // namespace
}  // namespace kernelmc::sampling
