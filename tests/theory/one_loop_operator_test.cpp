#include "theory/one_loop_operator.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "theory/deep_linear_oracles.hpp"
#include "theory/prediction.hpp"
#include "theory/prior_moments.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

Eigen::MatrixXd draws(std::uint64_t index, Eigen::Index rows, Eigen::Index cols) {
  core::Engine engine = core::make_stream(43, core::StreamPurpose::test, 0, index);
  return core::standard_normal_matrix(engine, rows, cols);
}

double max_abs(const Eigen::MatrixXd& M) { return M.cwiseAbs().maxCoeff(); }

// The operator route against the explicit one on the same inputs: every layer's μ, δC (and
// their SEs) within `tolerance` relative to the largest entry of the top layer, and Σ's
// pair-local entries against the explicit K×K Σ of prior_moments.
void expect_routes_agree(const core::ModelSpec& spec, const core::TheorySettings& settings, double tolerance) {
  const Eigen::MatrixXd X = draws(1, 5, 3);
  const Eigen::MatrixXd Y = draws(2, 4, 1);  // the fifth input is a test point
  const OperatorOneLoop op = operator_one_loop(spec, X, Y, settings, 5);
  const OneLoopPrediction ex = one_loop_prediction(spec, X, Y, settings, 5);
  const PriorMoments prior = prior_moments(spec, X, settings, 5);
  ASSERT_EQ(op.one_loop.method_used, ex.method_used);
  const Eigen::Index top = spec.depth() + 1;
  const double adaptation_scale = max_abs(ex.adaptation.layer(top)), mu_scale = max_abs(ex.mean_shift.layer(top));
  for (Eigen::Index l = 2; l <= top; ++l) {
    const std::size_t i = static_cast<std::size_t>(l - 1);
    EXPECT_LT(max_abs(op.one_loop.adaptation.layer(l) - ex.adaptation.layer(l)), tolerance * adaptation_scale) << l;
    EXPECT_LT(max_abs(op.one_loop.adaptation_standard_error.layer(l) - ex.adaptation_standard_error.layer(l)),
              tolerance * adaptation_scale) << l;
    EXPECT_LE(max_abs(op.one_loop.mean_shift.layer(l) - ex.mean_shift.layer(l)), tolerance * mu_scale) << l;
    EXPECT_LT(max_abs(op.one_loop.tilts.layer(l) - ex.tilts.layer(l)), 1e-14 * max_abs(ex.tilts.layer(l))) << l;
    const PairCovariance expected = pair_covariance_from_triangle(prior.covariance[i]);
    EXPECT_LT(max_abs(op.covariance.layer(l).off_diagonal - expected.off_diagonal),
              tolerance * max_abs(expected.off_diagonal)) << l;
    EXPECT_LT(max_abs(op.covariance.layer(l).mixed - expected.mixed), tolerance * max_abs(expected.mixed)) << l;
  }
}

TEST(OperatorOneLoop, LinearEqualsTheExplicitRouteToRounding) {
  // Both exact (Isserlis); δC by the layer recursion against Σ^(l)[G^(l)] per layer.
  core::ModelSpec spec = core::uniform_model(3, 3, 10, Activation::linear, 1.0, 0.2, 0.5);
  spec.weight_variances = {1.3, 0.9, 1.2, 1.1};
  expect_routes_agree(spec, core::TheorySettings{}, 1e-12);
}

