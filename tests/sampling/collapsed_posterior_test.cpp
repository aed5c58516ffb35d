// Tests of sampling/collapsed_posterior (THEORY.md §1.5): the gradient against central
// differences; the value against the full potential integrated over the readout (closed
// Gaussian integral on the N×N side, and 1-D quadrature); the gradient against Fisher's
// identity; the readout law (moments against a direct inverse, draws against the moments);
// and the jitter policy. The central-difference harness also checks the full potential
// (sampling/full_posterior, THEORY.md §1.4): one harness for both, with the same cases.
#include "sampling/collapsed_posterior.hpp"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampling/full_posterior.hpp"
#include "support/statistical.hpp"

namespace kernelmc::sampling {
namespace {

using core::Activation;

struct PosteriorCase {
  Activation activation;
  Eigen::Index depth;     // L
  Eigen::Index outputs;   // D
  double bias_variance;   // σ_b²
};

// P points in d = 3; widths 4, 3, 5 and g = 1.3, 0.9, 1.7, 1.1 (unequal, so a swapped
// layer index changes the result); κ = 0.5 (≠ 1, so a lost 1/κ shows).
struct Problem {
  core::ModelSpec spec;
  core::Dataset data;
  Eigen::VectorXd theta_hidden;  // θ_h
  Eigen::VectorXd readout;       // (w, b_out), so that θ = (θ_h, readout)
};

Problem make_problem(const PosteriorCase& c, std::uint64_t index, Eigen::Index points = 5) {
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
  core::Engine engine = core::make_stream(31, core::StreamPurpose::test, 0, index);
  p.data.inputs = core::standard_normal_matrix(engine, points, 3);
  p.data.targets = core::standard_normal_matrix(engine, points, c.outputs);
  const ParameterLayout layout(p.spec);
  p.theta_hidden = core::standard_normal_matrix(engine, layout.hidden_size(), 1);
  p.readout = core::standard_normal_matrix(engine, layout.readout_size(), 1);
  return p;
}

std::vector<PosteriorCase> all_cases() {
  std::vector<PosteriorCase> cases;
  for (Activation a : {Activation::linear, Activation::relu, Activation::erf, Activation::tanh})
    for (Eigen::Index L : {1, 2, 3})
      for (Eigen::Index D : {1, 2})
        for (double sb2 : {0.0, 0.3}) cases.push_back({a, L, D, sb2});
  return cases;
}

// Φ̃ = [√(g_{L+1}/N_L) Φ, σ_b 𝟏] of the network's last forward pass, built here from its
// definition (THEORY.md §1.5 with the output bias as one more readout column).
Eigen::MatrixXd augmented_features(const Network& network) {
  const core::ModelSpec& spec = network.spec();
  const Eigen::MatrixXd& Phi = network.features();
  const Eigen::Index N = Phi.cols();
  const bool bias = spec.bias_variance > 0.0;
  Eigen::MatrixXd tilde(Phi.rows(), N + (bias ? 1 : 0));
  tilde.leftCols(N) = std::sqrt(spec.g(spec.depth() + 1) / static_cast<double>(N)) * Phi;
  if (bias) tilde.col(N).setConstant(std::sqrt(spec.bias_variance));
  return tilde;
}

// log det S and S⁻¹ for a symmetric positive definite S, from its eigen-decomposition: a
// route independent of the LLT inside the potential.
struct SymmetricSolve {
  double log_det;
  Eigen::MatrixXd inverse;
};
SymmetricSolve eigen_solve(const Eigen::MatrixXd& S) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(S);
  const Eigen::VectorXd& lambda = eig.eigenvalues();
  return {lambda.array().log().sum(),
          eig.eigenvectors() * lambda.cwiseInverse().asDiagonal() * eig.eigenvectors().transpose()};
}

// Central differences, component by component. D_h = (U(q + h e_i) − U(q − h e_i))/(2h)
// has truncation error c_i h² + O(h⁴), so |D_h − D_{h/2}| ≈ 3 c_i (h/2)² is three times the
// truncation error of D_{h/2}; the bound adds the rounding error of D_{h/2}, 2ε_U/h, with
// ε_U = 1e-13 (1 + |U|) the error of one evaluation (≈ 450 ulp: sums of ≤ 100 terms
// through ≤ 3 layers, and a 5×5 Cholesky with condition number < 100). With h = 1e-4 and
// |U| ~ 20 the bound is ~ 4e-8 against gradient entries of order 1. For ReLU the stencil
// must not cross a kink: every preactivation keeps its sign in every perturbed
// evaluation, otherwise the check fails.
template <class PotentialT>
::testing::AssertionResult GradientMatchesCentralDifferences(PotentialT& potential, const Eigen::VectorXd& q,
                                                             const Eigen::VectorXd& gradient) {
  constexpr double h = 1e-4;
  const double U = potential.value(q);
  const Network& network = potential.network();
  const Eigen::Index L = network.layout().depth();
  std::vector<Eigen::ArrayXXd> signs;
  for (Eigen::Index l = 1; l <= L; ++l) signs.push_back((network.preactivation(l).array() > 0.0).cast<double>());
  const bool relu = network.spec().activation == Activation::relu;
  bool crossed_kink = false;
  Eigen::VectorXd shifted = q;
  auto shifted_value = [&](Eigen::Index i, double step) {
    shifted(i) = q(i) + step;
    const double value = potential.value(shifted);
    shifted(i) = q(i);
    for (Eigen::Index l = 1; relu && l <= L; ++l)
      crossed_kink |= ((network.preactivation(l).array() > 0.0).cast<double>() !=
                       signs[static_cast<std::size_t>(l - 1)]).any();
    return value;
  };
  const double rounding = 2.0 * 1e-13 * (1.0 + std::abs(U)) / h;
  for (Eigen::Index i = 0; i < q.size(); ++i) {
    const double coarse = (shifted_value(i, h) - shifted_value(i, -h)) / (2.0 * h);
    const double fine = (shifted_value(i, h / 2.0) - shifted_value(i, -h / 2.0)) / h;
    if (crossed_kink) return ::testing::AssertionFailure() << "component " << i << ": stencil crosses a ReLU kink";
    const double bound = std::abs(coarse - fine) + rounding;
    if (!(std::abs(fine - gradient(i)) <= bound))
      return ::testing::AssertionFailure() << "component " << i << ": analytic " << gradient(i)
                                           << ", central difference " << fine << ", bound " << bound;
  }
  return ::testing::AssertionSuccess();
}

// The coordinates of each potential: all of θ for the full one, θ_h for the collapsed one.
template <class PotentialT>
Eigen::VectorXd coordinates(const Problem& p) {
  if constexpr (std::is_same_v<PotentialT, FullPosterior>) {
    Eigen::VectorXd theta(p.theta_hidden.size() + p.readout.size());
    theta << p.theta_hidden, p.readout;
    return theta;
  } else {
    return p.theta_hidden;
  }
}

// One harness for both potentials (the collapsed one is defined through the full one):
// the analytic gradient matches central differences, value_and_gradient agrees with value.
template <class PotentialT>
void expect_gradient_matches_central_differences(const PosteriorCase& c) {
  const Problem p = make_problem(c, static_cast<std::uint64_t>(c.depth * 10 + c.outputs));
  PotentialT potential(p.spec, p.data);
  const Eigen::VectorXd q = coordinates<PotentialT>(p);
  Eigen::VectorXd gradient(potential.dimension());
  const double U = potential.value_and_gradient(q, gradient);
  EXPECT_EQ(U, potential.value(q));
  EXPECT_TRUE(GradientMatchesCentralDifferences(potential, q, gradient));
}

// The twin that must fail: the likelihood part of the gradient scaled by 1 + 1e-6.
template <class PotentialT>
void expect_slightly_wrong_gradient_fails() {
  const Problem p = make_problem({Activation::erf, 2, 2, 0.3}, 99);
  PotentialT potential(p.spec, p.data);
  const Eigen::VectorXd q = coordinates<PotentialT>(p);
  Eigen::VectorXd gradient(potential.dimension());
  potential.value_and_gradient(q, gradient);
  const Eigen::VectorXd wrong = q + (1.0 + 1e-6) * (gradient - q);
  EXPECT_FALSE(GradientMatchesCentralDifferences(potential, q, wrong));
}

std::string case_name(const ::testing::TestParamInfo<PosteriorCase>& info) {
  const PosteriorCase& c = info.param;
  return std::string(core::activation_name(c.activation)) + "_L" + std::to_string(c.depth) + "_D" +
         std::to_string(c.outputs) + (c.bias_variance > 0.0 ? "_bias" : "_nobias");
}

class FullPosteriorGradient : public ::testing::TestWithParam<PosteriorCase> {};
TEST_P(FullPosteriorGradient, MatchesCentralDifferences) {
  expect_gradient_matches_central_differences<FullPosterior>(GetParam());
}
INSTANTIATE_TEST_SUITE_P(AllArchitectures, FullPosteriorGradient, ::testing::ValuesIn(all_cases()), case_name);

class CollapsedPosteriorGradient : public ::testing::TestWithParam<PosteriorCase> {};
TEST_P(CollapsedPosteriorGradient, MatchesCentralDifferences) {
  expect_gradient_matches_central_differences<CollapsedPosterior>(GetParam());
}
INSTANTIATE_TEST_SUITE_P(AllArchitectures, CollapsedPosteriorGradient, ::testing::ValuesIn(all_cases()), case_name);

TEST(FullPosterior, GradientCheckDetectsARelativeErrorOfOnePartInAMillion) {
  expect_slightly_wrong_gradient_fails<FullPosterior>();
}

TEST(CollapsedPosterior, GradientCheckDetectsARelativeErrorOfOnePartInAMillion) {
  expect_slightly_wrong_gradient_fails<CollapsedPosterior>();
}

TEST(CollapsedPosterior, NeedsNoJitterForWellConditionedKernels) {
  for (const PosteriorCase& c : all_cases()) {
    const Problem p = make_problem(c, static_cast<std::uint64_t>(c.depth * 10 + c.outputs));
    CollapsedPosterior potential(p.spec, p.data);
    EXPECT_TRUE(std::isfinite(potential.value(p.theta_hidden)));
    EXPECT_EQ(potential.last_jitter(), 0.0);
  }
}

TEST(CollapsedPosterior, ValueEqualsFullPotentialIntegratedOverReadout) {
  // THEORY.md §1.5, for N_L < P, = P and > P (P = 4, N_L = 4, 3, 5), with and without bias:
  //  (a) log ∫ N(ŵ; 0, I) e^{−‖Φ̃ŵ − y‖²/(2κ)} dŵ in closed form on the N×N side,
  //      −½ log det M + ½ bᵀM⁻¹b − ‖y‖²/(2κ), M = I + Φ̃ᵀΦ̃/κ, b = Φ̃ᵀy/κ;
  //  (b) (P/2) log(2πκ) + log N(y; 0, C + κI) on the P×P side (determinant lemma);
  //  (c) the potential: Σ_k (a)_k = −U + ½‖θ_h‖² + (P D/2) log κ.
  for (const PosteriorCase& c : all_cases()) {
    if (c.activation != Activation::tanh) continue;
    SCOPED_TRACE(std::to_string(c.depth) + " " + std::to_string(c.outputs) + " " + std::to_string(c.bias_variance));
    Problem p = make_problem(c, 200 + static_cast<std::uint64_t>(c.depth), 4);
    CollapsedPosterior potential(p.spec, p.data);
    const double U = potential.value(p.theta_hidden);
    const Eigen::MatrixXd tilde = augmented_features(potential.network());
    const double kappa = p.spec.kappa;
    const Eigen::Index P = tilde.rows();
    const SymmetricSolve M = eigen_solve(Eigen::MatrixXd::Identity(tilde.cols(), tilde.cols()) +
                                         tilde.transpose() * tilde / kappa);
    const SymmetricSolve K = eigen_solve(tilde * tilde.transpose() + kappa * Eigen::MatrixXd::Identity(P, P));
    double sum_n_side = 0.0;
    for (Eigen::Index k = 0; k < p.data.output_dim(); ++k) {
      const Eigen::VectorXd y = p.data.targets.col(k);
      const Eigen::VectorXd b = tilde.transpose() * y / kappa;
      const double n_side = -0.5 * M.log_det + 0.5 * b.dot(M.inverse * b) - y.squaredNorm() / (2.0 * kappa);
      const double log_normal = -0.5 * static_cast<double>(P) * std::log(2.0 * std::numbers::pi) -
                                0.5 * K.log_det - 0.5 * y.dot(K.inverse * y);
      const double p_side = 0.5 * static_cast<double>(P) * std::log(2.0 * std::numbers::pi * kappa) + log_normal;
      // Exact identity, eigen-decompositions of matrices with condition number < 1e3:
      // ≈ 1e-13 absolute; bound 1e-10.
      EXPECT_NEAR(n_side, p_side, 1e-10);
      sum_n_side += n_side;
    }
    const double from_potential = -U + 0.5 * p.theta_hidden.squaredNorm() +
                                  0.5 * static_cast<double>(P * p.data.output_dim()) * std::log(kappa);
    EXPECT_NEAR(from_potential, sum_n_side, 1e-10);
  }
}

TEST(CollapsedPosterior, ReadoutIntegralMatchesOneDimensionalQuadrature) {
  // One hidden neuron (N = 1), D = 1, no bias: the readout integral is one-dimensional,
  // ∫ N(w; 0, 1) e^{−‖a w − y‖²/(2κ)} dw with a = √(g_2/1) Φ, by adaptive Gauss–Kronrod.
  Problem p = make_problem({Activation::erf, 1, 1, 0.0}, 300, 4);
  p.spec.widths = {1};
  p.theta_hidden = p.theta_hidden.head(3).eval();
  CollapsedPosterior potential(p.spec, p.data);
  const double U = potential.value(p.theta_hidden);
  const Eigen::VectorXd a = augmented_features(potential.network()).col(0);
  const Eigen::VectorXd y = p.data.targets.col(0);
  const double kappa = p.spec.kappa;
  auto integrand = [&](double w) {
    return std::exp(-0.5 * w * w - (a * w - y).squaredNorm() / (2.0 * kappa)) / std::sqrt(2.0 * std::numbers::pi);
  };
  double error = 0.0;
  const double integral = boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
      integrand, -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(), 15, 1e-14,
      &error);
  const double from_potential = -U + 0.5 * p.theta_hidden.squaredNorm() + 2.0 * std::log(kappa);
  // Quadrature error estimate (relative, ≤ 1e-13 here) plus rounding of U (1e-13 relative);
  // bound 1e-11 + 10 × the estimate in log space.
  EXPECT_NEAR(std::log(integral), from_potential, 1e-11 + 10.0 * error / integral);
}

