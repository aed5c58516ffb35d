#pragma once
// The tempered posterior of the SMC route (THEORY.md §1.4–1.5), without touching the base
// potential. Every potential of kernelmc has the form U(θ) = ½‖θ‖² − ℓ(θ) + c: raw
// parameters i.i.d. N(0, 1) a priori, ℓ a log-likelihood, c a constant the potential drops.
// The tempered potential at inverse temperature β ∈ [0, 1] is
//   U_β(θ) = (1 − β)·½‖θ‖² + β·U(θ) = ½‖θ‖² − β(ℓ(θ) − c),   ∇U_β = (1 − β)θ + β∇U,
// so e^{−U_β} ∝ N(θ; 0, I) L(θ)^β: the prior at β = 0, the posterior at β = 1.
//
// The log-likelihood with every constant is log L(θ) = ½‖θ‖² − U(θ) + offset. For the
// collapsed posterior (sampling/collapsed_posterior.hpp), U drops exactly the Gaussian
// normalisation of N(Y; 0, C + κI), so offset = −(P·D/2) log 2π
// (collapsed_log_likelihood_offset) and L(θ) = N(Y; 0, C^(L+1)(θ) + κI), whose prior mean
// is the evidence Z (THEORY.md §1.5, kernel-space form).
#include <Eigen/Core>
#include <memory>

#include "sampling/potential.hpp"

namespace kernelmc::sampling {

// −(P·D/2) log 2π: log N(Y; 0, C + κI) − (½‖θ_h‖² − U_collapsed(θ_h)) for P points, D outputs.
double collapsed_log_likelihood_offset(Eigen::Index points, Eigen::Index outputs);

class TemperedPotential final : public Potential {
 public:
  // Keeps its own clone of `base`. β must lie in [0, 1].
  TemperedPotential(const Potential& base, double beta);

  void set_beta(double beta);
  double beta() const { return beta_; }

  Eigen::Index dimension() const override { return base_->dimension(); }
  // U_β(θ); at β = 0 the base is not evaluated (the prior energy is always finite).
  double value(const Eigen::Ref<const Eigen::VectorXd>& q) override;
  double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& q,
                            Eigen::Ref<Eigen::VectorXd> gradient) override;
  std::unique_ptr<Potential> clone() const override;

  // log L(θ) = ½‖θ‖² − U(θ) + offset from the base potential; −inf where U is +inf or NaN
  // (the particle has no likelihood there).
  double log_likelihood(const Eigen::Ref<const Eigen::VectorXd>& q, double offset);

 private:
  std::unique_ptr<Potential> base_;
  double beta_;
};

}  // namespace kernelmc::sampling
