// Deterministic tests of sampling/diagnostics: golden values from R posterior 1.4.0
// (tests/fixtures/diagnostics/make_golden.R), the building blocks against independent
// routes, and the NaN rule for degenerate input. The Monte Carlo properties (R̂ ≈ 1 and
// ESS ≈ S for i.i.d. draws, AR(1) ESS, E-BFMI) are in diagnostics_statistical_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampling/diagnostics/autocovariance.hpp"
#include "sampling/diagnostics/check_chains.hpp"
#include "sampling/diagnostics/ess.hpp"
#include "sampling/diagnostics/mcse.hpp"
#include "sampling/diagnostics/rank_normalization.hpp"
#include "sampling/diagnostics/rhat.hpp"
#include "sampling/diagnostics/sample_quantile.hpp"
#include "sampling/diagnostics/split_chains.hpp"

namespace kernelmc::sampling {
namespace {

const std::string kFixtureDir = std::string(KERNELMC_FIXTURE_DIR) + "/diagnostics/";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) fields.push_back(field);
  return fields;
}

// Lines of a fixture file, header dropped.
std::vector<std::string> fixture_lines(const std::string& file) {
  std::ifstream in(kFixtureDir + file);
  EXPECT_TRUE(in.good()) << "cannot open " << kFixtureDir + file;
  std::vector<std::string> lines;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// A draws × chains fixture written by make_golden.R (17 significant digits, so strtod
// gives back the doubles R computed with).
Eigen::MatrixXd read_draws(const std::string& name) {
  const std::vector<std::string> lines = fixture_lines(name + ".csv");
  if (lines.empty()) return {};
  const auto chains = static_cast<Eigen::Index>(split_fields(lines.front()).size());
  Eigen::MatrixXd draws(static_cast<Eigen::Index>(lines.size()), chains);
  for (Eigen::Index i = 0; i < draws.rows(); ++i) {
    const std::vector<std::string> fields = split_fields(lines[static_cast<std::size_t>(i)]);
    EXPECT_EQ(static_cast<Eigen::Index>(fields.size()), chains);
    for (Eigen::Index c = 0; c < chains; ++c)
      draws(i, c) = std::stod(fields[static_cast<std::size_t>(c)]);
  }
  return draws;
}

using Diagnostic = std::function<double(const Eigen::MatrixXd&)>;

// The golden.csv diagnostic names and the functions they pin.
const std::map<std::string, Diagnostic>& diagnostics_by_name() {
  static const std::map<std::string, Diagnostic> table = {
      {"rhat", [](const Eigen::MatrixXd& x) { return rhat(x); }},
      {"rhat_bulk", [](const Eigen::MatrixXd& x) { return rhat_bulk(x); }},
      {"rhat_tail", [](const Eigen::MatrixXd& x) { return rhat_tail(x); }},
      {"rhat_basic", [](const Eigen::MatrixXd& x) { return rhat_basic(x); }},
      {"rhat_basic_nosplit", [](const Eigen::MatrixXd& x) { return rhat_basic(x, false); }},
      {"ess_basic", [](const Eigen::MatrixXd& x) { return ess_basic(x); }},
      {"ess_basic_nosplit", [](const Eigen::MatrixXd& x) { return ess_basic(x, false); }},
      {"ess_bulk", [](const Eigen::MatrixXd& x) { return ess_bulk(x); }},
      {"ess_tail", [](const Eigen::MatrixXd& x) { return ess_tail(x); }},
      {"ess_mean", [](const Eigen::MatrixXd& x) { return ess_mean(x); }},
      {"ess_sd", [](const Eigen::MatrixXd& x) { return ess_sd(x); }},
      {"ess_q05", [](const Eigen::MatrixXd& x) { return ess_quantile(x, 0.05); }},
      {"ess_q50", [](const Eigen::MatrixXd& x) { return ess_quantile(x, 0.5); }},
      {"ess_q95", [](const Eigen::MatrixXd& x) { return ess_quantile(x, 0.95); }},
      {"mcse_mean", [](const Eigen::MatrixXd& x) { return mcse_mean(x); }},
      {"mcse_sd", [](const Eigen::MatrixXd& x) { return mcse_sd(x); }},
      {"mcse_q05", [](const Eigen::MatrixXd& x) { return mcse_quantile(x, 0.05); }},
      {"mcse_q50", [](const Eigen::MatrixXd& x) { return mcse_quantile(x, 0.5); }},
      {"mcse_q95", [](const Eigen::MatrixXd& x) { return mcse_quantile(x, 0.95); }},
  };
  return table;
}

// Every fixture × every diagnostic (9 × 19 values; "NA" rows must give NaN).
TEST(Diagnostics, MatchRPosteriorGoldenValues) {
  const std::vector<std::string> rows = fixture_lines("golden.csv");
  ASSERT_EQ(rows.size(), 9u * diagnostics_by_name().size());
  std::map<std::string, Eigen::MatrixXd> fixtures;
  double worst_relative_error = 0.0;
  for (const std::string& row : rows) {
    const std::vector<std::string> fields = split_fields(row);
    ASSERT_EQ(fields.size(), 3u) << row;
    const std::string& fixture = fields[0];
    const std::string& name = fields[1];
    if (!fixtures.contains(fixture)) fixtures[fixture] = read_draws(fixture);
    ASSERT_TRUE(diagnostics_by_name().contains(name)) << name;
    const double value = diagnostics_by_name().at(name)(fixtures[fixture]);
    if (fields[2] == "NA") {
      EXPECT_TRUE(std::isnan(value)) << fixture << " " << name << " = " << value;
      continue;
    }
    const double expected = std::stod(fields[2]);
    // Deterministic: the same arithmetic as posterior up to summation order, FFT
    // rounding (~1e-15 of γ̂_0) and the normal and beta quantile implementations (Boost vs
    // R's AS 241 / AS 109, both ~1e-15 relative); tolerance 1e-8 relative.
    const double relative_error = std::abs(value - expected) / std::abs(expected);
    worst_relative_error = std::max(worst_relative_error, expected == 0.0 ? std::abs(value) : relative_error);
    EXPECT_NEAR(value, expected, 1e-8 * std::abs(expected)) << fixture << " " << name;
  }
  RecordProperty("worst_relative_error", std::to_string(worst_relative_error));
  std::cout << "worst relative error against posterior: " << worst_relative_error << "\n";
}

TEST(RankNormalization, MatchesRPosteriorZScaleWithTies) {
  const Eigen::MatrixXd ties = read_draws("ties");
  const Eigen::MatrixXd expected = read_draws("rank_normalized_ties");
  ASSERT_EQ(ties.rows(), expected.rows());
  ASSERT_EQ(ties.cols(), expected.cols());
  // Deterministic: Boost's normal quantile vs R's qnorm (both ~1e-15 relative) at the
  // same fractional ranks; tolerance 1e-12 absolute on O(1) z-scores.
  EXPECT_LT((rank_normalize(ties) - expected).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(RankNormalization, UsesAverageRanksAndBlomOffset) {
  Eigen::MatrixXd x(2, 2);
  x << 3.0, 1.0,  //
      3.0, -2.0;
  // Pooled ranks: −2 → 1, 1 → 2, the two 3s → 3.5 each; S = 4, u = (r − 3/8)/(4 + 1/4).
  const Eigen::MatrixXd z = rank_normalize(x);
  // Φ(z) = u, checked through the complementary error function: Φ(z) = erfc(−z/√2)/2.
  const auto cdf = [](double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); };
  EXPECT_NEAR(cdf(z(1, 1)), (1.0 - 0.375) / 4.25, 1e-15);
  EXPECT_NEAR(cdf(z(0, 1)), (2.0 - 0.375) / 4.25, 1e-15);
  EXPECT_NEAR(cdf(z(0, 0)), (3.5 - 0.375) / 4.25, 1e-15);
  EXPECT_EQ(z(0, 0), z(1, 0));
}

TEST(RankNormalization, KeepsNaNAndRanksItLast) {
  Eigen::MatrixXd x(3, 1);
  x << 2.0, kNaN, 1.0;
  const Eigen::MatrixXd z = rank_normalize(x);
  EXPECT_TRUE(std::isnan(z(1, 0)));
  EXPECT_LT(z(2, 0), z(0, 0));
  // As R's rank(na.last = TRUE): the numbers get ranks 1, 2 of S = 3.
  const auto cdf = [](double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); };
  EXPECT_NEAR(cdf(z(0, 0)), (2.0 - 0.375) / 3.25, 1e-15);
}

TEST(FoldDraws, IsAbsoluteDeviationFromPooledMedian) {
  Eigen::MatrixXd x(2, 2);
  x << 1.0, 4.0,  //
      2.0, 10.0;
  // Pooled median of {1, 2, 4, 10} is 3.
  Eigen::MatrixXd expected(2, 2);
  expected << 2.0, 1.0,  //
      1.0, 7.0;
  EXPECT_EQ(fold_draws(x), expected);
}

TEST(SplitChains, PutsFirstHalvesThenSecondHalvesAndDropsMiddleDraw) {
  Eigen::MatrixXd x(5, 2);
  x << 1, 10,  //
      2, 20,   //
      3, 30,   //
      4, 40,   //
      5, 50;
  Eigen::MatrixXd expected(2, 4);
  expected << 1, 10, 4, 40,  //
      2, 20, 5, 50;
  EXPECT_EQ(split_chains(x), expected);
  EXPECT_EQ(split_chains(x.topRows(4)).rows(), 2);
  EXPECT_EQ(split_chains(x.topRows(1)), x.topRows(1));  // posterior: one draw is not split
}

TEST(SampleQuantile, MatchesRType7) {
  Eigen::MatrixXd x(2, 2);
  x << 4.0, 1.0,  //
      2.0, 3.0;
  // R: quantile(c(4, 2, 1, 3), p) = 1 + 3p interpolated on the sorted values 1, 2, 3, 4.
  EXPECT_DOUBLE_EQ(sample_quantile(x, 0.3), 1.9);
  EXPECT_EQ(sample_quantile(x, 0.0), 1.0);
  EXPECT_EQ(sample_quantile(x, 1.0), 4.0);
  EXPECT_EQ(sample_median(x), 2.5);
  EXPECT_EQ(sample_median(x.leftCols(1)), 3.0);
  x(0, 0) = kNaN;
  EXPECT_TRUE(std::isnan(sample_quantile(x, 0.5)));
}

TEST(SampleQuantile, ProbabilityOutsideUnitIntervalThrowsConfigError) {
  const Eigen::MatrixXd x = Eigen::MatrixXd::Ones(8, 2);
  try {
    sample_quantile(x, 1.5);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("quantile probability = 1.5"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(ess_quantile(x, -0.1), ConfigError);  // even though x is degenerate
  EXPECT_THROW(mcse_quantile(x, kNaN), ConfigError);
}

// Independent route: the O(n²) sum of the definition.
TEST(Autocovariance, FftMatchesDirectSum) {
  core::Engine engine = core::make_stream(11, core::StreamPurpose::test, 0, 0);
  for (const Eigen::Index n : {1, 2, 7, 97, 1000}) {
    const Eigen::MatrixXd x = core::standard_normal_matrix(engine, n, 3);
    const Eigen::MatrixXd acov = autocovariance(x);
    ASSERT_EQ(acov.rows(), n);
    ASSERT_EQ(acov.cols(), 3);
    for (Eigen::Index c = 0; c < 3; ++c) {
      const Eigen::VectorXd y = x.col(c).array() - x.col(c).mean();
      for (Eigen::Index t = 0; t < n; ++t) {
        const double direct = y.head(n - t).dot(y.tail(n - t)) / static_cast<double>(n);
        // Deterministic: FFT rounding ~1e-16·n·γ̂_0 against the direct sum; tolerance
        // 1e-12 (γ̂_0 ≈ 1).
        EXPECT_NEAR(acov(t, c), direct, 1e-12) << "n = " << n << ", lag " << t;
      }
    }
  }
}

TEST(Autocovariance, ConstantChainGivesZeros) {
  Eigen::MatrixXd x(6, 2);
  x.col(0).setConstant(2.5);
  x.col(1) << 1, 2, 3, 4, 5, 6;
  const Eigen::MatrixXd acov = autocovariance(x);
  EXPECT_TRUE(acov.col(0).isZero(0.0));
  EXPECT_NEAR(acov(0, 1), 17.5 / 6.0, 1e-14);  // Σ(x − 3.5)² / 6
}

// Every public diagnostic on one input.
std::vector<std::pair<std::string, double>> all_diagnostics(const Eigen::MatrixXd& x) {
  std::vector<std::pair<std::string, double>> values;
  for (const auto& [name, diagnostic] : diagnostics_by_name()) values.emplace_back(name, diagnostic(x));
  return values;
}

bool is_unsplit(const std::string& name) { return name.ends_with("_nosplit"); }

// NaN from every diagnostic; with `split_halves_only`, the unsplit ones (which see whole
// chains) must instead give a number.
void expect_all_nan(const Eigen::MatrixXd& x, const std::string& what,
                    bool split_halves_only = false) {
  for (const auto& [name, value] : all_diagnostics(x)) {
    if (split_halves_only && is_unsplit(name))
      EXPECT_TRUE(std::isfinite(value)) << what << ": " << name << " = " << value;
    else
      EXPECT_TRUE(std::isnan(value)) << what << ": " << name << " = " << value;
  }
}

void expect_all_finite(const Eigen::MatrixXd& x, const std::string& what) {
  for (const auto& [name, value] : all_diagnostics(x))
    EXPECT_TRUE(std::isfinite(value)) << what << ": " << name << " = " << value;
}

TEST(Diagnostics, DegenerateInputGivesNaNNeverAThrow) {
  core::Engine engine = core::make_stream(12, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd good = core::standard_normal_matrix(engine, 40, 4);
  expect_all_finite(good, "40 × 4 normal draws");

  expect_all_nan(Eigen::MatrixXd::Constant(40, 4, 1.5), "all draws equal");
  Eigen::MatrixXd stuck = good;
  stuck.col(2).setConstant(0.3);
  expect_all_nan(stuck, "one stuck chain");
  Eigen::MatrixXd stuck_half = good;
  stuck_half.col(1).tail(20).setConstant(-1.0);
  expect_all_nan(stuck_half, "one chain stuck in its second half", true);
  Eigen::MatrixXd with_nan = good;
  with_nan(17, 3) = kNaN;
  expect_all_nan(with_nan, "a NaN draw");
  Eigen::MatrixXd with_inf = good;
  with_inf(0, 0) = std::numeric_limits<double>::infinity();
  expect_all_nan(with_inf, "an infinite draw");
  expect_all_nan(Eigen::MatrixXd(0, 4), "no draws");
  expect_all_nan(Eigen::MatrixXd(40, 0), "no chains");
  // kMinDrawsPerChain = 4 per split half: 7 draws give halves of 3, 8 give halves of 4;
  // unsplit, 3 draws are too few and 4 enough.
  expect_all_nan(good.topRows(7), "7 draws per chain", true);
  expect_all_finite(good.topRows(8), "8 draws per chain");
  EXPECT_TRUE(std::isnan(rhat_basic(good.topRows(3), false)));
  EXPECT_TRUE(std::isnan(ess_basic(good.topRows(3), false)));
  EXPECT_TRUE(std::isfinite(rhat_basic(good.topRows(4), false)));
  EXPECT_TRUE(std::isfinite(ess_basic(good.topRows(4), false)));
}

TEST(Diagnostics, BlockInputGivesSameValuesAsMatrix) {
  // A Ref to a block (outer stride ≠ rows) gives the same numbers as the plain matrix.
  const Eigen::MatrixXd x = read_draws("ar1");
  Eigen::MatrixXd wide = Eigen::MatrixXd::Zero(x.rows() + 3, x.cols() + 2);
  wide.block(1, 1, x.rows(), x.cols()) = x;
  const auto block = wide.block(1, 1, x.rows(), x.cols());
  EXPECT_EQ(rhat(block), rhat(x));
  EXPECT_EQ(ess_bulk(block), ess_bulk(x));
  EXPECT_EQ(ess_tail(block), ess_tail(x));
  EXPECT_EQ(mcse_quantile(block, 0.05), mcse_quantile(x, 0.05));
}

TEST(Diagnostics, RankDiagnosticsAreInvariantUnderMonotoneTransforms) {
  // §4.1: rank normalisation makes the bulk and tail diagnostics depend on ranks only.
  // exp() is strictly increasing, so ranks, and hence bulk R̂ and bulk ESS, are unchanged
  // (tail R̂ folds around the median, which exp() does not preserve, so it is not).
  const Eigen::MatrixXd x = read_draws("ar1");
  const Eigen::MatrixXd y = x.array().exp().matrix();
  EXPECT_EQ(rhat_bulk(y), rhat_bulk(x));
  EXPECT_EQ(ess_bulk(y), ess_bulk(x));
  EXPECT_EQ(ess_tail(y), ess_tail(x));
  // The classical ones do change: the test can tell the two apart.
  EXPECT_NE(rhat_basic(y), rhat_basic(x));
}

TEST(Diagnostics, TailEssIsMinimumOfFiveAndNinetyFivePercentQuantiles) {
  const Eigen::MatrixXd x = read_draws("heavy_tailed");
  EXPECT_EQ(ess_tail(x), std::min(ess_quantile(x, 0.05), ess_quantile(x, 0.95)));
  EXPECT_EQ(rhat(x), std::max(rhat_bulk(x), rhat_tail(x)));
  EXPECT_EQ(ess_mean(x), ess_basic(x));
}

TEST(Diagnostics, QuantileOfOneUsesLastButHalfDraw) {
  // posterior: prob = 1 is replaced by (S − 1/2)/S, whose indicator is not constant.
  const Eigen::MatrixXd x = read_draws("ar1");
  const double S = static_cast<double>(x.size());
  EXPECT_EQ(ess_quantile(x, 1.0), ess_quantile(x, (S - 0.5) / S));
  EXPECT_TRUE(std::isfinite(ess_quantile(x, 1.0)));
}

}  // namespace
}  // namespace kernelmc::sampling