TEST(CollapsedPosterior, GradientEqualsReadoutAverageOfFullGradient) {
  // Fisher's identity: ∇U_collapsed(θ_h) = E_{ŵ | θ_h, Y}[∇_{θ_h} U_full(θ_h, ŵ)]. U_full is
  // quadratic in ŵ, so the average is exact: ∂/∂Φ averages to
  // (s/κ) Σ_k [Φ̃(Σ + μ_k μ_kᵀ) − y_k μ_kᵀ] restricted to the N weight columns (s = √(g/N)).
  for (double sb2 : {0.0, 0.3}) {
    Problem p = make_problem({Activation::tanh, 2, 2, sb2}, 400);
    CollapsedPosterior potential(p.spec, p.data);
    Eigen::VectorXd gradient(potential.dimension());
    potential.value_and_gradient(p.theta_hidden, gradient);
    const ReadoutMoments moments = potential.readout_moments(p.theta_hidden);
    const Eigen::MatrixXd tilde = augmented_features(potential.network());
    const Eigen::Index N = potential.network().features().cols();
    const double s = std::sqrt(p.spec.g(3) / static_cast<double>(N));
    Eigen::MatrixXd feature_gradient = Eigen::MatrixXd::Zero(tilde.rows(), N);
    for (Eigen::Index k = 0; k < p.data.output_dim(); ++k) {
      const Eigen::VectorXd& mu = moments.mean.col(k);
      const Eigen::MatrixXd second_moment = moments.covariance + mu * mu.transpose();
      feature_gradient += (s / p.spec.kappa) *
                          (tilde * second_moment - p.data.targets.col(k) * mu.transpose()).leftCols(N);
    }
    Network network = potential.network();
    Eigen::VectorXd expected(potential.dimension());
    network.backward_from_features(p.theta_hidden, feature_gradient, expected);
    expected += p.theta_hidden;
    // Two exact routes through 5×5 and 4×4 solves: ≈ 1e-14; bound 1e-10 absolute.
    EXPECT_LT((gradient - expected).cwiseAbs().maxCoeff(), 1e-10) << "sigma_b^2 = " << sb2;
  }
}

