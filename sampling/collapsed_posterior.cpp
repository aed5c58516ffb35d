#include "sampling/collapsed_posterior.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace kernelmc::sampling {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();
// First jitter relative to the mean diagonal tr(C)/P (THEORY.md §1.5, §9.6).
constexpr double kFirstRelativeJitter = 1e-10;

// Writes the augmented readout (n×D, column k = (w_k, b_out,k)) into the readout block.
void scatter_readout(const Eigen::MatrixXd& augmented, const ParameterLayout& layout,
                     Eigen::Ref<Eigen::VectorXd> readout) {
  const Eigen::Index N = layout.readout_rows();
  const Eigen::Index D = layout.outputs();
  Eigen::Map<Eigen::MatrixXd>(readout.data(), N, D) = augmented.topRows(N);
  if (layout.has_biases()) readout.tail(D) = augmented.row(N).transpose();
}

// Cholesky of Σ⁻¹ = I + Φ̃ᵀΦ̃/κ (eigenvalues ≥ 1, so it fails only on non-finite Φ̃).
Eigen::LLT<Eigen::MatrixXd> readout_precision_factor(const Eigen::MatrixXd& tilde, double kappa,
                                                     const char* what) {
  Eigen::MatrixXd precision = Eigen::MatrixXd::Identity(tilde.cols(), tilde.cols());
  precision.noalias() += tilde.transpose() * tilde / kappa;
  Eigen::LLT<Eigen::MatrixXd> factor(precision);
  if (factor.info() != Eigen::Success || !factor.matrixLLT().allFinite())
    throw NumericalError(std::string(what) +
                         ": Cholesky of I + Phi~' Phi~ / kappa failed (non-finite features)");
  return factor;
}

}  // namespace

double cholesky_with_jitter(const Eigen::Ref<const Eigen::MatrixXd>& C, double kappa,
                            Eigen::LLT<Eigen::MatrixXd>& llt) {
  const Eigen::Index P = C.rows();
  const double mean_diagonal = C.trace() / static_cast<double>(P);
  if (!std::isfinite(mean_diagonal)) return kNaN;
  double jitter = 0.0;
  for (int retry = 0; retry <= kMaxJitterRetries; ++retry) {
    llt.compute(C + (kappa + jitter) * Eigen::MatrixXd::Identity(P, P));
    // A non-finite entry below the diagonal passes LLT's pivot test and shows up as a
    // non-finite factor; jitter cannot repair it.
    if (!llt.matrixLLT().diagonal().allFinite()) return kNaN;
    if (llt.info() == Eigen::Success) return jitter;
    jitter = retry == 0 ? kFirstRelativeJitter * mean_diagonal : 10.0 * jitter;
  }
  return kNaN;
}

CollapsedPosterior::CollapsedPosterior(const core::ModelSpec& spec, const core::Dataset& data)
    : network_(spec, data.inputs), targets_(data.targets), kappa_(spec.kappa),
      kernel_(data.size(), data.size()), llt_(data.size()),
      whitened_(data.size(), data.output_dim()), ay_(data.size(), data.output_dim()),
      feature_grad_(data.size(), spec.width(spec.depth())),
      cross_(data.output_dim(), spec.width(spec.depth())) {
  // The potentials see the targets, the Network only X: their shape is checked here.
  core::check_target_columns(spec, data.targets);
  // Eigen's LLT leaves its `info` enum uninitialised until compute(); copying the posterior
  // (Potential::clone, one per chain) would read it, which UBSan reports. A factorisation
  // of the identity gives the workspace a defined state.
  llt_.compute(Eigen::MatrixXd::Identity(data.size(), data.size()));
}

double CollapsedPosterior::value(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  network_.forward_hidden(theta_hidden);
  network_.kernel_above(network_.layout().depth(), kernel_);
  jitter_ = cholesky_with_jitter(kernel_, kappa_, llt_);
  if (std::isnan(jitter_)) return kInfinity;
  // THEORY.md §1.5: tr YᵀAY = ‖L⁻¹Y‖², log det(C + κI) = 2 Σ log L_aa.
  whitened_ = targets_;
  llt_.matrixL().solveInPlace(whitened_);
  const double log_det = 2.0 * llt_.matrixLLT().diagonal().array().log().sum();
  const double D = static_cast<double>(targets_.cols());
  return 0.5 * theta_hidden.head(dimension()).squaredNorm() + 0.5 * whitened_.squaredNorm() +
         0.5 * D * log_det;
}

