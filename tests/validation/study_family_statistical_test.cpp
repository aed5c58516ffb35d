// Statistical test of the prior fluctuation a study family reports (validation/study_family):
// for a linear network with one hidden layer, C^(2) = (g/N) Σ_i h_i h_iᵀ with h_i ~ N(0, K₀)
// i.i.d. (THEORY.md §3.2), so ⟨T, C^(2)⟩ = (g/N) Σ_i (ŷᵀh_i)² is a scaled χ²_N and
// N·Var⟨T, C^(2)⟩ = 2g²(ŷᵀK₀ŷ)² exactly.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config.hpp"
#include "core/dataset_generators.hpp"
#include "validation/study_family.hpp"

namespace kernelmc::validation {
namespace {

TEST(StudyFamilyStatistical, PriorFluctuationOfALinearLayerIsTwiceTheSquaredTargetVariance) {
  const core::Config c = core::parse_config(R"(
[model]
depth = 1
activation = "linear"
g = 1.5
kappa = 0.5
[data]
kind = "teacher"
points = 6
input_dim = 5
[sampler]
kind = "hmc"
[posterior]
route = "chains"
chains = 2
warmup = 20
draws = 20
batches = 2
[validation]
study = "proportional"
alphas = [1.0]
widths = [4, 6]
prior_networks = 40000
figures = false
)",
                                            {});
  const core::Dataset pool = core::make_dataset(c.data, c.run.seed);
  SilentObserver silent;
  const FamilyResult r = run_family(c, pool, silent);
  ASSERT_EQ(r.points.size(), 2u);
  for (const FamilyPoint& p : r.points) {
    const core::Dataset& data = pool;
    const Eigen::MatrixXd K0 = core::input_kernel(data.inputs.topRows(p.points), 1.5, 0.0);
    const Eigen::VectorXd y = data.targets.topRows(p.points).col(0).normalized();
    const double target_variance = y.dot(K0 * y);
    const double exact = 2.0 * 1.5 * 1.5 * target_variance * target_variance;
    // The variance of a scaled χ²_N estimated from M draws has relative SE
    // √((2 + κ)/M) with excess kurtosis κ = 12/N of χ²_N/N; tolerance 5 SE.
    const double N = static_cast<double>(p.width);
    const double se = exact * std::sqrt((2.0 + 12.0 / N) / 40000.0);
    EXPECT_NEAR(p.layers.front().prior_fluctuation, exact, 5.0 * se) << "N = " << p.width;
    // Must-fail twin: N·Var without the factor 2 (a Gaussian kernel entry's variance
    // mistaken for its square's) lies about 40 SE away (relative SE ≤ 1.2 %).
    EXPECT_GT(std::abs(p.layers.front().prior_fluctuation - exact / 2.0), 20.0 * se);
  }
}

}  // namespace
}  // namespace kernelmc::validation