// Moments of the readout from their definition, by a dense inverse of the N×N precision.
ReadoutMoments direct_moments(const Eigen::MatrixXd& tilde, const Eigen::MatrixXd& Y, double kappa) {
  const Eigen::Index n = tilde.cols();
  ReadoutMoments m;
  m.covariance = (Eigen::MatrixXd::Identity(n, n) + tilde.transpose() * tilde / kappa).fullPivLu().inverse();
  m.mean = m.covariance * tilde.transpose() * Y / kappa;
  return m;
}

// Cases for both branches of the readout law: n = N_L + bias ≤ P (dense N×N form) and
// n > P (Woodbury form), P = 4.
std::vector<PosteriorCase> readout_cases() {
  return {{Activation::erf, 2, 2, 0.0}, {Activation::erf, 2, 2, 0.3},   // n = 3, 4 ≤ P
          {Activation::erf, 3, 2, 0.0}, {Activation::erf, 3, 2, 0.3}};  // n = 5, 6 > P
}

TEST(CollapsedPosterior, ReadoutMomentsMatchDirectInverseInBothBranches) {
  for (const PosteriorCase& c : readout_cases()) {
    SCOPED_TRACE(std::to_string(c.depth) + " " + std::to_string(c.bias_variance));
    Problem p = make_problem(c, 500, 4);
    CollapsedPosterior potential(p.spec, p.data);
    const ReadoutMoments moments = potential.readout_moments(p.theta_hidden);
    const ReadoutMoments expected =
        direct_moments(augmented_features(potential.network()), p.data.targets, p.spec.kappa);
    // Exact algebra (Woodbury / push-through identities) on condition numbers < 1e3: ≈ 1e-14; bound 1e-11.
    EXPECT_LT((moments.mean - expected.mean).cwiseAbs().maxCoeff(), 1e-11);
    EXPECT_LT((moments.covariance - expected.covariance).cwiseAbs().maxCoeff(), 1e-11);
  }
}

