// The tempered potential U_β = (1 − β)½‖θ‖² + βU of the SMC route, and the constant that
// makes its log-likelihood the exact N(Y; 0, C + κI) of the collapsed posterior (THEORY.md §1.5).
#include "sampling/tempered_potential.hpp"

#include <gtest/gtest.h>

#include <Eigen/LU>
#include <cmath>
#include <numbers>

#include "core/dataset_generators.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/importance_posterior.hpp"

namespace kernelmc::sampling {
namespace {

struct Problem {
  core::ModelSpec spec = core::uniform_model(3, 2, 6, core::Activation::erf, 1.7, 0.2, 0.5);
  core::Dataset data = core::config_b_dataset();
  Eigen::VectorXd theta;
};

Problem make_problem() {
  Problem p;
  const CollapsedPosterior posterior(p.spec, p.data);
  core::Engine engine = core::make_stream(5, core::StreamPurpose::test, 0, 0);
  p.theta = core::standard_normal_matrix(engine, posterior.dimension(), 1).col(0);
  return p;
}

TEST(TemperedPotential, IsThePriorAtZeroAndTheBaseAtOne) {
  const Problem p = make_problem();
  CollapsedPosterior base(p.spec, p.data);
  TemperedPotential tempered(base, 0.0);
  EXPECT_DOUBLE_EQ(tempered.value(p.theta), 0.5 * p.theta.squaredNorm());
  tempered.set_beta(1.0);
  EXPECT_NEAR(tempered.value(p.theta), base.value(p.theta), 1e-12 * std::abs(base.value(p.theta)));
}

TEST(TemperedPotential, GradientMatchesCentralDifferences) {
  const Problem p = make_problem();
  const CollapsedPosterior base(p.spec, p.data);
  for (double beta : {0.0, 0.37, 1.0}) {
    TemperedPotential tempered(base, beta);
    Eigen::VectorXd gradient(p.theta.size());
    tempered.value_and_gradient(p.theta, gradient);
    // Central differences with h = 1e-5: truncation O(h²·U''') ≈ 1e-10, rounding ≈ 1e-16/h;
    // tolerance 1e-7 absolute on O(1) gradient entries.
    constexpr double h = 1e-5;
    for (Eigen::Index i = 0; i < p.theta.size(); i += 7) {
      Eigen::VectorXd up = p.theta, down = p.theta;
      up(i) += h;
      down(i) -= h;
      EXPECT_NEAR(gradient(i), (tempered.value(up) - tempered.value(down)) / (2 * h), 1e-7) << "beta " << beta << " i " << i;
    }
  }
}

TEST(TemperedPotential, LogLikelihoodIsTheExactGaussianEvidenceOfTheOutputKernel) {
  const Problem p = make_problem();
  CollapsedPosterior base(p.spec, p.data);
  TemperedPotential tempered(base, 0.5);
  const double offset = collapsed_log_likelihood_offset(p.data.size(), p.data.output_dim());
  // log N(y; 0, C + κI) from a dense inverse and determinant (no Cholesky shared with the potential).
  const Eigen::MatrixXd S = base.output_kernel(p.theta) + p.spec.kappa * Eigen::MatrixXd::Identity(4, 4);
  const Eigen::VectorXd y = p.data.targets.col(0);
  const double expected = -0.5 * y.dot(S.inverse() * y) - 0.5 * std::log(S.determinant()) -
                          2.0 * std::log(2.0 * std::numbers::pi);
  // Rounding of two O(10) sums: tolerance 1e-11.
  EXPECT_NEAR(tempered.log_likelihood(p.theta, offset), expected, 1e-11);
  Eigen::LLT<Eigen::MatrixXd> llt(4);
  EXPECT_NEAR(gaussian_process_log_evidence(base.output_kernel(p.theta), p.spec.kappa, p.data.targets, llt), expected,
              1e-11);
}

}  // namespace
}  // namespace kernelmc::sampling
