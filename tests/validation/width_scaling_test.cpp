#include "validation/width_scaling.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "validation/verdicts.hpp"

namespace kv = kernelmc::validation;

TEST(WidthScaling, RecoversAnExactPowerLaw) {
  const std::vector<double> N = {16, 32, 64, 128, 256};
  std::vector<double> D, se;
  for (double n : N) {
    D.push_back(3.0 / n);
    se.push_back(0.01 * 3.0 / n);
  }
  const auto fit = kv::fit_power_law(N, D, se);
  ASSERT_TRUE(fit.valid());
  // Exact data: slope and amplitude up to rounding.
  EXPECT_NEAR(fit.exponent, -1.0, 1e-12);
  EXPECT_NEAR(fit.amplitude, 3.0, 1e-10);
  EXPECT_LT(fit.exponent_low, -1.0);
  EXPECT_GT(fit.exponent_high, -1.0);
}

TEST(WidthScaling, ScatterBeyondTheErrorsWidensTheInterval) {
  const std::vector<double> N = {16, 32, 64, 128, 256};
  const std::vector<double> D = {0.2, 0.08, 0.06, 0.02, 0.013};
  const std::vector<double> small_se(5, 1e-4);
  const auto fit = kv::fit_power_law(N, D, small_se);
  ASSERT_TRUE(fit.valid());
  EXPECT_GT(fit.reduced_chi_square, 1.0);
  // The Birge-scaled interval must cover the ordinary least-squares slope of these points.
  EXPECT_LT(fit.exponent_low, fit.exponent);
  EXPECT_GT(fit.exponent_high - fit.exponent_low, 0.1);
}

TEST(WidthScaling, UnresolvedPointsAreLeftOut) {
  const std::vector<double> N = {16, 32, 64, 128};
  const std::vector<double> D = {0.1, 0.05, 0.0, 0.0};  // zero excess: noise-dominated
  const std::vector<double> se = {0.01, 0.01, 0.01, 0.01};
  const auto fit = kv::fit_power_law(N, D, se);
  EXPECT_EQ(fit.points, 2);
  EXPECT_FALSE(fit.valid());
  EXPECT_TRUE(std::isnan(fit.exponent));
}

namespace kernelmc::validation {
namespace {

TEST(Verdict, ConsistentOnlyWhereTheEffectIsResolved) {
  // A theory consistent at every width says so only where the NNGP is rejected there too;
  // where it is not, the data cannot tell the theory from the infinite-width one.
  TheoryScaling s;
  s.theory = "one_loop";
  s.widths = {32, 64, 128};
  s.consistent_from = 32;
  EXPECT_EQ(verdict_text(s), "consistent within MC error at every compared width (N >= 32)");
  s.unresolved_widths = {128};
  EXPECT_EQ(verdict_text(s),
            "consistent within MC error at every compared width (N >= 32) (the effect is not resolved at N = 128)");
  s.unresolved_widths = {32, 64, 128};
  EXPECT_EQ(verdict_text(s), "not resolved for N >= 32: the effect (the difference from the NNGP) is within MC "
                             "error there");
  s.consistent_from = 0;  // deviating verdicts are not affected
  EXPECT_EQ(verdict_text(s).rfind("deviates at N = 128", 0), 0u) << verdict_text(s);
}

}  // namespace
}  // namespace kernelmc::validation
