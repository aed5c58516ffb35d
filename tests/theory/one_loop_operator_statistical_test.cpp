#include "theory/one_loop_operator.hpp"

#include <gtest/gtest.h>

#include "core/rng.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

Eigen::MatrixXd draws(std::uint64_t index, Eigen::Index rows, Eigen::Index cols) {
  core::Engine engine = core::make_stream(47, core::StreamPurpose::test, 0, index);
  return core::standard_normal_matrix(engine, rows, cols);
}

// max over layers and entries of |estimate − reference| / SE.
double max_z(const OneLoopPrediction& estimate, const core::KernelStack& reference, double factor) {
  double z = 0.0;
  for (Eigen::Index l = 2; l <= reference.top_layer(); ++l)
    z = std::max(z, ((estimate.adaptation.layer(l) - factor * reference.layer(l)).array() /
                     estimate.adaptation_standard_error.layer(l).array())
                        .abs()
                        .maxCoeff());
  return z;
}

TEST(OperatorOneLoopStatistical, ErfAdaptationAgreesWithTheExactQuadratureRoute) {
  // δC by the Monte Carlo operator V (S = 10⁶ draws per layer, 100 batches) against the exact
  // quadrature δC (erf, L = 3, P = 6 with one test point). SEs are batch means over B = 100
  // replicates (99 degrees of freedom); 5 SE is a two-sided p of 2.5e-6 per entry under t_99,
  // so the 63 (correlated) entries pass with probability > 0.9998.
  const core::ModelSpec spec = core::uniform_model(3, 3, 1, Activation::erf, 2.0, 0.0, 1.0);
  const Eigen::MatrixXd X = draws(1, 6, 3), Y = draws(2, 5, 1);
  core::TheorySettings exact;
  exact.four_point = core::FourPointMethod::quadrature;
  const OneLoopPrediction reference = one_loop_prediction(spec, X, Y, exact, 3);
  const OperatorOneLoop op = operator_one_loop(spec, X, Y, core::TheorySettings{}, 3);
  ASSERT_EQ(op.draws, 1000000);
  EXPECT_LT(max_z(op.one_loop, reference.adaptation, 1.0), 5.0);
  // Must-fail twin: a reference 10 % too large is rejected (power: the SEs are ≈ 1 % of δC).
  EXPECT_GT(max_z(op.one_loop, reference.adaptation, 1.1), 5.0);
}

}  // namespace
}  // namespace kernelmc::theory
