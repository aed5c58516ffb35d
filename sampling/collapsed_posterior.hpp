#pragma once
// The collapsed posterior of THEORY.md §1.5: the readout (w, b_out) integrated out
// analytically, leaving a potential over the hidden parameters θ_h only (the prefix
// θ.head(hidden_size()) of sampling/parameter_layout.hpp):
//
//   U(θ_h) = ½‖θ_h‖² − ℓ(C),   ℓ(C) = −½ tr YᵀAY − (D/2) log det(C + κI),   A = (C + κI)⁻¹,
//
// with C = C^(L+1) = σ_b² 𝟏𝟏ᵀ + (g_{L+1}/N_L) ΦΦᵀ the output kernel (the σ_b² term is the
// output bias integrated out). It is the full potential of sampling/full_posterior.hpp
// integrated over the readout, up to a θ-independent constant:
//
//   U(θ_h) = −log ∫ e^{−U_full(θ_h, w, b_out)} d(w, b_out) + (n D/2) log 2π + (P D/2) log κ,
//
// n = N_L + [σ_b² > 0]. Gradient (unsymmetrised convention, §9.1): G = ∂ℓ/∂C =
// ½(AYYᵀA − D·A), ∂ℓ/∂Φ = (2g_{L+1}/N_L) G Φ, then ordinary backprop through the hidden
// layers. A is never formed. Two forms, chosen by shape (SolveForm::automatic):
//   kernel form (P ≤ n): C by a symmetric rank update, Cholesky of C + κI_P, AY and AΦ by
//     triangular solves: O(P²n + P³);
//   feature form (P > n): with Φ̃ = [√(g/N) Φ, σ_b 𝟏] (C = Φ̃Φ̃ᵀ) and M = κI_n + Φ̃ᵀΦ̃,
//     the push-through identities (C + κI_P)⁻¹Φ̃ = Φ̃M⁻¹ and
//     log det(C + κI_P) = (P − n) log κ + log det M make every solve n×n: O(Pn² + n³).
//
// Jitter policy: C + κI (in the feature form M, with the same ε) is factorised with Eigen's LLT. If that fails (a non-positive
// pivot), it is retried with C + (κ + ε)I, ε = 1e-10·tr(C)/P, then ×10 per retry up to
// ε = 1e-4·tr(C)/P (kMaxJitterRetries retries). If every attempt fails, or the kernel is
// not finite, the potential returns +inf (a divergence for the sampler, not an
// exception) and the gradient is filled with NaN. last_jitter() reports the ε used.
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <memory>

#include "core/dataset.hpp"
#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"
#include "sampling/network.hpp"
#include "sampling/potential.hpp"

namespace kernelmc::sampling {

// Retries of the jitter policy above: ε = 1e-10·tr(C)/P · 10^k, k = 0..6.
inline constexpr int kMaxJitterRetries = 7;

// Factorises C + (κ + ε)I into `llt` (only the lower triangle of C is read) by the
// jitter policy above. Returns the ε used (0 when none was needed), or NaN when every
// attempt failed or the factor is not finite.
double cholesky_with_jitter(const Eigen::Ref<const Eigen::MatrixXd>& C, double kappa,
                            Eigen::LLT<Eigen::MatrixXd>& llt);

// The Gaussian law of the readout given θ_h (THEORY.md §1.5), in the augmented
// coordinates ŵ_k = (w_k, b_out,k) of output k (n = N_L + [σ_b² > 0] entries each):
// ŵ_k ~ N(mean.col(k), covariance), Σ = (I + Φ̃ᵀΦ̃/κ)⁻¹, μ_k = Σ Φ̃ᵀ y_k/κ, where
// Φ̃ = [√(g_{L+1}/N_L) Φ, σ_b 𝟏] (so C = Φ̃Φ̃ᵀ). Without biases this is the §1.5 formula.
struct ReadoutMoments {
  Eigen::MatrixXd mean;        // μ, n×D
  Eigen::MatrixXd covariance;  // Σ, n×n (shared by all outputs)
};

class CollapsedPosterior final : public Potential {
 public:
  // automatic: the feature form when P > n, else the kernel form (see above); kernel: the
  // kernel form always (the two agree to rounding; tests compare them).
  enum class SolveForm { automatic, kernel };

  // `spec` and `data` are validated (core::validate); their shapes must agree
  // (d = model.input_dim, D = model.output_dim), else DataError naming both.
  CollapsedPosterior(const core::ModelSpec& spec, const core::Dataset& data);

