// Deterministic properties of the tempered SMC run (sampling/smc.hpp): its settings are
// checked by name, the β schedule is increasing and ends at 1, a flat likelihood takes one
// step with log Z = the likelihood's constant, and runs are bit-identical for 1 and 2 threads.
#include "sampling/smc.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

// U = ½‖θ‖² + ½‖y − Aθ‖²/κ: N(0, I) prior, Gaussian likelihood, written as a Gaussian in θ.
testing::GaussianPotential linear_gaussian(const Eigen::MatrixXd& A, const Eigen::VectorXd& y, double kappa) {
  const Eigen::MatrixXd precision =
      Eigen::MatrixXd::Identity(A.cols(), A.cols()) + A.transpose() * A / kappa;
  const Eigen::MatrixXd covariance = precision.inverse();
  return testing::GaussianPotential(covariance * A.transpose() * y / kappa, covariance);
}

SmcSettings small_settings() {
  SmcSettings s;
  s.particles = 64;
  s.rejuvenation_steps = 2;
  s.seed = 11;
  return s;
}

TEST(Smc, ScheduleIncreasesToOneAndKeepsTheEssTarget) {
  const Eigen::MatrixXd A = (Eigen::MatrixXd(3, 2) << 3, 0, 1, 2, 0, 4).finished();
  const testing::GaussianPotential target = linear_gaussian(A, Eigen::Vector3d(1, -2, 3), 0.1);
  const SmcResult run = run_tempered_smc(target, 0.0, small_settings(), 0);
  ASSERT_GE(run.steps.size(), 2u);
  double previous = 0.0;
  for (const SmcStepInfo& step : run.steps) {
    EXPECT_GT(step.beta, previous);
    previous = step.beta;
    // The bisection stops within 2^-30 relative of ESS = target, on the side ESS ≥ target.
    EXPECT_GE(step.ess_fraction, small_settings().ess_fraction - 1e-6);
  }
  EXPECT_EQ(run.steps.back().beta, 1.0);
  EXPECT_EQ(run.particles.cols(), 64);
  EXPECT_EQ(run.initial_particles.rows(), 2);
}

TEST(Smc, FlatLikelihoodTakesOneStepAndGivesItsConstant) {
  // U = ½‖θ‖²: log L = offset everywhere, so Z = e^offset exactly and β jumps to 1.
  const testing::GaussianPotential prior(Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3));
  const SmcResult run = run_tempered_smc(prior, -1.25, small_settings(), 0);
  ASSERT_EQ(run.steps.size(), 1u);
  EXPECT_NEAR(run.log_evidence, -1.25, 1e-14);
}

TEST(Smc, BitIdenticalForOneAndTwoThreads) {
  const Eigen::MatrixXd A = (Eigen::MatrixXd(2, 3) << 2, 1, 0, 0, 1, 3).finished();
  const testing::GaussianPotential target = linear_gaussian(A, Eigen::Vector2d(1, -1), 0.3);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const SmcResult one = run_tempered_smc(target, 0.0, small_settings(), 3);
  omp_set_num_threads(2);
  const SmcResult two = run_tempered_smc(target, 0.0, small_settings(), 3);
  omp_set_num_threads(threads);
  EXPECT_TRUE(one.particles == two.particles);
  EXPECT_EQ(one.log_evidence, two.log_evidence);
  ASSERT_EQ(one.steps.size(), two.steps.size());
  for (std::size_t i = 0; i < one.steps.size(); ++i) EXPECT_EQ(one.steps[i].beta, two.steps[i].beta);
}

TEST(Smc, SettingsOutOfRangeNameTheirField) {
  const testing::GaussianPotential prior(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2));
  const auto expect_field = [&](SmcSettings s, const std::string& field) {
    try {
      run_tempered_smc(prior, 0.0, s, 0);
      ADD_FAILURE() << "no ConfigError for " << field;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("smc." + field), std::string::npos) << e.what();
    }
  };
  SmcSettings s = small_settings();
  s.particles = 1;
  expect_field(s, "particles");
  s = small_settings();
  s.ess_fraction = 1.0;
  expect_field(s, "ess_fraction");
  s = small_settings();
  s.move = core::SamplerKind::overdamped_langevin;
  expect_field(s, "move");
  s = small_settings();
  s.rejuvenation_steps = 0;
  expect_field(s, "rejuvenation_steps");
}

TEST(Smc, VanishingLikelihoodIsANumericalErrorNotASilentMean) {
  // U = +inf beyond q_0 > wall: with the wall at −5 almost no prior particle has a likelihood.
  const testing::WalledPotential walled(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2), -5.0);
  EXPECT_THROW(run_tempered_smc(walled, 0.0, small_settings(), 0), NumericalError);
}

}  // namespace
}  // namespace kernelmc::sampling
