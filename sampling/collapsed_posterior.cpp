#include "sampling/collapsed_posterior.hpp"

#include <cassert>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "sampling/detail/gemm.hpp"

namespace kernelmc::sampling {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();
// First jitter relative to the mean diagonal tr(C)/P (THEORY.md §1.5, §9.6).
constexpr double kFirstRelativeJitter = 1e-10;
// Up to this many points the kernel form forms A = (C + κI)⁻¹ for AΦ (see value_and_gradient).
constexpr Eigen::Index kMaxPointsForExplicitInverse = 16;

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

namespace {

// The jitter loop of cholesky_with_jitter on M = C + κI: ε starts at kFirstRelativeJitter
// times `mean_diagonal` (tr(C)/P of the output kernel in either form).
double cholesky_with_relative_jitter(const Eigen::Ref<const Eigen::MatrixXd>& C, double kappa,
                                     double mean_diagonal, Eigen::LLT<Eigen::MatrixXd>& llt) {
  if (!std::isfinite(mean_diagonal)) return kNaN;
  const Eigen::Index n = C.rows();
  double jitter = 0.0;
  for (int retry = 0; retry <= kMaxJitterRetries; ++retry) {
    llt.compute(C + (kappa + jitter) * Eigen::MatrixXd::Identity(n, n));
    // A non-finite entry below the diagonal passes LLT's pivot test and shows up as a
    // non-finite factor; jitter cannot repair it.
    if (!llt.matrixLLT().diagonal().allFinite()) return kNaN;
    if (llt.info() == Eigen::Success) return jitter;
    jitter = retry == 0 ? kFirstRelativeJitter * mean_diagonal : 10.0 * jitter;
  }
  return kNaN;
}

}  // namespace

double cholesky_with_jitter(const Eigen::Ref<const Eigen::MatrixXd>& C, double kappa,
                            Eigen::LLT<Eigen::MatrixXd>& llt) {
  return cholesky_with_relative_jitter(C, kappa, C.trace() / static_cast<double>(C.rows()), llt);
}

CollapsedPosterior::CollapsedPosterior(const core::ModelSpec& spec, const core::Dataset& data)
    : network_(spec, data.inputs), targets_(data.targets), kappa_(spec.kappa),
      feature_count_(spec.width(spec.depth()) + (spec.bias_variance > 0.0 ? 1 : 0)),
      whitened_(data.size(), data.output_dim()), ay_(data.size(), data.output_dim()),
      feature_grad_(data.size(), spec.width(spec.depth())),
      cross_(data.output_dim(), spec.width(spec.depth())) {
  // The potentials see the targets, the Network only X: their shape is checked here.
  core::check_target_columns(spec, data.targets);
  set_solve_form(SolveForm::automatic);
}

void CollapsedPosterior::set_solve_form(SolveForm form) {
  const Eigen::Index P = network_.points();
  const Eigen::Index n = feature_count_;
  feature_form_ = form == SolveForm::automatic && P > n;
  // Workspaces of the chosen form only. Eigen's LLT leaves its `info` enum uninitialised
  // until compute(); copying the posterior (Potential::clone, one per chain) would read it,
  // which UBSan reports. A factorisation of the identity gives it a defined state.
  const Eigen::Index m = feature_form_ ? n : P;
  kernel_.resize(m, m);
  llt_.compute(Eigen::MatrixXd::Identity(m, m));
  inverse_.resize(!feature_form_ && P <= kMaxPointsForExplicitInverse ? P : 0,
                  !feature_form_ && P <= kMaxPointsForExplicitInverse ? P : 0);
  tilde_.resize(feature_form_ ? P : 0, feature_form_ ? n : 0);
  a_tilde_.resize(tilde_.rows(), tilde_.cols());
  mu_.resize(feature_form_ ? n : 0, targets_.cols());
}

double CollapsedPosterior::value(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  network_.forward_hidden(theta_hidden);
  const double fit = feature_form_ ? factor_in_feature_form() : factor_in_kernel_form();
  if (std::isnan(jitter_)) return kInfinity;
  return 0.5 * theta_hidden.head(dimension()).squaredNorm() + fit;
}

double CollapsedPosterior::factor_in_kernel_form() {
  // C = σ_b² 𝟏𝟏ᵀ + (g/N) ΦΦᵀ, lower triangle only (all the factorisation reads).
  const Eigen::MatrixXd& Phi = network_.features();
  kernel_.setConstant(network_.spec().bias_variance);
  detail::rank_update(output_scale(), Phi, detail::Op::none, kernel_);
  jitter_ = cholesky_with_jitter(kernel_, kappa_, llt_);
  if (std::isnan(jitter_)) return kNaN;
  // THEORY.md §1.5: tr YᵀAY = ‖L⁻¹Y‖², log det(C + κI) = 2 Σ log L_aa.
  whitened_ = targets_;
  llt_.matrixL().solveInPlace(whitened_);
  const double log_det = 2.0 * llt_.matrixLLT().diagonal().array().log().sum();
  return 0.5 * whitened_.squaredNorm() + 0.5 * static_cast<double>(targets_.cols()) * log_det;
}

double CollapsedPosterior::factor_in_feature_form() {
  // C = Φ̃Φ̃ᵀ with Φ̃ = [√(g/N) Φ, σ_b 𝟏] (P×n, n < P). With M = κI_n + Φ̃ᵀΦ̃ = LLᵀ and
  // μ = M⁻¹Φ̃ᵀY: A = (C + κI_P)⁻¹ = (I − Φ̃M⁻¹Φ̃ᵀ)/κ, so AY = (Y − Φ̃μ)/κ,
  // tr YᵀAY = κ‖AY‖² + ‖μ‖² (two non-negative terms), and
  // log det(C + κI_P) = (P − n) log κ + 2 Σ log L_aa.
  fill_augmented_features(tilde_);
  kernel_.setZero();
  detail::rank_update(1.0, tilde_, detail::Op::transpose, kernel_);
  const double P = static_cast<double>(tilde_.rows());
  jitter_ = cholesky_with_relative_jitter(kernel_, kappa_, kernel_.trace() / P, llt_);
  if (std::isnan(jitter_)) return kNaN;
  const double kappa = kappa_ + jitter_;
  detail::gemm(1.0, tilde_, detail::Op::transpose, targets_, detail::Op::none, mu_);
  llt_.solveInPlace(mu_);
  ay_ = targets_;
  ay_.noalias() -= tilde_ * mu_;
  ay_ /= kappa;
  const double n = static_cast<double>(tilde_.cols());
  const double log_det = (P - n) * std::log(kappa) + 2.0 * llt_.matrixLLT().diagonal().array().log().sum();
  return 0.5 * (kappa * ay_.squaredNorm() + mu_.squaredNorm()) +
         0.5 * static_cast<double>(targets_.cols()) * log_det;
}

double CollapsedPosterior::value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden,
                                              Eigen::Ref<Eigen::VectorXd> gradient) {
  const double U = value(theta_hidden);
  if (!std::isfinite(U)) {
    gradient.setConstant(kNaN);
    return U;
  }
  // THEORY.md §1.5 gradient: ∂U/∂Φ = −(2g/N) G Φ = (g/N)(D·AΦ − AY (AY)ᵀΦ).
  const Eigen::MatrixXd& Phi = network_.features();
  const double D = static_cast<double>(targets_.cols());
  const double c = output_scale();
  if (feature_form_) {
    // AΦ̃ = Φ̃M⁻¹ = Φ̃L⁻ᵀL⁻¹ (push-through), and AΦ = (AΦ̃)_{:,1..N}/√c.
    a_tilde_ = tilde_;
    llt_.matrixU().solveInPlace<Eigen::OnTheRight>(a_tilde_);
    llt_.matrixL().solveInPlace<Eigen::OnTheRight>(a_tilde_);
    feature_grad_ = (std::sqrt(c) * D) * a_tilde_.leftCols(Phi.cols());
  } else {
    // AY = L⁻ᵀ(L⁻¹Y). AΦ by two triangular solves, or, for a handful of points, as the
    // product of A = L⁻ᵀL⁻¹ (P×P, P solves) with Φ: at P = 4 Eigen's blocked solve of N
    // right-hand sides costs three times the whole product.
    ay_ = whitened_;
    llt_.matrixU().solveInPlace(ay_);
    if (Phi.rows() <= kMaxPointsForExplicitInverse) {
      inverse_.setIdentity();
      llt_.solveInPlace(inverse_);
      detail::gemm(c * D, inverse_, detail::Op::none, Phi, detail::Op::none, feature_grad_);
    } else {
      feature_grad_ = Phi;
      llt_.solveInPlace(feature_grad_);
      feature_grad_ *= c * D;
    }
  }
  cross_.noalias() = ay_.transpose() * Phi;
  feature_grad_.noalias() -= c * ay_ * cross_;
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

void CollapsedPosterior::fill_augmented_features(Eigen::Ref<Eigen::MatrixXd> tilde) const {
  const Eigen::Index N = layout().readout_rows();
  tilde.leftCols(N) = std::sqrt(output_scale()) * network_.features();
  if (layout().has_biases()) tilde.col(N).setConstant(std::sqrt(network_.spec().bias_variance));
}

Eigen::MatrixXd CollapsedPosterior::augmented_features(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  network_.forward_hidden(theta_hidden);
  Eigen::MatrixXd tilde(network_.points(), feature_count_);
  fill_augmented_features(tilde);
  return tilde;
}

double CollapsedPosterior::factorize_or_throw(const char* what) {
  assert(!feature_form_);  // callers draw through C only when n > P: the kernel form
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