TEST(CollapsedPosterior, ConditionalMeanReadoutIsStationaryForTheFullPotential) {
  // The Gaussian conditional mean is its mode: at θ = (θ_h, μ) the readout block of ∇U_full
  // vanishes. Also checks the readout layout (w column-major N_L×D, then b_out).
  for (const PosteriorCase& c : readout_cases()) {
    Problem p = make_problem(c, 600, 4);
    CollapsedPosterior collapsed(p.spec, p.data);
    const ReadoutMoments moments = collapsed.readout_moments(p.theta_hidden);
    const ParameterLayout& layout = collapsed.layout();
    const Eigen::Index N = layout.readout_rows();
    Eigen::VectorXd theta(layout.size());
    theta.head(layout.hidden_size()) = p.theta_hidden;
    for (Eigen::Index k = 0; k < layout.outputs(); ++k) {
      theta.segment(layout.readout_offset() + k * N, N) = moments.mean.col(k).head(N);
      if (layout.has_biases()) theta(layout.output_bias_offset() + k) = moments.mean(N, k);
    }
    FullPosterior full(p.spec, p.data);
    Eigen::VectorXd gradient(full.dimension());
    full.value_and_gradient(theta, gradient);
    // Exact stationarity up to rounding of O(1) sums: bound 1e-12.
    EXPECT_LT(gradient.tail(layout.readout_size()).cwiseAbs().maxCoeff(), 1e-12);
  }
}

