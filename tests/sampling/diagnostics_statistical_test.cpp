// Monte Carlo properties of sampling/diagnostics, each against a closed form:
// split R̂ of i.i.d. normals (exact F law), R̂ thresholds for i.i.d., shifted and rescaled
// chains, ESS of i.i.d. and AR(1) draws, MCSE of the mean against the exact variance of
// an AR(1) grand mean, and E-BFMI of AR(1) energies. Each statistical comparison has a
// twin on wrong draws that must fail. Budget: < 5 s on one core (measured 0.9 s CPU).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/rng.hpp"
#include "sampling/diagnostics/ess.hpp"
#include "sampling/diagnostics/hmc_health.hpp"
#include "sampling/diagnostics/mcse.hpp"
#include "sampling/diagnostics/rhat.hpp"
#include "support/statistical.hpp"

namespace kernelmc::sampling {
namespace {

using kernelmc::testing::WithinStandardErrors;

// 4.5 standard errors: two-sided false-fail ≈ 7e-6 per comparison (STYLE.md §7).
constexpr double kZ = 4.5;

// `chains` independent stationary AR(1) chains of n draws, unit marginal variance:
// x_t = ρ x_{t−1} + sqrt(1 − ρ²) ε_t, x_1 ~ N(0, 1). ρ = 0 gives i.i.d. N(0, 1).
Eigen::MatrixXd ar1_draws(core::Engine& engine, Eigen::Index n, Eigen::Index chains, double rho) {
  Eigen::MatrixXd x = core::standard_normal_matrix(engine, n, chains);
  const double innovation = std::sqrt(1.0 - rho * rho);
  for (Eigen::Index t = 1; t < n; ++t) x.row(t) = rho * x.row(t - 1) + innovation * x.row(t);
  return x;
}

// Engine for replicate r of test `tag` (one stream per replicate, STYLE.md §6).
core::Engine replicate_stream(std::uint64_t tag, Eigen::Index r) {
  return core::make_stream(kernelmc::testing::test_seed(20240611), core::StreamPurpose::test, tag, static_cast<std::uint64_t>(r));
}

// Mean and standard error (divisor R − 1) of replicate values.
struct MeanSe {
  double mean;
  double se;
};
MeanSe mean_and_se(const Eigen::VectorXd& values) {
  const double R = static_cast<double>(values.size());
  const double mean = values.mean();
  const double var = (values.array() - mean).square().sum() / (R - 1.0);
  return {mean, std::sqrt(var / R)};
}

// Integrated autocorrelation time of a stationary AR(1): τ = (1 + ρ)/(1 − ρ).
double ar1_tau(double rho) { return (1.0 + rho) / (1.0 - rho); }

// n·Var(x̄)/σ² for one AR(1) chain of n draws: (1/n)[n + 2 Σ_{k=1}^{n−1} (n − k) ρ^k].
double ar1_finite_tau(double rho, Eigen::Index n) {
  double sum = static_cast<double>(n);
  double power = 1.0;
  for (Eigen::Index k = 1; k < n; ++k) {
    power *= rho;
    sum += 2.0 * static_cast<double>(n - k) * power;
  }
  return sum / static_cast<double>(n);
}

// ASYM(ESS^{-1/2}), the bias of Geyer's truncated sum (Vehtari et al. 2021 §3.2):
// beyond the true correlation the estimated pair sums are noise of SD sqrt(2τ/S);
// the sequence keeps them while positive, on average one such pair (a geometric count
// with p = 1/2) of mean sqrt(2τ/S)·sqrt(2/π). So τ̂ − τ ≲ 4 sqrt(τ/(πS)), i.e. a bias of
// at most 4/sqrt(π·τ·S) relative in ESS (2.3 % for i.i.d. S = 10⁴; measured 1.6 % in
// EssStatistical.IidDrawsGiveTheNumberOfDraws, 1.2 % with R posterior).
double geyer_truncation_relative_bias(double tau, double S) {
  return 4.0 / std::sqrt(std::numbers::pi * tau * S);
}

// Split R̂ of i.i.d. normal draws: the 2m split halves of n' draws are independent
// normal groups, so B/W = MSB/MSW ~ F(2m − 1, 2m(n' − 1)) exactly (Gelman & Rubin 1992) and
// R̂² = (F + n' − 1)/n' has a known mean and variance.
TEST(RhatStatistical, SplitRhatOfIidNormalsHasExactFMean) {
  constexpr Eigen::Index kReplicates = 400;
  constexpr Eigen::Index kDraws = 200;
  constexpr Eigen::Index kChains = 4;
  const double n_half = kDraws / 2;
  const double d1 = 2.0 * kChains - 1.0;
  const double d2 = 2.0 * kChains * (n_half - 1.0);
  const double f_mean = d2 / (d2 - 2.0);
  const double f_var = 2.0 * d2 * d2 * (d1 + d2 - 2.0) / (d1 * (d2 - 2.0) * (d2 - 2.0) * (d2 - 4.0));
  const double expected = (f_mean + n_half - 1.0) / n_half;
  const double se = std::sqrt(f_var) / n_half / std::sqrt(static_cast<double>(kReplicates));

  Eigen::VectorXd rhat_squared(kReplicates);
  Eigen::VectorXd rhat_squared_shifted(kReplicates);
  for (Eigen::Index r = 0; r < kReplicates; ++r) {
    core::Engine engine = replicate_stream(1, r);
    Eigen::MatrixXd x = ar1_draws(engine, kDraws, kChains, 0.0);
    rhat_squared(r) = std::pow(rhat_basic(x), 2);
    x.col(kChains - 1).array() += 0.1;  // twin: one chain off by a tenth of a SD
    rhat_squared_shifted(r) = std::pow(rhat_basic(x), 2);
  }
  // 4.5 SE of the mean over 400 replicates; SE exact from the F variance.
  EXPECT_TRUE(WithinStandardErrors(rhat_squared.mean(), expected, se, kZ));
  // Twin: the shift adds n'·Σ(μ_j − μ̄)²/(2m − 1)/n' = 1.5·0.01/7 ≈ 2.1e-3 to E[R̂²], ≈ 8 SE.
  EXPECT_FALSE(WithinStandardErrors(rhat_squared_shifted.mean(), expected, se, kZ));
}

// Null scale of R̂ for i.i.d. draws with n' draws per split half and m' = 2m halves:
// R̂ − 1 ≈ (F − 1)/(2n'), SD ≈ sqrt(2/(m' − 1))/(2n') (ranks of exchangeable draws behave
// as normal scores, ASYM(1/S)).
double null_rhat_sd(Eigen::Index draws_per_chain, Eigen::Index chains) {
  const double n_half = static_cast<double>(draws_per_chain / 2);
  return std::sqrt(2.0 / (2.0 * static_cast<double>(chains) - 1.0)) / (2.0 * n_half);
}

TEST(RhatStatistical, IidDrawsStayBelowOnePointZeroOne) {
  constexpr Eigen::Index kReplicates = 50;
  constexpr Eigen::Index kDraws = 1000;
  // The paper's threshold 1.01 lies (0.01)/null_rhat_sd = 19 null SDs above 1; the
  // Bonferroni z over 50 replicates × 2 (bulk, tail) at α = 1e-6 is 5.7.
  ASSERT_GT(0.01 / null_rhat_sd(kDraws, 4), kernelmc::testing::bonferroni_z(1e-6, 100));
  for (Eigen::Index r = 0; r < kReplicates; ++r) {
    core::Engine engine = replicate_stream(2, r);
    const Eigen::MatrixXd x = ar1_draws(engine, kDraws, 4, 0.0);
    EXPECT_LT(rhat(x), 1.01) << "replicate " << r;
  }
}

TEST(RhatStatistical, ShiftedChainExceedsOnePointZeroOne) {
  constexpr Eigen::Index kReplicates = 20;
  constexpr Eigen::Index kDraws = 1000;
  // One chain shifted by δ = 0.5: E[R̂²] − 1 ≈ Σ(μ_j − μ̄)²/(m' − 1) = 1.5δ²/7 = 0.054, so
  // R̂ ≈ 1.026, (1.026 − 1.01)/null_rhat_sd ≈ 30 null SDs above the threshold.
  for (Eigen::Index r = 0; r < kReplicates; ++r) {
    core::Engine engine = replicate_stream(3, r);
    Eigen::MatrixXd x = ar1_draws(engine, kDraws, 4, 0.0);
    x.col(3).array() += 0.5;
    EXPECT_GT(rhat(x), 1.01) << "replicate " << r;
    EXPECT_GT(rhat_bulk(x), 1.01) << "replicate " << r;
    EXPECT_GT(rhat_basic(x), 1.01) << "replicate " << r;
  }
}

// §4.2: a chain with twice the scale has the same location, which bulk R̂ cannot see;
// folding turns the scale into a location, which tail R̂ sees.
TEST(RhatStatistical, TailRhatDetectsScaleDifferenceThatBulkRhatMisses) {
  constexpr Eigen::Index kReplicates = 20;
  constexpr Eigen::Index kDraws = 1000;
  for (Eigen::Index r = 0; r < kReplicates; ++r) {
    core::Engine engine = replicate_stream(4, r);
    Eigen::MatrixXd x = ar1_draws(engine, kDraws, 4, 0.0);
    x.col(3) *= 2.0;
    // Bulk: equal chain medians, so R̂ stays within its null scale (19 SDs below 1.01).
    EXPECT_LT(rhat_bulk(x), 1.01) << "replicate " << r;
    // Tail: the folded draws of chain 4 have twice the median, far beyond 1.01.
    EXPECT_GT(rhat_tail(x), 1.01) << "replicate " << r;
  }
}

TEST(EssStatistical, IidDrawsGiveTheNumberOfDraws) {
  constexpr Eigen::Index kReplicates = 100;
  constexpr Eigen::Index kDraws = 2500;
  const double S = 4.0 * kDraws;
  Eigen::VectorXd bulk(kReplicates), basic(kReplicates), correlated(kReplicates);
  for (Eigen::Index r = 0; r < kReplicates; ++r) {
    core::Engine engine = replicate_stream(5, r);
    const Eigen::MatrixXd x = ar1_draws(engine, kDraws, 4, 0.0);
    bulk(r) = ess_bulk(x) / S;
    basic(r) = ess_basic(x) / S;
    core::Engine twin_engine = replicate_stream(6, r);
    correlated(r) = ess_basic(ar1_draws(twin_engine, kDraws, 4, 0.2)) / S;
  }
  // ASYM(S^{-1/2}): 4.5 SE of the mean over 100 replicates (SE from the replicates) plus
  // the Geyer truncation bias 4/sqrt(πS) = 2.3 %.
  const double allowance = geyer_truncation_relative_bias(1.0, S);
  for (const auto& [name, values] : {std::pair{"bulk", bulk}, std::pair{"basic", basic}}) {
    const MeanSe m = mean_and_se(values);
    EXPECT_TRUE(WithinStandardErrors(m.mean, 1.0, m.se, kZ, allowance)) << name;
  }
  // Twin: AR(1) draws with ρ = 0.2 have ESS/S = 0.8/1.2 = 0.67 and must fail the claim.
  const MeanSe twin = mean_and_se(correlated);
  EXPECT_FALSE(WithinStandardErrors(twin.mean, 1.0, twin.se, kZ, allowance));
}

TEST(EssStatistical, Ar1MatchesOneMinusRhoOverOnePlusRho) {
  constexpr Eigen::Index kReplicates = 100;
  constexpr Eigen::Index kDraws = 2500;
  constexpr double kRho = 0.5;
  const double S = 4.0 * kDraws;
  const double expected = 1.0 / ar1_tau(kRho);  // ESS/S = (1 − ρ)/(1 + ρ)
  Eigen::VectorXd bulk(kReplicates), basic(kReplicates), wrong_rho(kReplicates);
  for (Eigen::Index r = 0; r < kReplicates; ++r) {
    core::Engine engine = replicate_stream(7, r);
    const Eigen::MatrixXd x = ar1_draws(engine, kDraws, 4, kRho);
    bulk(r) = ess_bulk(x) / S;
    basic(r) = ess_basic(x) / S;
    core::Engine twin_engine = replicate_stream(8, r);
    wrong_rho(r) = ess_basic(ar1_draws(twin_engine, kDraws, 4, 0.55)) / S;
  }
  // ASYM(ESS^{-1/2}): 4.5 SE (from the replicates) plus the truncation bias
  // 4/sqrt(πτS) relative (1.3 % of 1/3 at τ = 3, S = 10⁴). The finite-n correction to τ
  // (τ_n/τ − 1 ≈ 2ρ/((1 − ρ²)·n) = 5e-4) is inside it.
  const double allowance = expected * geyer_truncation_relative_bias(ar1_tau(kRho), S);
  for (const auto& [name, values] : {std::pair{"bulk", bulk}, std::pair{"basic", basic}}) {
    const MeanSe m = mean_and_se(values);
    EXPECT_TRUE(WithinStandardErrors(m.mean, expected, m.se, kZ, allowance)) << name;
  }
  // Twin: ρ = 0.55 gives ESS/S = 0.29 instead of 0.33: must fail.
  const MeanSe twin = mean_and_se(wrong_rho);
  EXPECT_FALSE(WithinStandardErrors(twin.mean, expected, twin.se, kZ, allowance));
}

// MCSE against an independent route: the exact variance of the grand mean of m AR(1)
// chains, σ²·τ_n/(n·m).
TEST(McseStatistical, MeanMcseMatchesExactVarianceOfAr1GrandMean) {
  constexpr Eigen::Index kReplicates = 100;
  constexpr Eigen::Index kDraws = 2500;
  constexpr double kRho = 0.5;
  const double S = 4.0 * kDraws;
  const double exact_variance = ar1_finite_tau(kRho, kDraws) / S;
  Eigen::VectorXd mcse_squared(kReplicates), wrong(kReplicates);
  for (Eigen::Index r = 0; r < kReplicates; ++r) {
    core::Engine engine = replicate_stream(9, r);
    const Eigen::MatrixXd x = ar1_draws(engine, kDraws, 4, kRho);
    mcse_squared(r) = std::pow(mcse_mean(x), 2);
    // Twin: the naive i.i.d. standard error sd/sqrt(S) ignores the autocorrelation.
    wrong(r) = (x.array() - x.mean()).square().sum() / (S - 1.0) / S;
  }
  // ASYM(ESS^{-1/2}): 4.5 SE (from the replicates) plus the relative ESS truncation bias
  // 4/sqrt(πτS) = 1.3 %, carried by mcse² = s²/ESS.
  const double allowance = exact_variance * geyer_truncation_relative_bias(ar1_tau(kRho), S);
  const MeanSe m = mean_and_se(mcse_squared);
  EXPECT_TRUE(WithinStandardErrors(m.mean, exact_variance, m.se, kZ, allowance));
  const MeanSe twin = mean_and_se(wrong);
  EXPECT_FALSE(WithinStandardErrors(twin.mean, exact_variance, twin.se, kZ, allowance));
}

// E-BFMI of AR(1) energies: E[Σ(ΔE)²] = 2(n − 1)(1 − ρ)σ², E[Σ(E − Ē)²] = (n − τ_n)σ².
TEST(EBfmiStatistical, Ar1EnergiesGiveTwiceOneMinusRho) {
  constexpr Eigen::Index kChains = 50;
  constexpr Eigen::Index kDraws = 4000;
  constexpr double kRho = 0.5;
  const double n = kDraws;
  const double expected = 2.0 * (n - 1.0) * (1.0 - kRho) / (n - ar1_finite_tau(kRho, kDraws));
  core::Engine engine = replicate_stream(10, 0);
  const Eigen::VectorXd e_bfmi_right = e_bfmi_per_chain(ar1_draws(engine, kDraws, kChains, kRho));
  core::Engine twin_engine = replicate_stream(11, 0);
  const Eigen::VectorXd e_bfmi_wrong = e_bfmi_per_chain(ar1_draws(twin_engine, kDraws, kChains, 0.55));
  // ASYM(1/n): 4.5 SE of the mean over 50 chains (SE from the chains) plus the
  // ratio-of-means bias ≈ Var(Σd²)/E[Σd²]² ≈ 2(1 + ρ²)/((1 − ρ²)n) = 8e-4 relative.
  const double allowance = expected * 2.0 * (1.0 + kRho * kRho) / ((1.0 - kRho * kRho) * n);
  const MeanSe m = mean_and_se(e_bfmi_right);
  EXPECT_TRUE(WithinStandardErrors(m.mean, expected, m.se, kZ, allowance));
  // Twin: ρ = 0.55 gives 0.9 instead of 1.0: must fail.
  const MeanSe twin = mean_and_se(e_bfmi_wrong);
  EXPECT_FALSE(WithinStandardErrors(twin.mean, expected, twin.se, kZ, allowance));
}

TEST(EBfmiStatistical, SlowlyMixingEnergiesAreFlaggedLow) {
  // ρ = 0.9: E-BFMI ≈ 2(1 − ρ) = 0.2 with a per-chain SD of 0.014 at n = 4000 (measured
  // over 50 chains), so the threshold 0.3 is 7 SDs away for each of the 4 chains.
  core::Engine engine = replicate_stream(12, 0);
  const Eigen::MatrixXd energies = ar1_draws(engine, 4000, 4, 0.9);
  const HmcHealth health = hmc_health(energies, Eigen::MatrixXd::Zero(4000, 4));
  EXPECT_TRUE(health.has_low_e_bfmi()) << health.e_bfmi.transpose();
  EXPECT_TRUE((health.e_bfmi.array() < kLowEBfmi).all()) << health.e_bfmi.transpose();
}

}  // namespace
}  // namespace kernelmc::sampling
