#include "theory/criticality.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>

#include "theory/gaussian_expectations.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

TEST(Criticality, ErfEdgeOfChaosMatchesTheoryTable) {
  // THEORY.md §6.2 table (V15). Root finding to ≈ 1e-15; tolerance half a unit in the
  // last printed digit: 5e-6 for g_c, 5e-5 for q*.
  const double bias[] = {0.0, 0.01, 0.05, 0.1, 0.2, 0.5};
  const double g_c[] = {0.78540, 1.11428, 1.37584, 1.55212, 1.78818, 2.23366};
  const double q_star[] = {0.0, 0.2532, 0.5172, 0.7264, 1.0459, 1.7721};
  for (int i = 0; i < 6; ++i) {
    const double g = edge_of_chaos_g(Activation::erf, bias[i]);
    EXPECT_NEAR(g, g_c[i], 5e-6) << "sigma_b^2 = " << bias[i];
    const CriticalityPoint p = criticality_point(Activation::erf, g, bias[i]);
    EXPECT_NEAR(p.q_star, q_star[i], 5e-5) << "sigma_b^2 = " << bias[i];
    EXPECT_NEAR(p.chi_perpendicular, 1.0, 1e-12);
  }
  EXPECT_DOUBLE_EQ(edge_of_chaos_g(Activation::erf, 0.0), std::numbers::pi / 4);
}

TEST(Criticality, ErfChaoticPointMatchesTheory) {
  // THEORY.md §6.2: g = 1.5, σ_b = 0: q* = 0.5 (exactly: (2/π) asin(1/2) = 1/3 and
  // 1.5/3 = 0.5), χ₁ = 1.103, χ_∥ = 0.551 (half a unit: 5e-4).
  const CriticalityPoint p = criticality_point(Activation::erf, 1.5, 0.0);
  EXPECT_NEAR(p.q_star, 0.5, 1e-13);
  EXPECT_NEAR(p.chi_perpendicular, 1.103, 5e-4);
  EXPECT_NEAR(p.chi_parallel, 0.551, 5e-4);
}

TEST(Criticality, OrderedPhaseWithoutBiasHasZeroFixedPoint) {
  for (Activation activation : {Activation::erf, Activation::tanh}) {
    const double g_c = edge_of_chaos_g(activation, 0.0);
    const CriticalityPoint p = criticality_point(activation, 0.9 * g_c, 0.0);
    EXPECT_EQ(p.q_star, 0.0);
    // At q = 0: χ_⊥ = χ_∥ = g φ'(0)² = 0.9.
    EXPECT_NEAR(p.chi_perpendicular, 0.9, 1e-12);
    EXPECT_NEAR(p.chi_parallel, 0.9, 1e-12);
  }
}

TEST(Criticality, TanhReluLinearEdgesOfChaos) {
  EXPECT_DOUBLE_EQ(edge_of_chaos_g(Activation::tanh, 0.0), 1.0);  // φ'(0) = 1
  EXPECT_EQ(edge_of_chaos_g(Activation::relu, 0.3), 2.0);          // χ = g/2 at every q
  EXPECT_EQ(edge_of_chaos_g(Activation::linear, 0.3), 1.0);
  const CriticalityPoint relu = criticality_point(Activation::relu, 1.5, 0.1);
  EXPECT_NEAR(relu.q_star, 0.1 / (1 - 0.75), 1e-15);
  EXPECT_EQ(relu.chi_parallel, 0.75);
  EXPECT_EQ(criticality_point(Activation::relu, 2.5, 0.0).q_star, std::numeric_limits<double>::infinity());
  // With bias, tanh's edge moves up like erf's; χ_⊥ = 1 there.
  const double g = edge_of_chaos_g(Activation::tanh, 0.05);
  EXPECT_GT(g, 1.0);
  EXPECT_NEAR(criticality_point(Activation::tanh, g, 0.05).chi_perpendicular, 1.0, 1e-12);
}

TEST(Criticality, FixedPointSolvesLengthMap) {
  for (Activation activation : {Activation::erf, Activation::tanh}) {
    for (double bias : {0.0, 0.2}) {
      const CriticalityPoint p = criticality_point(activation, 2.0, bias);
      EXPECT_GT(p.q_star, 0.0);
      // TOMS 748 to 50 bits: residual at rounding level (1e-13).
      EXPECT_NEAR(length_map(activation, 2.0, bias, p.q_star), p.q_star, 1e-13);
    }
  }
}

TEST(Criticality, SusceptibilitiesAreDerivativesOfTheMaps) {
  // Independent route: χ_∥ = dq'/dq by central differences of the length map, and χ_⊥
  // the slope of the correlation map C_ab ↦ g⟨φ_aφ_b⟩ at C_ab = q* (one-sided, second
  // order). Step 1e-5: truncation ≈ 1e-10, rounding 1e-11 (tanh quadrature to 1e-14:
  // 1e-9); tolerance 1e-8 for χ_∥, 1e-6 for the one-sided χ_⊥ (truncation h²·f'''/3 with
  // the larger third derivative near perfect correlation).
  for (Activation activation : {Activation::erf, Activation::tanh}) {
    const double g = 1.7, bias = 0.1;
    const CriticalityPoint p = criticality_point(activation, g, bias);
    const double h = 1e-5, q = p.q_star;
    const double chi_parallel = (length_map(activation, g, bias, q + h) - length_map(activation, g, bias, q - h)) / (2 * h);
    EXPECT_NEAR(p.chi_parallel, chi_parallel, 1e-8) << core::activation_name(activation);
    auto correlation_map = [&](double c) {
      return g * pair_expectation(activation, PairMoment::phi_phi, q, q, c, false, 1e-14);
    };
    const double chi_perpendicular =
        (3 * correlation_map(q) - 4 * correlation_map(q - h) + correlation_map(q - 2 * h)) / (2 * h);
    EXPECT_NEAR(p.chi_perpendicular, chi_perpendicular, 1e-6) << core::activation_name(activation);
  }
}

}  // namespace
}  // namespace kernelmc::theory
