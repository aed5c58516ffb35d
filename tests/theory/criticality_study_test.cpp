#include "theory/criticality_study.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "theory/criticality.hpp"
#include "theory/deep_linear_oracles.hpp"
#include "theory/jacobian_operators.hpp"
#include "theory/prior_moments.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

core::Dataset xor_data(Eigen::Index points, Eigen::Index input_dim) {
  core::Engine engine = core::make_stream(11, core::StreamPurpose::test, 0, 0);
  return core::xor_dataset(points, input_dim, 0.1, engine);
}

// One input with C^(1) = g x²/d = 1 (THEORY.md §6.3 starts from q^(1) = 1).
core::Dataset unit_single_input(double g) {
  return core::Dataset{Eigen::MatrixXd::Constant(1, 1, std::sqrt(1.0 / g)), Eigen::MatrixXd::Ones(1, 1), "single"};
}

double max_abs(const Eigen::MatrixXd& M) { return M.cwiseAbs().maxCoeff(); }

TEST(CriticalityStudy, LogSpacedRatiosIncludeBothEnds) {
  const std::vector<double> r = log_spaced_ratios(0.5, 2.0, 3);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], 0.5);
  EXPECT_NEAR(r[1], 1.0, 1e-15);  // geometric mean of 0.5 and 2
  EXPECT_EQ(r[2], 2.0);
  EXPECT_EQ(log_spaced_ratios(0.7, 0.7, 1), std::vector<double>{0.7});
}

TEST(CriticalityStudy, ChiPerpendicularIsOneAtEdgeOfChaos) {
  // g = 1·g_c(σ_b²) from the TOMS 748 root of χ_⊥ − 1 (to ≈ 1e-15 in g; χ_⊥ has slope
  // ≈ 1/g_c there): 1e-12, as in criticality_test.
  const core::Dataset data = xor_data(4, 3);
  const core::ModelSpec spec = core::uniform_model(3, 2, 64, Activation::erf, 1.0, 0.0, 1.0);
  const CriticalityStudy study =
      criticality_study(spec, data, {0.0, 0.1}, {0.5, 1.0, 2.0}, core::TheorySettings{}, 1);
  ASSERT_EQ(study.rows.size(), 2u);
  for (std::size_t b = 0; b < 2; ++b) {
    const CriticalityRow& critical = study.rows[b][1];
    EXPECT_NEAR(critical.chi_perpendicular, 1.0, 1e-12) << "sigma_b^2 = " << critical.bias_variance;
    EXPECT_DOUBLE_EQ(critical.g, study.edge_of_chaos[b]);
    EXPECT_LT(study.rows[b][0].chi_perpendicular, 1.0);  // ordered
    EXPECT_GT(study.rows[b][2].chi_perpendicular, 1.0);  // chaotic
    EXPECT_TRUE(std::isnan(study.rows[b][2].xi_perpendicular));
    EXPECT_NEAR(study.rows[b][0].xi_perpendicular, -1.0 / std::log(study.rows[b][0].chi_perpendicular), 0.0);
  }
  EXPECT_NEAR(study.edge_of_chaos[1], 1.55212, 5e-6);  // THEORY.md §6.2 table
}

TEST(CriticalityStudy, SusceptibilitiesMatchJacobianOperatorOnIdenticalInputs) {
  // Independent route (THEORY.md §6.1): J^(l) at C = q*·𝟏𝟏ᵀ (two identical inputs). On the
  // diagonal direction, J[E_00]_00 = g⟨φ'² + φφ''⟩ = χ_∥; on the perpendicular one,
  // J[E_01 + E_10]_01 = g⟨φ'_0φ'_1⟩ = g⟨φ'²⟩ = χ_⊥. erf closed forms on both routes:
  // rounding only, 1e-12.
  const core::Dataset data = xor_data(4, 3);
  for (double bias : {0.0, 0.1}) {
    for (double ratio : {0.6, 1.7}) {
      const core::ModelSpec spec = core::uniform_model(3, 2, 1, Activation::erf, 1.0, bias, 1.0);
      const double g = ratio * edge_of_chaos_g(Activation::erf, bias);
      const CriticalityRow row = criticality_row(spec, data, g, ratio, bias, core::TheorySettings{}, 1);
      core::ModelSpec at_g = spec;
      at_g.weight_variances.assign(3, g);
      const JacobianOperator J =
          jacobian_operator(at_g, 2, Eigen::MatrixXd::Constant(2, 2, row.q_star), 1e-12);
      Eigen::MatrixXd diagonal = Eigen::MatrixXd::Zero(2, 2);
      diagonal(0, 0) = 1.0;
      Eigen::MatrixXd perpendicular = Eigen::MatrixXd::Zero(2, 2);
      perpendicular(0, 1) = perpendicular(1, 0) = 1.0;
      EXPECT_NEAR(apply_jacobian(J, diagonal)(0, 0), row.chi_parallel, 1e-12) << bias << " " << ratio;
      EXPECT_NEAR(apply_jacobian(J, perpendicular)(0, 1), row.chi_perpendicular, 1e-12) << bias << " " << ratio;
    }
  }
}

