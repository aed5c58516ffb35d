// Deterministic tests of sampling/diagnostics/hmc_health: E-BFMI against a hand value and
// against its autocovariance identity, the NaN rule, divergence counting and its errors.
// The E-BFMI of AR(1) energies is in diagnostics_statistical_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampling/diagnostics/autocovariance.hpp"
#include "sampling/diagnostics/hmc_health.hpp"

namespace kernelmc::sampling {
namespace {

TEST(EBfmi, MatchesHandComputedValue) {
  Eigen::VectorXd energies(4);
  energies << 1.0, 2.0, 4.0, 3.0;
  // Steps 1, 2, −1: Σ = 6. Mean 2.5, squared deviations 2.25 + 0.25 + 2.25 + 0.25 = 5.
  EXPECT_DOUBLE_EQ(e_bfmi(energies), 6.0 / 5.0);
}

// Independent route: with d = E − Ē, Σ(E_i − E_{i−1})² = 2Σd² − d_1² − d_n² − 2Σd_i d_{i−1},
// so E-BFMI = 2 − 2γ̂_1/γ̂_0 − (d_1² + d_n²)/(n γ̂_0) with the FFT autocovariances.
TEST(EBfmi, MatchesAutocovarianceIdentity) {
  core::Engine engine = core::make_stream(21, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd energies = core::standard_normal_matrix(engine, 500, 3);
  const Eigen::MatrixXd acov = autocovariance(energies);
  const Eigen::VectorXd per_chain = e_bfmi_per_chain(energies);
  ASSERT_EQ(per_chain.size(), 3);
  for (Eigen::Index c = 0; c < 3; ++c) {
    const Eigen::VectorXd d = energies.col(c).array() - energies.col(c).mean();
    const double n = 500.0;
    const double expected = 2.0 - 2.0 * acov(1, c) / acov(0, c) -
                            (d(0) * d(0) + d(499) * d(499)) / (n * acov(0, c));
    // Deterministic: FFT vs direct sums, ~1e-15 relative; tolerance 1e-12.
    EXPECT_NEAR(per_chain(c), expected, 1e-12) << "chain " << c;
    EXPECT_EQ(per_chain(c), e_bfmi(energies.col(c)));
  }
}

TEST(EBfmi, DegenerateEnergiesGiveNaN) {
  EXPECT_TRUE(std::isnan(e_bfmi(Eigen::VectorXd::Constant(10, 3.0))));
  EXPECT_TRUE(std::isnan(e_bfmi(Eigen::VectorXd::LinSpaced(3, 0.0, 1.0))));  // < 4 draws
  EXPECT_TRUE(std::isfinite(e_bfmi(Eigen::VectorXd::LinSpaced(4, 0.0, 1.0))));
  Eigen::VectorXd energies = Eigen::VectorXd::LinSpaced(10, 0.0, 1.0);
  energies(4) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(e_bfmi(energies)));
  energies(4) = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(std::isnan(e_bfmi(energies)));
}

TEST(CountDivergences, CountsOnesPerChain) {
  Eigen::MatrixXd divergent(4, 3);
  divergent << 0, 1, 0,  //
      1, 1, 0,           //
      0, 1, 0,           //
      1, 0, 0;
  EXPECT_EQ(count_divergences(divergent), (std::vector<Eigen::Index>{2, 3, 0}));
}

TEST(CountDivergences, NonIndicatorValueThrowsDataErrorNamingDrawAndChain) {
  Eigen::MatrixXd divergent = Eigen::MatrixXd::Zero(4, 2);
  divergent(2, 1) = 0.5;
  try {
    count_divergences(divergent);
    FAIL() << "no DataError";
  } catch (const DataError& error) {
    EXPECT_NE(std::string(error.what()).find("draw 2, chain 1 = 0.5"), std::string::npos)
        << error.what();
  }
}

TEST(HmcHealth, ReportsPerChainEBfmiAndDivergences) {
  Eigen::MatrixXd energies(6, 2);
  energies.col(0) << 1, 2, 1, 2, 1, 2;  // steps of 1 against deviations of 1/2: 5 / 1.5
  energies.col(1) << 1, 2, 4, 3, 1, 2;
  Eigen::MatrixXd divergent = Eigen::MatrixXd::Zero(6, 2);
  divergent(3, 0) = 1.0;
  divergent(5, 1) = 1.0;
  const HmcHealth health = hmc_health(energies, divergent);
  EXPECT_EQ(health.draws_per_chain, 6);
  EXPECT_EQ(health.divergences, (std::vector<Eigen::Index>{1, 1}));
  EXPECT_EQ(health.total_divergences(), 2);
  EXPECT_DOUBLE_EQ(health.e_bfmi(0), 5.0 / 1.5);
  EXPECT_EQ(health.e_bfmi(1), e_bfmi(energies.col(1)));
  EXPECT_FALSE(health.has_low_e_bfmi());

  // A steady drift of n draws: (n − 1)h² / (h² n(n² − 1)/12) = 12/(n(n + 1)) = 12/42 < 0.3.
  energies.col(1) = Eigen::VectorXd::LinSpaced(6, 1.0, 1.5);
  const HmcHealth drifting = hmc_health(energies, divergent);
  EXPECT_NEAR(drifting.e_bfmi(1), 12.0 / 42.0, 1e-12);
  EXPECT_TRUE(drifting.has_low_e_bfmi());
  energies.col(1).setConstant(2.0);  // NaN is never healthy
  EXPECT_TRUE(hmc_health(energies, divergent).has_low_e_bfmi());
}

TEST(HmcHealth, ShapeMismatchThrowsDataError) {
  EXPECT_THROW(hmc_health(Eigen::MatrixXd::Zero(5, 2), Eigen::MatrixXd::Zero(5, 3)), DataError);
}

}  // namespace
}  // namespace kernelmc::sampling