// The augmented readouts ŵ_k = (w_k, b_out,k) of output k from a readout block.
Eigen::VectorXd augmented_readout(const ParameterLayout& layout, const Eigen::VectorXd& readout, Eigen::Index k) {
  const Eigen::Index N = layout.readout_rows();
  Eigen::VectorXd out(N + (layout.has_biases() ? 1 : 0));
  out.head(N) = readout.segment(k * N, N);
  if (layout.has_biases()) out(N) = readout(N * layout.outputs() + k);
  return out;
}

// Compares the sample mean and covariance of `draws` (one per column) with `mean` and
// `covariance`: each entry within z standard errors estimated from the same draws.
// Returns the largest |z| seen.
double largest_z(const Eigen::MatrixXd& draws, const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance) {
  const double M = static_cast<double>(draws.cols());
  const Eigen::VectorXd sample_mean = draws.rowwise().mean();
  const Eigen::MatrixXd centred = draws.colwise() - sample_mean;
  double worst = 0.0;
  for (Eigen::Index i = 0; i < draws.rows(); ++i) {
    const double se = std::sqrt(centred.row(i).squaredNorm() / (M - 1.0) / M);
    worst = std::max(worst, std::abs(sample_mean(i) - mean(i)) / se);
    for (Eigen::Index j = 0; j <= i; ++j) {
      const Eigen::ArrayXd products = centred.row(i).array() * centred.row(j).array();
      const double estimate = products.sum() / (M - 1.0);
      const double se_cov = std::sqrt((products - products.mean()).square().sum() / (M - 1.0) / M);
      worst = std::max(worst, std::abs(estimate - covariance(i, j)) / se_cov);
    }
  }
  return worst;
}

