// Tests of sampling/metric: K(p) = ½ pᵀM⁻¹p, velocity M⁻¹p, momenta drawn from N(0, M).
#include "sampling/metric.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/statistical.hpp"

namespace kernelmc::sampling {
namespace {

TEST(Metric, UnitMetricHasIdentityInverseMass) {
  const Metric metric(4);
  EXPECT_EQ(metric.dimension(), 4);
  EXPECT_TRUE(metric.inverse_mass().isApprox(Eigen::VectorXd::Ones(4)));
}

TEST(Metric, KineticEnergyAndVelocityUseInverseMass) {
  const Metric metric((Eigen::VectorXd(3) << 0.5, 2.0, 4.0).finished());
  const Eigen::VectorXd p = (Eigen::VectorXd(3) << 1.0, -2.0, 0.5).finished();
  // ½ (0.5·1 + 2·4 + 4·0.25) = 4.75, exactly representable.
  EXPECT_DOUBLE_EQ(metric.kinetic_energy(p), 4.75);
  Eigen::VectorXd velocity(3);
  metric.velocity(p, velocity);
  EXPECT_TRUE(velocity.isApprox((Eigen::VectorXd(3) << 0.5, -4.0, 2.0).finished()));
}

TEST(Metric, SampledMomentaHaveCovarianceMassMatrix) {
  const Eigen::VectorXd inverse_mass = (Eigen::VectorXd(3) << 0.01, 1.0, 25.0).finished();
  Metric metric(Eigen::VectorXd::Ones(3));
  metric.set_inverse_mass(inverse_mass);
  core::Engine engine = core::make_stream(3, core::StreamPurpose::test, 0, 0);
  const int n = 20000;
  Eigen::MatrixXd draws(3, n);
  for (int i = 0; i < n; ++i) metric.sample_momentum(engine, draws.col(i));
  // Statistical: 6 comparisons (3 means, 3 variances), Bonferroni z at α = 1e-6; SEs of
  // the mean √(M_ii/n) and of a Gaussian variance M_ii √(2/(n−1)) are exact for i.i.d. draws.
  const double z = kernelmc::testing::bonferroni_z(1e-6, 6);
  for (Eigen::Index i = 0; i < 3; ++i) {
    const double mass = 1.0 / inverse_mass(i);
    const double mean = draws.row(i).mean();
    const double var = (draws.row(i).array() - mean).square().sum() / (n - 1);
    EXPECT_TRUE(kernelmc::testing::WithinStandardErrors(mean, 0.0, std::sqrt(mass / n), z));
    EXPECT_TRUE(kernelmc::testing::WithinStandardErrors(var, mass, mass * std::sqrt(2.0 / (n - 1)), z));
  }
}

}  // namespace
}  // namespace kernelmc::sampling
