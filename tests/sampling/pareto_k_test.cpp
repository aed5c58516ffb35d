// PSIS k̂ and the log-weight helpers against R loo 2.5.1 (tests/fixtures/pareto_k/make_golden.R).
#include "sampling/diagnostics/pareto_k.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sampling/log_weights.hpp"

namespace kernelmc::sampling {
namespace {

const std::string kFixtureDir = std::string(KERNELMC_FIXTURE_DIR) + "/pareto_k/";

Eigen::VectorXd read_vector(const std::string& name) {
  std::ifstream in(kFixtureDir + name + ".csv");
  EXPECT_TRUE(in) << "cannot open " << name;
  std::vector<double> values;
  for (std::string line; std::getline(in, line);) values.push_back(std::stod(line));
  return Eigen::Map<Eigen::VectorXd>(values.data(), static_cast<Eigen::Index>(values.size()));
}

// fixture → {pareto_k[, sigma]} from golden.csv.
std::map<std::string, std::vector<double>> read_golden() {
  std::ifstream in(kFixtureDir + "golden.csv");
  std::map<std::string, std::vector<double>> golden;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string name, value;
    std::getline(fields, name, ',');
    while (std::getline(fields, value, ',')) golden[name].push_back(std::stod(value));
  }
  return golden;
}

// R's mean() accumulates in long double and corrects in a second pass; here the sums are
// plain double, so k̂ differs by rounding (~1e-14 relative through the grid posterior).
// Tolerance 1e-10 relative.
constexpr double kGoldenTolerance = 1e-10;

TEST(ParetoK, MatchesRLooPsisOnEveryFixture) {
  const auto golden = read_golden();
  for (const char* name : {"lognormal_light", "lognormal_moderate", "lognormal_heavy", "pareto_04", "pareto_09",
                           "small", "shifted"}) {
    const double expected = golden.at(name).at(0);
    EXPECT_NEAR(pareto_k_hat(read_vector(name)), expected, kGoldenTolerance * std::abs(expected)) << name;
  }
}

TEST(ParetoK, GeneralizedParetoFitMatchesRLooGpdfit) {
  const auto golden = read_golden();
  for (const char* name : {"gpd_exponential", "gpd_half"}) {
    const GeneralizedParetoFit fit = generalized_pareto_fit(read_vector(name));
    EXPECT_NEAR(fit.k, golden.at(name).at(0), kGoldenTolerance * std::abs(golden.at(name).at(0))) << name;
    EXPECT_NEAR(fit.sigma, golden.at(name).at(1), kGoldenTolerance * std::abs(golden.at(name).at(1))) << name;
  }
}

TEST(ParetoK, HeavyFixtureIsFlaggedAndLightIsNot) {
  EXPECT_GT(pareto_k_hat(read_vector("lognormal_heavy")), kParetoKThreshold);
  EXPECT_LT(pareto_k_hat(read_vector("lognormal_light")), kParetoKThreshold);
}

TEST(ParetoK, TailLengthIsLoosRule) {
  EXPECT_EQ(pareto_tail_length(100), 20);     // 0.2 S < 3√S
  EXPECT_EQ(pareto_tail_length(4000), 190);   // ⌈3√4000⌉ = ⌈189.7⌉
  EXPECT_EQ(pareto_tail_length(4000, 0.5), 269);  // ⌈3√8000⌉ = ⌈268.3⌉
}

TEST(ParetoK, DegenerateWeightsGiveInfinityOrNaN) {
  constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
  EXPECT_TRUE(std::isinf(pareto_k_hat(Eigen::VectorXd::Zero(1000))));          // constant tail
  EXPECT_TRUE(std::isinf(pareto_k_hat(Eigen::VectorXd::LinSpaced(20, 0, 1))));  // tail of 4 < 5
  EXPECT_TRUE(std::isnan(pareto_k_hat(Eigen::VectorXd::Constant(100, kMinusInfinity))));
  Eigen::VectorXd with_nan = Eigen::VectorXd::LinSpaced(100, 0, 1);
  with_nan(3) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(pareto_k_hat(with_nan)));
}

TEST(LogWeights, LogSumExpSurvivesUnderflowAndOrdersEdgeCases) {
  const Eigen::Vector3d far_below(-2000.0, -2000.0 + std::log(2.0), -2000.0 + std::log(3.0));
  EXPECT_NEAR(log_sum_exp(far_below), -2000.0 + std::log(6.0), 1e-12);
  constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(log_sum_exp(Eigen::Vector2d(kMinusInfinity, kMinusInfinity)), kMinusInfinity);
  EXPECT_EQ(log_sum_exp(Eigen::Vector2d(kMinusInfinity, 1.0)), 1.0);
  EXPECT_TRUE(std::isnan(log_sum_exp(Eigen::Vector2d(std::numeric_limits<double>::infinity(), 1.0))));
}

TEST(LogWeights, NormalizedWeightsSumToOneAndRefuseVanishingWeights) {
  const Eigen::Vector3d lw(-1500.0, -1501.0, -1502.0);
  const Eigen::VectorXd w = normalized_weights(lw, "test");
  EXPECT_NEAR(w.sum(), 1.0, 1e-15);
  EXPECT_NEAR(w(0) / w(1), std::exp(1.0), 1e-12);
  constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
  try {
    normalized_weights(Eigen::Vector2d(kMinusInfinity, kMinusInfinity), "importance posterior");
    FAIL() << "no NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("importance posterior"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("underflowed"), std::string::npos) << e.what();
  }
}

TEST(LogWeights, KishEssIsNForEqualWeightsAndOneForASingleWeight) {
  EXPECT_NEAR(kish_effective_sample_size(Eigen::VectorXd::Constant(50, -700.0)), 50.0, 1e-12);
  Eigen::VectorXd one = Eigen::VectorXd::Constant(50, -std::numeric_limits<double>::infinity());
  one(7) = 3.0;
  EXPECT_DOUBLE_EQ(kish_effective_sample_size(one), 1.0);
  // Two weights 1 and 3: (4)²/(1 + 9) = 1.6.
  EXPECT_NEAR(kish_effective_sample_size(Eigen::Vector2d(0.0, std::log(3.0))), 1.6, 1e-14);
}

}  // namespace
}  // namespace kernelmc::sampling