TEST(CollapsedPosterior, ReadoutDrawsMatchConditionalMeanAndCovarianceInBothBranches) {
  // M = 20000 exact draws per case. Per case and output: n means and n(n+1)/2 covariances
  // for n = 3, 4, 5, 6, so k = 2 × (9 + 14 + 20 + 27) = 140 comparisons; each within the
  // Bonferroni z for a family-wise false-fail rate of 1e-4 (z ≈ 5.1), SE estimated from the
  // same draws. The twin: the covariance with 1/κ forgotten, (I + Φ̃ᵀΦ̃)⁻¹, must be
  // rejected by the same draws.
  constexpr Eigen::Index M = 20000;
  const double z = kernelmc::testing::bonferroni_z(1e-4, 140);
  std::uint64_t stream = 0;
  for (const PosteriorCase& c : readout_cases()) {
    SCOPED_TRACE(std::to_string(c.depth) + " " + std::to_string(c.bias_variance));
    Problem p = make_problem(c, 700, 4);
    CollapsedPosterior potential(p.spec, p.data);
    const ParameterLayout& layout = potential.layout();
    const ReadoutMoments moments = potential.readout_moments(p.theta_hidden);
    const Eigen::MatrixXd tilde = augmented_features(potential.network());
    const Eigen::Index n = tilde.cols();
    const Eigen::MatrixXd wrong_covariance =
        (Eigen::MatrixXd::Identity(n, n) + tilde.transpose() * tilde).fullPivLu().inverse();
    core::Engine engine = core::make_stream(32, core::StreamPurpose::readout_draw, 0, stream++);
    std::vector<Eigen::MatrixXd> draws(2, Eigen::MatrixXd(n, M));
    Eigen::VectorXd readout(layout.readout_size());
    for (Eigen::Index m = 0; m < M; ++m) {
      potential.draw_readout(p.theta_hidden, engine, readout);
      for (Eigen::Index k = 0; k < 2; ++k) draws[static_cast<std::size_t>(k)].col(m) = augmented_readout(layout, readout, k);
    }
    for (Eigen::Index k = 0; k < 2; ++k) {
      const Eigen::MatrixXd& d = draws[static_cast<std::size_t>(k)];
      EXPECT_LT(largest_z(d, moments.mean.col(k), moments.covariance), z) << "output " << k;
      EXPECT_GT(largest_z(d, moments.mean.col(k), wrong_covariance), z) << "twin, output " << k;
    }
  }
}