double CollapsedPosterior::value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden,
                                              Eigen::Ref<Eigen::VectorXd> gradient) {
  const double U = value(theta_hidden);
  if (!std::isfinite(U)) {
    gradient.setConstant(kNaN);
    return U;
  }
  // THEORY.md §1.5 gradient: ∂U/∂Φ = −(2g/N) G Φ = (g/N)(D·AΦ − AY (AY)ᵀΦ), from the
  // Cholesky factor (AY = L⁻ᵀ L⁻¹ Y, AΦ by two triangular solves).
  const Eigen::MatrixXd& Phi = network_.features();
  const double D = static_cast<double>(targets_.cols());
  const double g_over_n = network_.spec().g(layout().depth() + 1) / static_cast<double>(Phi.cols());
  ay_ = whitened_;
  llt_.matrixU().solveInPlace(ay_);
  feature_grad_ = Phi;
  llt_.solveInPlace(feature_grad_);
  cross_.noalias() = ay_.transpose() * Phi;
  feature_grad_ *= D;
  feature_grad_.noalias() -= ay_ * cross_;
  feature_grad_ *= g_over_n;
  network_.backward_from_features(theta_hidden, feature_grad_, gradient);
  gradient += theta_hidden.head(dimension());
  return U;
}

std::unique_ptr<Potential> CollapsedPosterior::clone() const {
  return std::make_unique<CollapsedPosterior>(*this);
}

Eigen::MatrixXd CollapsedPosterior::output_kernel(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  network_.forward_hidden(theta_hidden);
  Eigen::MatrixXd C(network_.points(), network_.points());
  network_.kernel_above(layout().depth(), C);
  return C;
}

core::KernelStack CollapsedPosterior::kernels(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  return network_.empirical_kernels(theta_hidden);
}

Eigen::MatrixXd CollapsedPosterior::augmented_features(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  network_.forward_hidden(theta_hidden);
  const ParameterLayout& lay = layout();
  const Eigen::Index N = lay.readout_rows();
  const double g = network_.spec().g(lay.depth() + 1);
  Eigen::MatrixXd tilde(network_.points(), N + (lay.has_biases() ? 1 : 0));
  tilde.leftCols(N) = std::sqrt(g / static_cast<double>(N)) * network_.features();
  if (lay.has_biases()) tilde.col(N).setConstant(std::sqrt(network_.spec().bias_variance));
  return tilde;
}

double CollapsedPosterior::factorize_or_throw(const char* what) {
  network_.kernel_above(layout().depth(), kernel_);
  jitter_ = cholesky_with_jitter(kernel_, kappa_, llt_);
  if (std::isnan(jitter_))
    throw NumericalError(std::string(what) +
                         ": Cholesky of C + kappa I failed even with jitter (non-finite or "
                         "indefinite output kernel)");
  return kappa_ + jitter_;
}

ReadoutMoments CollapsedPosterior::readout_moments(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  const Eigen::MatrixXd tilde = augmented_features(theta_hidden);
  const Eigen::Index n = tilde.cols();
  ReadoutMoments moments;
  if (n > tilde.rows()) {
    // Woodbury (push-through): Σ = I − Φ̃ᵀAΦ̃, μ = Φ̃ᵀAY with A = (C + κI)⁻¹.
    factorize_or_throw("readout_moments");
    const Eigen::MatrixXd a_tilde = llt_.solve(tilde);
    moments.mean.noalias() = a_tilde.transpose() * targets_;
    moments.covariance = Eigen::MatrixXd::Identity(n, n);
    moments.covariance.noalias() -= tilde.transpose() * a_tilde;
  } else {
    const Eigen::LLT<Eigen::MatrixXd> factor = readout_precision_factor(tilde, kappa_, "readout_moments");
    moments.covariance = factor.solve(Eigen::MatrixXd::Identity(n, n));
    moments.mean = factor.solve(tilde.transpose() * targets_ / kappa_);
  }
  return moments;
}

void CollapsedPosterior::draw_readout(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden,
                                      core::Engine& engine, Eigen::Ref<Eigen::VectorXd> readout) {
  const Eigen::Index D = targets_.cols();
  const Eigen::MatrixXd tilde = augmented_features(theta_hidden);
  const Eigen::Index P = tilde.rows();
  const Eigen::Index n = tilde.cols();
  Eigen::MatrixXd augmented(n, D);
  if (n > P) {
    // Bhattacharya et al. 2016: u ~ N(0, I_n), e ~ N(0, I_P), ŵ = u + Φ̃ᵀA(y − Φ̃u − √κ e)
    // has mean Φ̃ᵀAy and covariance I − Φ̃ᵀAΦ̃ = Σ exactly.
    const double kappa_used = factorize_or_throw("draw_readout");
    core::fill_standard_normal(engine, augmented);
    Eigen::MatrixXd residual = targets_ - std::sqrt(kappa_used) * core::standard_normal_matrix(engine, P, D);
    residual.noalias() -= tilde * augmented;
    llt_.solveInPlace(residual);
    augmented.noalias() += tilde.transpose() * residual;
  } else {
    // Σ⁻¹ = LLᵀ: ŵ = μ + L⁻ᵀz, z ~ N(0, I_n), has covariance (LLᵀ)⁻¹ = Σ.
    const Eigen::LLT<Eigen::MatrixXd> factor = readout_precision_factor(tilde, kappa_, "draw_readout");
    core::fill_standard_normal(engine, augmented);
    factor.matrixU().solveInPlace(augmented);
    augmented += factor.solve(tilde.transpose() * targets_ / kappa_);
  }
  scatter_readout(augmented, layout(), readout);
}

}  // namespace kernelmc::sampling
