// Tests of sampling/full_posterior (THEORY.md §1.4): the value against the formula, the
// workspace of clones, non-finite input and shape checks. Its gradient is checked against
// central differences for every activation, depth, output count and bias setting (with a
// twin that a slightly wrong gradient fails) in collapsed_posterior_test.cpp, by the one
// harness that checks both potentials.
#include "sampling/full_posterior.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace kernelmc::sampling {
namespace {

using core::Activation;

struct Problem {
  core::ModelSpec spec;
  core::Dataset data;
  Eigen::VectorXd theta;
};

// P = 5 inputs in d = 3, L hidden layers of width 4, g = 1.3, κ = 0.5 (≠ 1, so a lost
// 1/κ shows), D outputs; data and θ drawn from stream `index`.
Problem small_problem(Activation activation, Eigen::Index depth, Eigen::Index outputs, double bias_variance,
                      std::uint64_t index) {
  Problem p{core::uniform_model(3, depth, 4, activation, 1.3, bias_variance, 0.5), {}, {}};
  p.spec.output_dim = outputs;
  core::Engine engine = core::make_stream(21, core::StreamPurpose::test, 0, index);
  p.data.inputs = core::standard_normal_matrix(engine, 5, 3);
  p.data.targets = core::standard_normal_matrix(engine, 5, outputs);
  p.theta = core::standard_normal_matrix(engine, ParameterLayout(p.spec).size(), 1);
  return p;
}

TEST(FullPosterior, ValueIsSquaredErrorOverTwoKappaPlusHalfSquaredNorm) {
  // Linear, L = 1, D = 1, no bias: F = √(g/N) (√(g/d) X W_0ᵀ) w in closed form.
  const Problem p = small_problem(Activation::linear, 1, 1, 0.0, 7);
  const ParameterLayout layout(p.spec);
  const Eigen::Map<const Eigen::MatrixXd> W0(p.theta.data(), 4, 3);
  const Eigen::Map<const Eigen::VectorXd> w(p.theta.data() + layout.readout_offset(), 4);
  const Eigen::VectorXd F = std::sqrt(1.3 / 4.0) * (std::sqrt(1.3 / 3.0) * p.data.inputs * W0.transpose()) * w;
  const double expected = (F - p.data.targets.col(0)).squaredNorm() / (2.0 * 0.5) + 0.5 * p.theta.squaredNorm();
  FullPosterior potential(p.spec, p.data);
  // Same products in another association order: ≈ 1e-15 relative; 1e-12 relative bound.
  EXPECT_NEAR(potential.value(p.theta), expected, 1e-12 * expected);
}

TEST(FullPosterior, CloneOwnsItsWorkspace) {
  const Problem p = small_problem(Activation::tanh, 2, 1, 0.3, 8);
  FullPosterior potential(p.spec, p.data);
  const double U = potential.value(p.theta);
  const Eigen::MatrixXd output = potential.network().output();
  std::unique_ptr<Potential> copy = potential.clone();
  EXPECT_EQ(copy->value(p.theta), U);
  copy->value(Eigen::VectorXd::Zero(potential.dimension()));
  EXPECT_EQ(potential.network().output(), output);
}

TEST(FullPosterior, NonFiniteParametersGiveANonFiniteEnergyNotAnException) {
  Problem p = small_problem(Activation::erf, 2, 1, 0.0, 9);
  FullPosterior potential(p.spec, p.data);
  p.theta(0) = std::nan("");
  Eigen::VectorXd gradient(potential.dimension());
  EXPECT_FALSE(std::isfinite(potential.value_and_gradient(p.theta, gradient)));
}

TEST(FullPosterior, OutputCountMismatchThrowsDataErrorNamingTheField) {
  Problem p = small_problem(Activation::erf, 1, 2, 0.0, 10);
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
