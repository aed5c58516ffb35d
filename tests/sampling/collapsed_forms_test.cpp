// The two forms of the collapsed posterior (sampling/collapsed_posterior.hpp): for P > n the
// feature form (push-through identities, every solve n×n) gives the value and gradient of
// the kernel form (Cholesky of the P×P matrix C + κI) to rounding. Tolerance 1e-10
// relative: both are backward-stable Cholesky routes on matrices with condition number
// below ~1e3 here (κ = 0.5, entries of C of order 1), so they differ by a few hundred ulp at
// most, far below 1e-10; a wrong term (a lost (P − n) log κ, a missing ‖μ‖²) changes the
// value at order 1.
#include <gtest/gtest.h>

#include <string>

#include "core/rng.hpp"
#include "sampling/collapsed_posterior.hpp"

namespace kernelmc::sampling {
namespace {

struct FormsCase {
  core::Activation activation;
  Eigen::Index depth, width, outputs;
  double bias_variance;
};

struct Evaluation {
  double value;
  Eigen::VectorXd gradient;
};

Evaluation evaluate(const FormsCase& c, bool kernel_form, Eigen::Index points) {
  core::ModelSpec spec = core::uniform_model(3, c.depth, c.width, c.activation, 1.4, c.bias_variance, 0.5);
  spec.output_dim = c.outputs;
  core::Engine engine = core::make_stream(81, core::StreamPurpose::test, 0, 0);
  core::Dataset data;
  data.inputs = core::standard_normal_matrix(engine, points, 3);
  data.targets = core::standard_normal_matrix(engine, points, c.outputs);
  CollapsedPosterior posterior(spec, data);
  if (kernel_form) posterior.set_solve_form(CollapsedPosterior::SolveForm::kernel);
  EXPECT_EQ(posterior.uses_feature_form(), !kernel_form);
  const Eigen::VectorXd q = core::standard_normal_matrix(engine, posterior.dimension(), 1);
  Evaluation e{0.0, Eigen::VectorXd(posterior.dimension())};
  e.value = posterior.value_and_gradient(q, e.gradient);
  EXPECT_EQ(e.value, posterior.value(q));
  return e;
}

class CollapsedForms : public ::testing::TestWithParam<FormsCase> {};

TEST_P(CollapsedForms, FeatureFormEqualsKernelFormWhenPointsExceedFeatures) {
  const FormsCase& c = GetParam();
  const Eigen::Index points = 3 * c.width + 2;  // P > n = N + [σ_b² > 0]
  const Evaluation features = evaluate(c, false, points);
  const Evaluation kernel = evaluate(c, true, points);
  EXPECT_NEAR(features.value, kernel.value, 1e-10 * std::abs(kernel.value));
  const double scale = kernel.gradient.cwiseAbs().maxCoeff();
  EXPECT_LE((features.gradient - kernel.gradient).cwiseAbs().maxCoeff(), 1e-10 * scale);
}

std::string forms_name(const ::testing::TestParamInfo<FormsCase>& info) {
  const FormsCase& c = info.param;
  return std::string(core::activation_name(c.activation)) + "_L" + std::to_string(c.depth) + "_N" +
         std::to_string(c.width) + "_D" + std::to_string(c.outputs) + (c.bias_variance > 0.0 ? "_bias" : "_nobias");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CollapsedForms,
    ::testing::Values(FormsCase{core::Activation::erf, 1, 4, 1, 0.0}, FormsCase{core::Activation::erf, 2, 6, 2, 0.3},
                      FormsCase{core::Activation::tanh, 2, 10, 1, 0.2}, FormsCase{core::Activation::relu, 3, 5, 2, 0.0},
                      FormsCase{core::Activation::linear, 2, 7, 3, 0.1}),
    forms_name);

// The must-fail twin: the automatic choice at P ≤ n is the kernel form, and at P > n it is
// not (so the comparison above compares two different routes).
TEST(CollapsedForms, AutomaticChoiceFollowsTheShape) {
  const FormsCase c{core::Activation::erf, 2, 6, 1, 0.3};  // n = 7
  core::ModelSpec spec = core::uniform_model(3, c.depth, c.width, c.activation, 1.4, c.bias_variance, 0.5);
  core::Engine engine = core::make_stream(82, core::StreamPurpose::test, 0, 0);
  for (Eigen::Index points : {6, 7, 8}) {
    core::Dataset data;
    data.inputs = core::standard_normal_matrix(engine, points, 3);
    data.targets = core::standard_normal_matrix(engine, points, 1);
    EXPECT_EQ(CollapsedPosterior(spec, data).uses_feature_form(), points > 7) << "P = " << points;
  }
}

}  // namespace
}  // namespace kernelmc::sampling
