// Tests of sampling/metric_adaptation: Stan's window schedule, the shrinkage formula,
// and the recovery of diagonal variances from independent draws.
#include "sampling/metric_adaptation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "support/statistical.hpp"

namespace kernelmc::sampling {
namespace {

struct Schedule {
  std::vector<Eigen::Index> window_ends;  // indices of the transitions that close a window
  Eigen::Index collected = 0;             // draws inside windows
};

Schedule run_schedule(AdaptationWindows windows, Eigen::Index n_warmup) {
  Schedule s;
  for (Eigen::Index i = 0; i < n_warmup; ++i) {
    if (windows.in_window()) ++s.collected;
    if (windows.window_ends()) s.window_ends.push_back(i);
    windows.advance();
  }
  return s;
}

TEST(AdaptationWindows, EndWhereStanEndsThemForDefaultBuffers) {
  // Stan, 1000 warmup, buffers 75/50/25: windows of 25, 50, 100, 200, 500 (the last one
  // stretched to the terminal buffer), ending after transitions 100, 150, 250, 450, 950.
  const Schedule s = run_schedule(AdaptationWindows(1000, 75, 50, 25), 1000);
  EXPECT_EQ(s.window_ends, (std::vector<Eigen::Index>{99, 149, 249, 449, 949}));
  EXPECT_EQ(s.collected, 1000 - 75 - 50);
}

TEST(AdaptationWindows, ShortWarmupFallsBackToFifteenSeventyFiveTenSplit) {
  // 100 < 75 + 25 + 50: init 15, term 10, one window of 75.
  const AdaptationWindows windows(100, 75, 50, 25);
  EXPECT_EQ(windows.init_buffer(), 15);
  EXPECT_EQ(windows.term_buffer(), 10);
  EXPECT_EQ(windows.base_window(), 75);
  const Schedule s = run_schedule(windows, 100);
  EXPECT_EQ(s.window_ends, (std::vector<Eigen::Index>{89}));
  EXPECT_EQ(s.collected, 75);
}

TEST(AdaptationWindows, FewerThanTwentyWarmupTransitionsGiveNoWindow) {
  const Schedule s = run_schedule(AdaptationWindows(19, 1, 1, 2), 19);
  EXPECT_TRUE(s.window_ends.empty());
  EXPECT_EQ(s.collected, 0);
  EXPECT_TRUE(run_schedule(AdaptationWindows(), 50).window_ends.empty());
}

TEST(MetricAdaptation, WindowEstimateIsShrunkWelfordVariance) {
  // Windows of 25 draws (indices 10..34 of 60, buffers 10/25). The update equals Stan's
  // (n/(n+5))·s² + 1e-3·5/(n+5) with s² the two-pass unbiased variance of the window.
  MetricAdaptation adaptation(2, AdaptationWindows(60, 10, 25, 25));
  core::Engine engine = core::make_stream(4, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd draws = core::standard_normal_matrix(engine, 2, 60) * 3.0;
  Eigen::VectorXd inverse_mass = Eigen::VectorXd::Ones(2);
  std::vector<Eigen::Index> updates;
  for (Eigen::Index i = 0; i < 60; ++i)
    if (adaptation.learn_variance(inverse_mass, draws.col(i))) updates.push_back(i);
  ASSERT_EQ(updates, (std::vector<Eigen::Index>{34}));
  const Eigen::MatrixXd window = draws.middleCols(10, 25);
  const Eigen::VectorXd centred_ss = (window.colwise() - window.rowwise().mean()).rowwise().squaredNorm();
  const Eigen::VectorXd expected = (25.0 / 30.0) * (centred_ss / 24.0).array() + 1e-3 * (5.0 / 30.0);
  // Deterministic: Welford vs two-pass on 25 draws; tolerance 1e-13 relative.
  for (Eigen::Index i = 0; i < 2; ++i) EXPECT_NEAR(inverse_mass(i), expected(i), 1e-13 * expected(i));
}

TEST(MetricAdaptation, RecoversDiagonalVariancesFromIndependentDraws) {
  // 1000 warmup draws with Stan's default windows; the last window holds n = 500 i.i.d.
  // draws from N(0, diag σ²), σ² over 8 decades. Expected value (n/(n+5))σ² + 1e-3·5/(n+5);
  // SE of a Gaussian sample variance σ²√(2/(n−1)). Statistical: 5 entries, Bonferroni z
  // at α = 1e-6.
  const Eigen::VectorXd sd = (Eigen::VectorXd(5) << 0.01, 0.1, 1.0, 10.0, 100.0).finished();
  MetricAdaptation adaptation(5, AdaptationWindows(1000, 75, 50, 25));
  core::Engine engine = core::make_stream(5, core::StreamPurpose::test, 0, 0);
  Eigen::VectorXd inverse_mass = Eigen::VectorXd::Ones(5);
  Eigen::VectorXd xi(5);
  for (int i = 0; i < 1000; ++i) {
    core::fill_standard_normal(engine, xi);
    adaptation.learn_variance(inverse_mass, sd.cwiseProduct(xi));
  }
  const double n = 500.0;
  const double z = kernelmc::testing::bonferroni_z(1e-6, 5);
  for (Eigen::Index i = 0; i < 5; ++i) {
    const double var = sd(i) * sd(i);
    EXPECT_TRUE(kernelmc::testing::WithinStandardErrors(inverse_mass(i), (n / (n + 5)) * var + 1e-3 * 5 / (n + 5),
                                                        (n / (n + 5)) * var * std::sqrt(2.0 / (n - 1)), z));
  }
}

TEST(MetricAdaptation, NonFiniteDrawThrowsNumericalError) {
  MetricAdaptation adaptation(1, AdaptationWindows(20, 2, 2, 16));
  Eigen::VectorXd inverse_mass = Eigen::VectorXd::Ones(1);
  Eigen::VectorXd q(1);
  EXPECT_THROW(
      for (int i = 0; i < 20; ++i) {
        q(0) = i == 5 ? std::numeric_limits<double>::infinity() : i;
        adaptation.learn_variance(inverse_mass, q);
      },
      NumericalError);
}

}  // namespace
}  // namespace kernelmc::sampling