TEST(OperatorOneLoop, ErfPriorExactAndAdaptationEqualsTheMonteCarloRouteFromTheSameDraws) {
  // Explicit Monte Carlo (four_point = monte_carlo) with S = 20000 ≤ kOperatorDrawBudget / 5:
  // the operator route uses the same draws for δC, so δC and its SEs agree to rounding; μ is
  // exact on the operator route and a Monte Carlo estimate on the explicit one, so μ is
  // checked against the quadrature route instead.
  const core::ModelSpec spec = core::uniform_model(3, 3, 1, Activation::erf, 2.0, 0.1, 1.0);
  core::TheorySettings mc;
  mc.four_point = core::FourPointMethod::monte_carlo;
  mc.four_point_samples = 20000;
  const Eigen::MatrixXd X = draws(1, 5, 3), Y = draws(2, 4, 1);
  const OperatorOneLoop op = operator_one_loop(spec, X, Y, mc, 5);
  const OneLoopPrediction ex = one_loop_prediction(spec, X, Y, mc, 5);
  core::TheorySettings exact;
  exact.four_point = core::FourPointMethod::quadrature;
  const PriorMoments prior = prior_moments(spec, X, exact, 5);
  for (Eigen::Index l = 2; l <= 4; ++l) {
    const double scale = max_abs(ex.adaptation.layer(l));
    EXPECT_LT(max_abs(op.one_loop.adaptation.layer(l) - ex.adaptation.layer(l)), 1e-11 * scale) << l;
    EXPECT_LT(max_abs(op.one_loop.adaptation_standard_error.layer(l) - ex.adaptation_standard_error.layer(l)),
              1e-10 * scale) << l;
    EXPECT_LE(max_abs(op.one_loop.mean_shift.layer(l) - prior.mean_shift.layer(l)),
              1e-12 * max_abs(prior.mean_shift.layer(l))) << l;  // μ^(2) = 0 on both routes
    EXPECT_EQ(max_abs(op.one_loop.mean_shift_standard_error.layer(l)), 0.0) << l;
  }
  EXPECT_EQ(op.draws, 20000);
}

TEST(OperatorOneLoop, ReluEqualsTheExplicitMonteCarloRouteFromTheSameDraws) {
  // ReLU has no exact pair route: μ and Σ's pairs come from the same draws as the explicit
  // Monte Carlo replicates, so every quantity agrees to rounding.
  const core::ModelSpec spec = core::uniform_model(3, 2, 1, Activation::relu, 2.0, 0.1, 1.0);
  core::TheorySettings mc;
  mc.four_point_samples = 20000;  // automatic: Monte Carlo for ReLU
  expect_routes_agree(spec, mc, 1e-10);
}

TEST(OperatorOneLoop, OneLoopPredictionTakesTheOperatorRouteForLargeLinearProblems) {
  // P = 100 linear, L = 1: K² = 2.6e7 does not fit the explicit route; the operator route is
  // exact for linear φ, so δC equals the closed form of THEORY.md §4.6 to rounding.
  const Eigen::MatrixXd X = draws(3, 100, 5);
  const Eigen::VectorXd y = draws(4, 100, 1);
  const core::ModelSpec spec = core::uniform_model(5, 1, 200, Activation::linear, 1.0, 0.0, 0.5);
  const OneLoopPrediction p = one_loop_prediction(spec, core::Dataset{X, y, "random"}, core::TheorySettings{}, 1);
  const core::KernelStack exact = deep_linear_first_order_adaptation(spec, core::input_kernel(X, spec.g(1), 0.0), y);
  EXPECT_LT(max_abs(p.adaptation.layer(2) - exact.layer(2)), 1e-12 * max_abs(exact.layer(2)));
  EXPECT_EQ(max_abs(p.mean_shift.layer(2)), 0.0);
}

TEST(OperatorOneLoop, OneLoopGpPredictionRefusesTheOperatorRoute) {
  // Its gradient/Hessian route needs the explicit Σ: P + T = 101 linear points do not fit.
  const Eigen::MatrixXd X = draws(3, 100, 5);
  const Eigen::VectorXd y = draws(4, 100, 1);
  const core::ModelSpec spec = core::uniform_model(5, 1, 200, Activation::linear, 1.0, 0.0, 0.5);
  try {
    (void)one_loop_gp_prediction(spec, core::Dataset{X, y, "random"}, draws(5, 1, 5), core::TheorySettings{}, 1);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("P + T = 101 points"), std::string::npos) << e.what();
  }
}

TEST(OperatorOneLoop, DrawCountFollowsTheBudget) {
  core::TheorySettings s;
  EXPECT_EQ(operator_route_draws(s, 260), static_cast<Eigen::Index>(kOperatorDrawBudget / 260));
  s.four_point_samples = 5000;
  EXPECT_EQ(operator_route_draws(s, 260), 5000);
  EXPECT_EQ(operator_route_draws(s, 1000000), kFourPointBatches * kMinDrawsPerBatch);
}

}  // namespace
}  // namespace kernelmc::theory
