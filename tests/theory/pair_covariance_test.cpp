#include "theory/pair_covariance.hpp"

#include <gtest/gtest.h>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "theory/jacobian_operators.hpp"
#include "theory/nngp.hpp"
#include "theory/one_loop_route.hpp"
#include "theory/prior_covariance.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

Eigen::MatrixXd inputs(std::uint64_t index, Eigen::Index P, Eigen::Index d) {
  core::Engine engine = core::make_stream(41, core::StreamPurpose::test, 0, index);
  return core::standard_normal_matrix(engine, P, d);
}

double max_abs(const Eigen::MatrixXd& M) { return M.cwiseAbs().maxCoeff(); }

// max |x − y| over the three pair-local matrices.
double max_difference(const PairCovariance& x, const PairCovariance& y) {
  return std::max({max_abs(x.diagonal - y.diagonal), max_abs(x.mixed - y.mixed),
                   max_abs(x.off_diagonal - y.off_diagonal)});
}
double max_entry(const PairCovariance& x) {
  return std::max({max_abs(x.diagonal), max_abs(x.mixed), max_abs(x.off_diagonal)});
}

TEST(PairCovariance, ExactEntriesEqualTheExplicitQuadratureMatrix) {
  // The same 4-point values as product_covariance_quadrature at the pair entries, so they agree
  // to rounding (1e-13 relative).
  const core::ModelSpec spec = core::uniform_model(3, 2, 1, Activation::erf, 2.0, 0.1, 1.0);
  const Eigen::MatrixXd C = nngp_kernels(spec, inputs(1, 5, 3), 1e-12).layer(2);
  for (const Activation a : {Activation::erf, Activation::linear}) {
    const PairCovariance pairs = pair_product_covariance_exact(a, C);
    const PairCovariance expected = pair_covariance_from_triangle(product_covariance_quadrature(a, C, 28));
    EXPECT_LT(max_difference(pairs, expected), 1e-13 * max_entry(expected)) << core::activation_name(a);
  }
  EXPECT_THROW(pair_product_covariance_exact(Activation::relu, C), ConfigError);
  EXPECT_FALSE(has_exact_pair_product_covariance(Activation::tanh));
}

TEST(PairCovariance, DrawEntriesEqualTheExplicitMonteCarloBatches) {
  // The same draws and the same unbiased batch covariances, rearranged: rounding only.
  const Eigen::MatrixXd C = core::input_kernel(inputs(2, 4, 3), 1.5, 0.2);
  core::Engine a = core::make_stream(7, core::StreamPurpose::test, 0, 3);
  core::Engine b = a;
  const std::vector<Eigen::MatrixXd> explicit_batches = product_covariance_monte_carlo(Activation::relu, C, 2000, a);
  const std::vector<PairCovariance> pairs = pair_product_covariance_draws(draw_activations(Activation::relu, C, 2000, b));
  ASSERT_EQ(pairs.size(), explicit_batches.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const PairCovariance expected = pair_covariance_from_triangle(explicit_batches[i]);
    EXPECT_LT(max_difference(pairs[i], expected), 1e-11 * max_entry(expected)) << "batch " << i;
  }
}

TEST(PairCovariance, RecursionEqualsThePairEntriesOfTheExplicitRecursion) {
  // Σ^(l) = V^(l) + J Σ^(l−1) Jᵀ on the pairs against the K×K recursion (erf, L = 3, σ_b > 0,
  // unequal g so that the β terms of J differ between layers): rounding only.
  core::ModelSpec spec = core::uniform_model(3, 3, 1, Activation::erf, 1.7, 0.3, 1.0);
  spec.weight_variances = {1.2, 2.5, 1.6, 0.8};
  const core::KernelStack nngp = nngp_kernels(spec, inputs(3, 5, 3), 1e-12);
  const std::vector<JacobianOperator> J = jacobian_operators(spec, nngp, 1e-12);
  std::vector<Eigen::MatrixXd> V(4, Eigen::MatrixXd::Zero(15, 15));
  std::vector<PairCovariance> Vp(4, PairCovariance::zero(5));
  for (Eigen::Index l = 2; l <= 4; ++l) {
    const std::size_t i = static_cast<std::size_t>(l - 1);
    V[i] = one_layer_covariance_scale(spec, l) * product_covariance_quadrature(Activation::erf, nngp.layer(l - 1), 28);
    Vp[i] = pair_covariance_from_triangle(V[i]);
  }
  const std::vector<Eigen::MatrixXd> sigma = prior_covariance_recursion(V, J);
  const std::vector<PairCovariance> pairs = pair_covariance_recursion(Vp, J);
  for (std::size_t i = 0; i < 4; ++i) {
    const PairCovariance expected = pair_covariance_from_triangle(sigma[i]);
    EXPECT_LE(max_difference(pairs[i], expected), 1e-13 * std::max(1.0, max_entry(expected))) << "layer " << i + 1;
  }
}

TEST(OneLoopRoute, ExplicitWhereItFitsOperatorBeyond) {
  const core::TheorySettings settings;
  const core::ModelSpec erf = core::uniform_model(3, 2, 64, Activation::erf, 2.0, 0.0, 1.0);
  const core::ModelSpec relu = core::uniform_model(3, 2, 64, Activation::relu, 2.0, 0.0, 1.0);
  auto route = [&](const core::ModelSpec& spec, Eigen::Index n, bool exact) {
    return choose_one_loop_route(spec, nngp_kernels(spec, inputs(4, n, 3), 1e-10), settings, exact);
  };
  // n = 8 ≤ quadrature_max_points: explicit quadrature, no change of settings.
  const OneLoopRouteChoice small = route(erf, 8, true);
  EXPECT_EQ(small.route, OneLoopRoute::explicit_covariance);
  EXPECT_EQ(small.four_point, core::FourPointMethod::quadrature);
  EXPECT_EQ(small.reasons.size(), 1u);
  // n = 40 erf: the exact route when asked (K² = 6.7e5 fits), Monte Carlo replicates otherwise.
  const OneLoopRouteChoice upgraded = route(erf, 40, true);
  EXPECT_EQ(upgraded.four_point, core::FourPointMethod::quadrature);
  EXPECT_EQ(upgraded.settings.four_point, core::FourPointMethod::quadrature);
  EXPECT_EQ(upgraded.reasons.size(), 2u);
  EXPECT_EQ(route(erf, 40, false).four_point, core::FourPointMethod::monte_carlo);
  // n = 100: K² = 2.6e7 > 1e7 and the replicates need 41 GB: the operator route.
  for (const bool exact : {true, false}) {
    const OneLoopRouteChoice large = route(erf, 100, exact);
    EXPECT_EQ(large.route, OneLoopRoute::operator_form);
    EXPECT_NE(large.reasons.back().find("no K x K object"), std::string::npos) << large.reasons.back();
  }
  EXPECT_EQ(route(relu, 100, false).route, OneLoopRoute::operator_form);
  EXPECT_EQ(route(relu, 20, false).route, OneLoopRoute::explicit_covariance);  // 8·210²·2·100 B = 70 MB
}

}  // namespace
}  // namespace kernelmc::theory
