#include "theory/prior_moments.hpp"

#include <gtest/gtest.h>

#include "core/dataset_generators.hpp"
#include "core/rng.hpp"
#include "theory/four_point.hpp"
#include "theory/kernel_fixtures.hpp"

// libgomp comes with kernelmc::theory; declared here so that the test can vary the
// thread count without compiling itself with -fopenmp.
extern "C" void omp_set_num_threads(int);
extern "C" int omp_get_max_threads();

namespace kernelmc::theory {
namespace {

using core::Activation;

using fixtures::config_a_spec;

TEST(PriorMoments, QuadratureResultsHaveShapesAndZeroStandardErrors) {
  const PriorMoments m = prior_moments(config_a_spec(), core::config_a_dataset().inputs, core::TheorySettings{}, 1);
  EXPECT_EQ(m.method_used, core::FourPointMethod::quadrature);
  ASSERT_EQ(m.nngp.top_layer(), 4);
  ASSERT_EQ(m.mean_shift.top_layer(), 4);
  ASSERT_EQ(m.mean_shift_standard_error.top_layer(), 4);
  ASSERT_EQ(m.covariance.size(), 4u);
  ASSERT_EQ(m.covariance_standard_error.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(m.covariance[i].rows(), 6);
    EXPECT_EQ(m.covariance_standard_error[i], Eigen::MatrixXd::Zero(6, 6));
    EXPECT_EQ(m.mean_shift_standard_error.kernels[i], Eigen::MatrixXd::Zero(3, 3));
  }
}

TEST(PriorMoments, MonteCarloResultsCarryStandardErrors) {
  core::TheorySettings settings;
  settings.four_point = core::FourPointMethod::monte_carlo;
  settings.four_point_samples = 20000;
  const PriorMoments m = prior_moments(config_a_spec(), core::config_a_dataset().inputs, settings, 1);
  EXPECT_EQ(m.method_used, core::FourPointMethod::monte_carlo);
  EXPECT_EQ(m.covariance_standard_error[0], Eigen::MatrixXd::Zero(6, 6));  // Σ^(1) = 0 exactly
  for (Eigen::Index l = 2; l <= 4; ++l) {
    EXPECT_GT(m.covariance_standard_error[static_cast<std::size_t>(l - 1)].minCoeff(), 0.0) << l;
    EXPECT_TRUE(m.covariance_standard_error[static_cast<std::size_t>(l - 1)].allFinite());
  }
  // μ^(2) = 0 exactly (no fluctuation feeds it); μ^(3), μ^(4) are estimated.
  EXPECT_EQ(m.mean_shift_standard_error.layer(2), Eigen::MatrixXd::Zero(3, 3));
  EXPECT_GT(m.mean_shift_standard_error.layer(4)(0, 0), 0.0);
}

TEST(PriorMoments, MonteCarloIsBitIdenticalForAnyThreadCount) {
  core::TheorySettings settings;
  settings.four_point = core::FourPointMethod::monte_carlo;
  settings.four_point_samples = 20000;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const PriorMoments one = prior_moments(config_a_spec(), core::config_a_dataset().inputs, settings, 7);
  omp_set_num_threads(3);
  const PriorMoments three = prior_moments(config_a_spec(), core::config_a_dataset().inputs, settings, 7);
  omp_set_num_threads(threads);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(one.covariance[i], three.covariance[i]);
    EXPECT_EQ(one.covariance_standard_error[i], three.covariance_standard_error[i]);
    EXPECT_EQ(one.mean_shift.kernels[i], three.mean_shift.kernels[i]);
  }
  // A different seed gives different draws.
  const PriorMoments other = prior_moments(config_a_spec(), core::config_a_dataset().inputs, settings, 8);
  EXPECT_NE(one.covariance[3], other.covariance[3]);
}

TEST(PriorMoments, XorWithEightPointsUsesExactQuadrature) {
  // The main job: XOR, P = 8, d = 4, L = 3, erf at the edge of chaos. automatic picks the
  // exact erf route (milliseconds; see the report for timings).
  core::Engine engine = core::make_stream(20240521, core::StreamPurpose::dataset, 0, 0);
  const core::Dataset data = core::xor_dataset(8, 4, 0.1, engine);
  const core::ModelSpec spec = core::uniform_model(4, 3, 1, Activation::erf, 0.78539816339744831, 0.0, 1.0);
  const PriorMoments m = prior_moments(spec, data.inputs, core::TheorySettings{}, 1);
  EXPECT_EQ(m.method_used, core::FourPointMethod::quadrature);
  EXPECT_EQ(m.covariance[3].rows(), 36);
  EXPECT_TRUE(m.covariance[3].allFinite());
  EXPECT_TRUE(m.mean_shift.layer(4).allFinite());
}

}  // namespace
}  // namespace kernelmc::theory