  Eigen::Index dimension() const override { return network_.layout().hidden_size(); }
  double value(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) override;
  double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden,
                            Eigen::Ref<Eigen::VectorXd> gradient) override;
  std::unique_ptr<Potential> clone() const override;
  void set_threads(int threads) override { network_.set_threads(threads); }

  void set_solve_form(SolveForm form);
  bool uses_feature_form() const { return feature_form_; }

  // ε added to C + κI in the last evaluation: 0 normally, NaN if it failed (U = +inf).
  double last_jitter() const { return jitter_; }
  const Network& network() const { return network_; }
  const ParameterLayout& layout() const { return network_.layout(); }

  // C^(L+1) of θ_h, and all kernels C^(1..L+1) (θ may also be the full vector).
  Eigen::MatrixXd output_kernel(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden);
  core::KernelStack kernels(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden);

  // The exact conditional law of the readout given θ_h (see ReadoutMoments).
  // Throws NumericalError if its matrix cannot be factorised (non-finite Φ).
  ReadoutMoments readout_moments(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden);
  // One exact draw of (w, b_out) | θ_h, Y, written into `readout` (size
  // layout().readout_size(), in the layout of θ.tail(readout_size())), so that
  // (θ_h, readout) is a draw of the full posterior when θ_h is one of the collapsed.
  // Cost O(P²n + P³) for n > P (Woodbury form through C + κI: the exact
  // algorithm of Bhattacharya, Chakraborty & Mallick 2016, Biometrika 103, 985) and O(Pn² + n³)
  // otherwise (Cholesky of Σ⁻¹). Throws NumericalError as readout_moments.
  void draw_readout(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden, core::Engine& engine,
                    Eigen::Ref<Eigen::VectorXd> readout);

 private:
  // Runs forward_hidden, returns Φ̃ (P×n) of θ_h.
  Eigen::MatrixXd augmented_features(const Eigen::Ref<const Eigen::VectorXd>& theta_hidden);
  // Φ̃ of the last forward pass into `tilde` (P×n).
  void fill_augmented_features(Eigen::Ref<Eigen::MatrixXd> tilde) const;
  // g_{L+1}/N_L, the scale of ΦΦᵀ in C.
  double output_scale() const {
    return network_.spec().g(layout().depth() + 1) / static_cast<double>(layout().readout_rows());
  }
  // From the last forward pass: factorises in the chosen form (sets jitter_) and returns
  // ½ tr YᵀAY + (D/2) log det(C + κI), or NaN when the factorisation failed.
  double factor_in_kernel_form();
  double factor_in_feature_form();
  // Factorises C + κI of the last forward pass into llt_ (jitter policy; kernel form);
  // NumericalError if it fails. Returns κ + ε.
  double factorize_or_throw(const char* what);

  Network network_;
  Eigen::MatrixXd targets_;        // Y, P×D
  double kappa_;                   // κ
  Eigen::Index feature_count_;     // n = N_L + [σ_b² > 0]
  bool feature_form_ = false;      // the form of value() and value_and_gradient()
  double jitter_ = 0.0;            // ε of the last evaluation
  Eigen::MatrixXd kernel_;         // kernel form: C (lower), P×P; feature form: Φ̃ᵀΦ̃ (lower), n×n
  Eigen::LLT<Eigen::MatrixXd> llt_;  // of C + (κ + ε)I_P, or of M = (κ + ε)I_n + Φ̃ᵀΦ̃
  Eigen::MatrixXd tilde_;          // feature form: Φ̃, P×n
  Eigen::MatrixXd a_tilde_;        // feature form: AΦ̃ = Φ̃M⁻¹, P×n
  Eigen::MatrixXd mu_;             // feature form: M⁻¹Φ̃ᵀY, n×D
  Eigen::MatrixXd whitened_;       // kernel form: L⁻¹Y, P×D
  Eigen::MatrixXd inverse_;        // kernel form, P ≤ 16: A = (C + κI)⁻¹, P×P
  Eigen::MatrixXd ay_;             // AY, P×D
  Eigen::MatrixXd feature_grad_;   // AΦ, then ∂U/∂Φ, P×N_L
  Eigen::MatrixXd cross_;          // YᵀAΦ, D×N_L
};

}  // namespace kernelmc::sampling
