// Tests of sampling/stepsize_adaptation (Hoffman & Gelman 2014, Algorithm 5): the first
// updates by hand, its fixed point, clipping, restart, and the rate at which it finds
// the step whose acceptance equals the target on a known response curve.
#include "sampling/stepsize_adaptation.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace kernelmc::sampling {
namespace {

constexpr double kDelta = 0.8, kGamma = 0.05, kKappa = 0.75, kT0 = 10.0;  // Stan's defaults

TEST(StepSizeAdaptation, FirstUpdatesFollowHoffmanGelmanRecursion) {
  // With η_t = 1/(t + t0), s̄_t = Σ_{i≤t} (δ − a_i) / (t + t0). Accepts 0.3 then 0.9:
  // s̄₁ = 0.5/11, s̄₂ = 0.4/12; x_t = μ − s̄_t √t / γ; x̄₁ = x₁, x̄₂ = (1 − 2^{−κ}) x₁ + 2^{−κ} x₂.
  StepSizeAdaptation adaptation(kDelta, kGamma, kKappa, kT0);
  const double mu = std::log(10.0);
  adaptation.set_mu(mu);
  const double x1 = mu - (0.5 / 11.0) / kGamma;
  const double x2 = mu - (0.4 / 12.0) * std::sqrt(2.0) / kGamma;
  // Deterministic: the same arithmetic in another order; tolerance 1e-14 relative.
  EXPECT_NEAR(adaptation.learn(0.3), std::exp(x1), 1e-14 * std::exp(x1));
  EXPECT_NEAR(adaptation.adapted_step_size(), std::exp(x1), 1e-14 * std::exp(x1));
  EXPECT_NEAR(adaptation.learn(0.9), std::exp(x2), 1e-14 * std::exp(x2));
  const double w = std::pow(2.0, -kKappa);
  const double x_bar = (1 - w) * x1 + w * x2;
  EXPECT_NEAR(adaptation.adapted_step_size(), std::exp(x_bar), 1e-14 * std::exp(x_bar));
  EXPECT_EQ(adaptation.iterations(), 2);
}

TEST(StepSizeAdaptation, AcceptanceAtTargetKeepsStepAtExpMu) {
  StepSizeAdaptation adaptation(kDelta, kGamma, kKappa, kT0);
  adaptation.set_mu(std::log(0.3));
  for (int t = 0; t < 100; ++t) EXPECT_DOUBLE_EQ(adaptation.learn(kDelta), 0.3);
  EXPECT_DOUBLE_EQ(adaptation.adapted_step_size(), 0.3);
}

TEST(StepSizeAdaptation, AcceptanceAboveOneCountsAsOne) {
  StepSizeAdaptation a(kDelta, kGamma, kKappa, kT0), b(kDelta, kGamma, kKappa, kT0);
  EXPECT_EQ(a.learn(1.7), b.learn(1.0));
}

TEST(StepSizeAdaptation, RestartForgetsHistory) {
  StepSizeAdaptation fresh(kDelta, kGamma, kKappa, kT0), used(kDelta, kGamma, kKappa, kT0);
  for (double a : {0.1, 0.95, 0.5}) used.learn(a);
  used.restart();
  EXPECT_EQ(used.iterations(), 0);
  EXPECT_EQ(used.learn(0.6), fresh.learn(0.6));
  EXPECT_EQ(used.adapted_step_size(), fresh.adapted_step_size());
}

TEST(StepSizeAdaptation, ConvergesToTargetAcceptanceAtInverseSqrtRate) {
  // Deterministic response a(ε) = exp(−ε²): the target 0.8 is met at ε* = √(−log 0.8).
  // Since x_t = μ − s̄_t √t/γ stays bounded, Σ(δ − a_i) ≈ γ(μ − x*)√t, so a_t falls short
  // of δ by γ(μ − x*)/(2√t) and log ε_t exceeds log ε* by that over |da/dlog ε| = 2ε*²δ.
  // ASYM(t^{−1/2}): the prediction is the leading term; x̄ also averages earlier, larger
  // errors (≈ +5 %) and the next order is O(1/t); tolerance ±25 % of the prediction.
  const double eps_star = std::sqrt(-std::log(kDelta));
  const double mu = std::log(10.0);
  for (int T : {10000, 100000}) {
    StepSizeAdaptation adaptation(kDelta, kGamma, kKappa, kT0);
    adaptation.set_mu(mu);
    double eps = 1.0;
    for (int t = 0; t < T; ++t) eps = adaptation.learn(std::exp(-eps * eps));
    const double predicted = kGamma * (mu - std::log(eps_star)) / (2.0 * std::sqrt(T)) /
                             (2.0 * eps_star * eps_star * kDelta);
    const double log_error = std::log(adaptation.adapted_step_size() / eps_star);
    EXPECT_NEAR(log_error, predicted, 0.25 * predicted) << "T = " << T;
  }
}

}  // namespace
}  // namespace kernelmc::sampling
