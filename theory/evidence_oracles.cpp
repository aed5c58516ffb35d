#include "theory/evidence_oracles.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/tools/minima.hpp>
#include <cmath>
#include <numbers>
#include <string>

#include "core/error.hpp"
#include "theory/deep_linear_oracles.hpp"

namespace kernelmc::theory {

namespace {

constexpr double kLogTwoPi = 1.8378770664093454836;  // log 2π
// The t = log u window ends where the log-integrand has dropped by kWindowDrop below its
// maximum: the neglected mass is below e^{−50} ≈ 2e-22 of the total.
constexpr double kWindowDrop = 50.0;
constexpr int kKronrodMaxDepth = 20;
constexpr double kQuadratureTolerance = 1e-12;
// Largest accepted error estimate of the integral, relative.
constexpr double kAcceptedError = 1e-9;

// log of the integrand in t = log u, log[Gamma(e^t; N/2, 2/N) e^t] + log N(z; 0, g e^t Λ + κ)
// (z = Vᵀy in the eigenbasis K₀ = VΛVᵀ), split as constant() + varying(t) with
//   constant = (N/2) log(N/2) − lgamma(N/2) − N/2 − (P/2) log 2π,
//   varying  = −(N/2)(e^t − 1 − t) − ½ Σ_a [z_a²/(g e^t λ_a + κ) + log(g e^t λ_a + κ)],
// so that no large constant cancels inside the integrand (N = 10⁵ would lose 1e-10 to it).
struct LogIntegrand {
  double half_n;               // N/2
  double gain;                 // g_2
  double kappa;                // κ
  Eigen::VectorXd eigenvalues; // Λ (clipped at 0)
  Eigen::VectorXd z2;          // (Vᵀy)²

  double constant() const {
    return half_n * std::log(half_n) - std::lgamma(half_n) - half_n - 0.5 * static_cast<double>(z2.size()) * kLogTwoPi;
  }
  double varying(double t) const {
    const Eigen::ArrayXd variance = gain * std::exp(t) * eigenvalues.array() + kappa;
    return -half_n * (std::expm1(t) - t) - 0.5 * (z2.array() / variance + variance.log()).sum();
  }
};

// The first point t_max + step·2^k (k = 0, 1, …) where f < f_max − kWindowDrop. f is
// log-concave Gamma factor dominates both tails, so [lower, upper] holds all but e^{−50}.
template <class F>
double window_edge(const F& f, double t_max, double f_max, double step) {
  for (int k = 0; k < 64; ++k, step *= 2.0) {
    if (f.varying(t_max + step) < f_max - kWindowDrop) return t_max + step;
  }
  throw NumericalError("deep_linear_one_layer_log_evidence: no window edge from log u = " + std::to_string(t_max));
}

}  // namespace

double gaussian_log_density(const Eigen::Ref<const Eigen::VectorXd>& y,
                            const Eigen::Ref<const Eigen::MatrixXd>& covariance) {
  const Eigen::LDLT<Eigen::MatrixXd> ldlt(covariance);
  const double log_det = ldlt.vectorD().array().log().sum();
  return -0.5 * y.dot(ldlt.solve(y)) - 0.5 * log_det - 0.5 * static_cast<double>(y.size()) * kLogTwoPi;
}

LinearGaussianPosterior bayesian_linear_regression(const Eigen::Ref<const Eigen::MatrixXd>& design,
                                                   const Eigen::Ref<const Eigen::VectorXd>& targets,
                                                   double kappa) {
  if (!(kappa > 0.0 && std::isfinite(kappa)))
    throw ConfigError("bayesian_linear_regression.kappa = " + std::to_string(kappa) + ": must be positive and finite");
  if (design.rows() != targets.size() || !design.allFinite() || !targets.allFinite())
    throw DataError("bayesian_linear_regression: design has " + std::to_string(design.rows()) +
                    " rows and targets " + std::to_string(targets.size()) + " entries; they must agree and be finite");
  const Eigen::Index n = design.cols();
  const double P = static_cast<double>(design.rows());
  Eigen::MatrixXd precision = Eigen::MatrixXd::Identity(n, n);
  precision.noalias() += design.transpose() * design / kappa;
  const Eigen::LLT<Eigen::MatrixXd> llt(precision);
  LinearGaussianPosterior result;
  result.mean = llt.solve(design.transpose() * targets / kappa);
  result.covariance = llt.solve(Eigen::MatrixXd::Identity(n, n));
  const double log_det_precision = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  result.log_evidence = -0.5 * P * (kLogTwoPi + std::log(kappa)) - 0.5 * targets.squaredNorm() / kappa +
                        0.5 * result.mean.dot(precision * result.mean) - 0.5 * log_det_precision;
  return result;
}

double deep_linear_one_layer_log_evidence(const core::ModelSpec& spec,
                                          const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                          const Eigen::Ref<const Eigen::VectorXd>& targets) {
  check_deep_linear_inputs(spec, input_kernel, targets);
  if (spec.depth() != 1)
    throw ConfigError("model.depth = " + std::to_string(spec.depth()) +
                      ": deep_linear_one_layer_log_evidence needs one hidden layer (L = 1)");
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(input_kernel);
  LogIntegrand f{0.5 * static_cast<double>(spec.width(1)), spec.g(2), spec.kappa,
                 eigen.eigenvalues().cwiseMax(0.0), (eigen.eigenvectors().transpose() * targets).array().square().matrix()};
  // The maximum of the log-integrand (unimodal: log-concave Gamma factor in t, and the
  // likelihood factor varies slowly), found by Brent on a window wide enough for any data.
  const auto negative = [&f](double t) { return -f.varying(t); };
  const auto [t_max, negative_max] = boost::math::tools::brent_find_minima(negative, -40.0, 40.0, 52);
  const double f_max = -negative_max;
  // First step: the Laplace width 1/√((N/2)e^t) of the Gamma factor at the maximum.
  const double laplace_width = 1.0 / std::sqrt(f.half_n * std::exp(t_max));
  const double lower = window_edge(f, t_max, f_max, -laplace_width);
  const double upper = window_edge(f, t_max, f_max, laplace_width);
  double error = 0.0;
  const double integral = boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
      [&](double t) { return std::exp(f.varying(t) - f_max); }, lower, upper, kKronrodMaxDepth,
      kQuadratureTolerance, &error);
  if (!(integral > 0.0) || !(error <= kAcceptedError * integral))
    throw NumericalError("deep_linear_one_layer_log_evidence: quadrature error " + std::to_string(error) +
                         " for integral " + std::to_string(integral) + " (relative limit 1e-9)");
  return f.constant() + f_max + std::log(integral);
}

}  // namespace kernelmc::theory
