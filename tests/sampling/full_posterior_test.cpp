// Tests of sampling/full_posterior (THEORY.md §1.4): the value against the formula, the
// analytic gradient against central finite differences for every activation, depth,
// output count and bias setting, and a twin that a slightly wrong gradient fails.
#include "sampling/full_posterior.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace kernelmc::sampling {
namespace {

using core::Activation;

struct PosteriorCase {
  Activation activation;
  Eigen::Index depth;     // L
  Eigen::Index outputs;   // D
  double bias_variance;   // σ_b²
};

// P = 5 points in d = 3; widths 4, 3, 5 and g = 1.3, 0.9, 1.7, 1.1 (unequal, so a
// swapped layer index changes the result); κ = 0.5 (≠ 1, so a lost 1/κ shows).
struct Problem {
  core::ModelSpec spec;
  core::Dataset data;
  Eigen::VectorXd theta;
};

Problem make_problem(const PosteriorCase& c, std::uint64_t index) {
  Problem p;
  p.spec.input_dim = 3;
  p.spec.widths.assign({4, 3, 5});
  p.spec.widths.resize(static_cast<std::size_t>(c.depth));
  p.spec.activation = c.activation;
  p.spec.weight_variances.assign({1.3, 0.9, 1.7, 1.1});
  p.spec.weight_variances.resize(static_cast<std::size_t>(c.depth + 1));
  p.spec.bias_variance = c.bias_variance;
  p.spec.kappa = 0.5;
  p.spec.output_dim = c.outputs;
  core::Engine engine = core::make_stream(21, core::StreamPurpose::test, 0, index);
  p.data.inputs = core::standard_normal_matrix(engine, 5, 3);
  p.data.targets = core::standard_normal_matrix(engine, 5, c.outputs);
  p.theta = core::standard_normal_matrix(engine, ParameterLayout(p.spec).size(), 1);
  return p;
}

// Central differences, component by component. D_h = (U(θ + h e_i) − U(θ − h e_i))/(2h)
// has truncation error c_i h² + O(h⁴), so |D_h − D_{h/2}| ≈ 3 c_i (h/2)² is three times the
// truncation error of D_{h/2}; the bound adds the rounding error of D_{h/2}, 2ε_U/h, with
// ε_U = 1e-13 (1 + |U|) the error of one evaluation (≈ 450 ulp: sums of ≤ 100 terms
// through ≤ 3 layers). With h = 1e-4 and |U| ~ 20 the bound is ~ 4e-8 against gradient
// entries of order 1. For ReLU the stencil must not cross a kink: every preactivation keeps
// its sign in every perturbed evaluation, otherwise the check fails.
::testing::AssertionResult GradientMatchesCentralDifferences(FullPosterior& potential,
                                                             const Eigen::VectorXd& theta,
                                                             const Eigen::VectorXd& gradient) {
  constexpr double h = 1e-4;
  const double U = potential.value(theta);
  const Network& network = potential.network();
  const bool relu = network.spec().activation == Activation::relu;
  std::vector<Eigen::ArrayXXd> signs;
  for (Eigen::Index l = 1; l <= network.layout().depth(); ++l)
    signs.push_back((network.preactivation(l).array() > 0.0).cast<double>());
  const double rounding = 2.0 * 1e-13 * (1.0 + std::abs(U)) / h;
  Eigen::VectorXd shifted = theta;
  bool crossed_kink = false;
  auto evaluate = [&](Eigen::Index i, double step) {
    shifted(i) = theta(i) + step;
    const double value = potential.value(shifted);
    for (Eigen::Index l = 1; relu && l <= network.layout().depth(); ++l)
      crossed_kink |= !((network.preactivation(l).array() > 0.0).cast<double>() ==
                        signs[static_cast<std::size_t>(l - 1)]).all();
    shifted(i) = theta(i);
    return value;
  };
  auto difference = [&](Eigen::Index i, double step) {
    return (evaluate(i, step) - evaluate(i, -step)) / (2.0 * step);
  };
  for (Eigen::Index i = 0; i < theta.size(); ++i) {
    const double coarse = difference(i, h);
    const double fine = difference(i, h / 2.0);
    const double bound = std::abs(coarse - fine) + rounding;
    if (crossed_kink) return ::testing::AssertionFailure() << "component " << i << ": a ReLU kink lies within the stencil";
    if (!(std::abs(fine - gradient(i)) <= bound))
      return ::testing::AssertionFailure() << "component " << i << ": analytic " << gradient(i)
                                           << ", central difference " << fine << ", bound " << bound;
  }
  return ::testing::AssertionSuccess();
}

class FullPosteriorGradient : public ::testing::TestWithParam<PosteriorCase> {};

TEST_P(FullPosteriorGradient, MatchesCentralDifferences) {
  const PosteriorCase& c = GetParam();
  Problem p = make_problem(c, static_cast<std::uint64_t>(c.depth * 10 + c.outputs));
  FullPosterior potential(p.spec, p.data);
  Eigen::VectorXd gradient(potential.dimension());
  const double U = potential.value_and_gradient(p.theta, gradient);
  EXPECT_EQ(U, potential.value(p.theta));
  EXPECT_TRUE(GradientMatchesCentralDifferences(potential, p.theta, gradient));
}

std::vector<PosteriorCase> all_cases() {
  std::vector<PosteriorCase> cases;
  for (Activation a : {Activation::linear, Activation::relu, Activation::erf, Activation::tanh})
    for (Eigen::Index L : {1, 2, 3})
      for (Eigen::Index D : {1, 2})
        for (double sb2 : {0.0, 0.3}) cases.push_back({a, L, D, sb2});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    AllArchitectures, FullPosteriorGradient, ::testing::ValuesIn(all_cases()),
    [](const ::testing::TestParamInfo<PosteriorCase>& info) {
      const PosteriorCase& c = info.param;
      return std::string(core::activation_name(c.activation)) + "_L" + std::to_string(c.depth) + "_D" +
             std::to_string(c.outputs) + (c.bias_variance > 0.0 ? "_bias" : "_nobias");
    });

TEST(FullPosterior, GradientCheckDetectsARelativeErrorOfOnePartInAMillion) {
  // The twin that must fail: the likelihood part of the gradient scaled by 1 + 1e-6.
  Problem p = make_problem({Activation::erf, 2, 2, 0.3}, 99);
  FullPosterior potential(p.spec, p.data);
  Eigen::VectorXd gradient(potential.dimension());
  potential.value_and_gradient(p.theta, gradient);
  const Eigen::VectorXd wrong = p.theta + (1.0 + 1e-6) * (gradient - p.theta);
  EXPECT_FALSE(GradientMatchesCentralDifferences(potential, p.theta, wrong));
}

TEST(FullPosterior, ValueIsSquaredErrorOverTwoKappaPlusHalfSquaredNorm) {
  // Linear, L = 1, D = 1, no bias: F = √(g_2/N) (√(g_1/d) X W_0ᵀ) w in closed form.
  Problem p = make_problem({Activation::linear, 1, 1, 0.0}, 7);
  const ParameterLayout layout(p.spec);
  const Eigen::Map<const Eigen::MatrixXd> W0(p.theta.data(), 4, 3);
  const Eigen::Map<const Eigen::VectorXd> w(p.theta.data() + layout.readout_offset(), 4);
  const Eigen::VectorXd F =
      std::sqrt(p.spec.g(2) / 4.0) * (std::sqrt(p.spec.g(1) / 3.0) * p.data.inputs * W0.transpose()) * w;
  const double expected = (F - p.data.targets.col(0)).squaredNorm() / (2.0 * 0.5) + 0.5 * p.theta.squaredNorm();
  FullPosterior potential(p.spec, p.data);
  // Same products in another association order: ≈ 1e-15 relative; 1e-12 relative bound.
  EXPECT_NEAR(potential.value(p.theta), expected, 1e-12 * expected);
}

TEST(FullPosterior, CloneOwnsItsWorkspace) {
  Problem p = make_problem({Activation::tanh, 2, 1, 0.3}, 8);
  FullPosterior potential(p.spec, p.data);
  const double U = potential.value(p.theta);
  const Eigen::MatrixXd output = potential.network().output();
  std::unique_ptr<Potential> copy = potential.clone();
  EXPECT_EQ(copy->value(p.theta), U);
  copy->value(Eigen::VectorXd::Zero(potential.dimension()));
  EXPECT_EQ(potential.network().output(), output);
}

TEST(FullPosterior, NonFiniteParametersGiveANonFiniteEnergyNotAnException) {
  Problem p = make_problem({Activation::erf, 2, 1, 0.0}, 9);
  FullPosterior potential(p.spec, p.data);
  p.theta(0) = std::nan("");
  Eigen::VectorXd gradient(potential.dimension());
  EXPECT_FALSE(std::isfinite(potential.value_and_gradient(p.theta, gradient)));
}

TEST(FullPosterior, OutputCountMismatchThrowsDataErrorNamingTheField) {
  Problem p = make_problem({Activation::erf, 1, 2, 0.0}, 10);
  p.spec.output_dim = 1;
  try {
    FullPosterior potential(p.spec, p.data);
    FAIL() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("model.output_dim = 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kernelmc::sampling