TEST(CriticalityStudy, FluctuationColumnsAreDiagonalOfPriorMomentsSigmaAtAnyWidth) {
  // The columns are N·Σ^(l)_{aa,aa} averaged over a. prior_moments at width N = 50 times N
  // must give the same numbers (Σ ∝ 1/N at leading order, exactly in the recursion):
  // rounding, 1e-12 relative.
  const core::Dataset data = xor_data(6, 3);
  const double g = 1.3, bias = 0.1;
  const core::ModelSpec spec = core::uniform_model(3, 3, 50, Activation::erf, g, bias, 0.5);
  const CriticalityRow row = criticality_row(spec, data, g, 1.0, bias, core::TheorySettings{}, 1);
  const PriorMoments prior = prior_moments(spec, data.inputs, core::TheorySettings{}, 1);
  ASSERT_EQ(row.layers.size(), 3u);
  for (const CriticalityLayer& layer : row.layers) {
    const Eigen::Index l = layer.layer;
    double variance = 0.0, normalized = 0.0, diagonal = 0.0;
    for (Eigen::Index a = 0; a < 6; ++a) {
      const Eigen::Index k = core::triangle_index(a, a, 6);
      const double s = 50.0 * prior.covariance[static_cast<std::size_t>(l - 1)](k, k);
      const double c = prior.nngp.layer(l)(a, a);
      variance += s / 6.0;
      normalized += s / (c * c) / 6.0;
      diagonal += c / 6.0;
    }
    EXPECT_NEAR(layer.scaled_diagonal_variance, variance, 1e-12 * variance) << "layer " << l;
    EXPECT_NEAR(layer.scaled_normalized_variance, normalized, 1e-12 * normalized) << "layer " << l;
    EXPECT_NEAR(layer.kernel_diagonal, diagonal, 1e-14) << "layer " << l;
    EXPECT_EQ(layer.scaled_diagonal_variance_se, 0.0);  // quadrature
  }
  EXPECT_EQ(row.method_used, core::FourPointMethod::quadrature);
}

TEST(CriticalityStudy, LinearFluctuationsGrowLinearlyAndAdaptationMatchesClosedForm) {
  // THEORY.md §6.3 / §3.2: for φ linear, σ_b = 0, any g, v_l = (1 + 2/N)^{l−1} − 1, so at
  // leading order N·v_l = 2(l − 1) for every input. §4.6: δC^(l) has the closed form of
  // theory/deep_linear_oracles. Isserlis 4-point functions: rounding, 1e-12 relative.
  const core::Dataset data = xor_data(5, 3);
  const core::ModelSpec spec = core::uniform_model(3, 4, 1, Activation::linear, 1.0, 0.0, 0.5);
  for (double ratio : {0.7, 1.0, 1.4}) {
    const CriticalityRow row = criticality_row(spec, data, ratio, ratio, 0.0, core::TheorySettings{}, 1);
    core::ModelSpec at_g = spec;
    at_g.weight_variances.assign(5, ratio);
    const core::KernelStack exact = deep_linear_first_order_adaptation(
        at_g, core::input_kernel(data.inputs, ratio, 0.0), data.targets.col(0));
    const Eigen::VectorXd y_hat = data.targets.col(0).normalized();
    for (const CriticalityLayer& layer : row.layers) {
      const double expected = 2.0 * static_cast<double>(layer.layer - 1);
      EXPECT_NEAR(layer.scaled_normalized_variance, expected, 1e-12 * expected) << "g = " << ratio;
      const Eigen::MatrixXd& dC = exact.layer(layer.layer);
      const double along = y_hat.dot(dC * y_hat);
      EXPECT_NEAR(layer.scaled_target_adaptation, along, 1e-12 * max_abs(dC)) << "g = " << ratio;
      // C_GP^(l) = g^{l−1} K₀ for linear φ without bias.
      const double kernel_norm =
          std::pow(ratio, static_cast<double>(layer.layer - 1)) * core::input_kernel(data.inputs, ratio, 0.0).norm();
      EXPECT_NEAR(layer.scaled_relative_adaptation, dC.norm() / kernel_norm, 1e-12 * dC.norm() / kernel_norm)
          << "g = " << ratio;
    }
    // q* of the linear length map: 0 at criticality with σ_b = 0, +∞ above.
    if (ratio > 1.0) {
      EXPECT_TRUE(std::isinf(row.q_star));
    }
  }
}