TEST(CholeskyWithJitter, SingularKernelNeedsTheFirstJitter) {
  // [[1, 1], [1, 1]] + 0·I: the second pivot is exactly 0; ε = 1e-10·tr(C)/P = 1e-10.
  Eigen::LLT<Eigen::MatrixXd> llt;
  EXPECT_EQ(cholesky_with_jitter(Eigen::MatrixXd::Ones(2, 2), 0.0, llt), 1e-10);
  EXPECT_EQ(llt.info(), Eigen::Success);
}

TEST(CholeskyWithJitter, IndefiniteOrNonFiniteKernelFails) {
  Eigen::LLT<Eigen::MatrixXd> llt;
  Eigen::MatrixXd C = Eigen::MatrixXd::Identity(2, 2);
  C(1, 1) = -1.0;  // eigenvalue −1 − ... far beyond ε_max = 1e-4·tr(C)/P
  EXPECT_TRUE(std::isnan(cholesky_with_jitter(C, 0.5, llt)));
  C(1, 1) = 1.0;
  C(1, 0) = std::nan("");
  EXPECT_TRUE(std::isnan(cholesky_with_jitter(C, 0.5, llt)));
}

TEST(CollapsedPosterior, NonFiniteParametersGiveInfiniteEnergyAndNaNGradient) {
  Problem p = make_problem({Activation::erf, 2, 1, 0.0}, 800);
  CollapsedPosterior potential(p.spec, p.data);
  p.theta_hidden(0) = std::nan("");
  Eigen::VectorXd gradient(potential.dimension());
  EXPECT_EQ(potential.value_and_gradient(p.theta_hidden, gradient), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(gradient.array().isNaN().all());
  EXPECT_TRUE(std::isnan(potential.last_jitter()));
  core::Engine engine = core::make_stream(33, core::StreamPurpose::test, 0, 0);
  Eigen::VectorXd readout(potential.layout().readout_size());
  EXPECT_THROW(potential.draw_readout(p.theta_hidden, engine, readout), NumericalError);
}

TEST(CollapsedPosterior, KernelsAreThoseOfTheNetwork) {
  Problem p = make_problem({Activation::relu, 3, 1, 0.3}, 900);
  CollapsedPosterior potential(p.spec, p.data);
  Network network(p.spec, p.data.inputs);
  const core::KernelStack expected = network.empirical_kernels(p.theta_hidden);
  const core::KernelStack kernels = potential.kernels(p.theta_hidden);
  ASSERT_EQ(kernels.top_layer(), 4);
  for (Eigen::Index l = 1; l <= 4; ++l) EXPECT_EQ(kernels.layer(l), expected.layer(l));
  EXPECT_EQ(potential.output_kernel(p.theta_hidden), expected.layer(4));
}

TEST(CollapsedPosterior, OutputCountMismatchThrowsDataErrorNamingTheField) {
  Problem p = make_problem({Activation::erf, 1, 2, 0.0}, 1000);
  p.spec.output_dim = 3;
  try {
    CollapsedPosterior potential(p.spec, p.data);
    FAIL() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("model.output_dim = 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kernelmc::sampling