TEST(CriticalityStudy, CriticalErfSingleInputMatchesTheoryDepthTable) {
  // THEORY.md §6.3 (V14), erf, σ_b = 0, q^(1) = 1: at g_c = π/4, N·v_l = 0.56 at l = 2 and
  // 2.35 at l = 5 (half a unit of the printed digit: 5e-3); at g = 1.5 (chaotic) N·v_l
  // saturates at 1.149 (5e-4), approached like χ_∥^{2l} with χ_∥ = 0.551, so l = 41 is
  // converged far below that. Erf 4-point functions are exact (sign-moment route).
  const double g_c = std::numbers::pi / 4;
  const core::ModelSpec critical = core::uniform_model(1, 4, 1, Activation::erf, g_c, 0.0, 1.0);
  const CriticalityRow row =
      criticality_row(critical, unit_single_input(g_c), g_c, 1.0, 0.0, core::TheorySettings{}, 1);
  EXPECT_NEAR(row.layers.front().scaled_normalized_variance, 0.56, 5e-3);
  EXPECT_NEAR(row.layers.back().scaled_normalized_variance, 2.35, 5e-3);

  const core::ModelSpec chaotic = core::uniform_model(1, 40, 1, Activation::erf, 1.5, 0.0, 1.0);
  const CriticalityRow deep =
      criticality_row(chaotic, unit_single_input(1.5), 1.5, 1.5 / g_c, 0.0, core::TheorySettings{}, 1);
  EXPECT_NEAR(deep.layers.back().scaled_normalized_variance, 1.149, 5e-4);
  EXPECT_NEAR(deep.layers.back().kernel_diagonal, deep.q_star, 1e-10);  // q^(l) → q*
}

TEST(CriticalityStudy, MonteCarloColumnsCarryStandardErrors) {
  // ReLU uses Monte Carlo 4-point functions: every N-scaled column gets a positive SE
  // (their agreement with the exact value: criticality_study_statistical_test.cpp).
  core::TheorySettings settings;
  settings.four_point_samples = 200000;
  const core::ModelSpec spec = core::uniform_model(1, 2, 1, Activation::relu, 2.0, 0.0, 1.0);
  const CriticalityRow row = criticality_row(spec, unit_single_input(2.0), 2.0, 1.0, 0.0, settings, 3);
  EXPECT_EQ(row.method_used, core::FourPointMethod::monte_carlo);
  const CriticalityLayer& first = row.layers.front();
  EXPECT_GT(first.scaled_normalized_variance_se, 0.0);
  EXPECT_GT(first.scaled_target_adaptation_se, 0.0);
  EXPECT_GT(first.scaled_relative_adaptation_se, 0.0);
}

TEST(CriticalityStudy, RejectsDataThatDoNotFitTheModel) {
  const core::ModelSpec spec = core::uniform_model(5, 2, 1, Activation::erf, 1.0, 0.0, 1.0);
  EXPECT_THROW(criticality_study(spec, xor_data(4, 3), {0.0}, {1.0}, core::TheorySettings{}, 1), DataError);
}

}  // namespace
}  // namespace kernelmc::theory
