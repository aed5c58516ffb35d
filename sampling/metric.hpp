#pragma once
// Euclidean metric with a diagonal mass matrix M: kinetic energy K(p) = ½ pᵀM⁻¹p and
// momenta p ~ N(0, M). The metric stores M⁻¹ (Stan's inv_e_metric_), which warmup sets
// to the estimated posterior variances (metric_adaptation.hpp); the unit metric is
// M⁻¹ = I, and a diagonal metric starts there.
#include <Eigen/Core>

#include "core/rng.hpp"
#include "core/settings/sampler.hpp"

namespace kernelmc::sampling {

using core::MetricKind;  // unit | diagonal, the [sampler] metric of core/config.hpp

class Metric {
 public:
  // The unit metric on ℝ^dimension.
  explicit Metric(Eigen::Index dimension);
  // The diagonal metric with M⁻¹ = diag(inverse_mass); every entry positive and finite.
  explicit Metric(const Eigen::Ref<const Eigen::VectorXd>& inverse_mass);

  Eigen::Index dimension() const { return inverse_mass_.size(); }
  // diag(M⁻¹).
  const Eigen::VectorXd& inverse_mass() const { return inverse_mass_; }
  void set_inverse_mass(const Eigen::Ref<const Eigen::VectorXd>& inverse_mass);

  // K(p) = ½ pᵀM⁻¹p.
  double kinetic_energy(const Eigen::Ref<const Eigen::VectorXd>& p) const;
  // dq/dt = ∂K/∂p = M⁻¹p (Stan's dtau_dp, the "sharp" momentum of NUTS), written into
  // `velocity` (sized like p).
  void velocity(const Eigen::Ref<const Eigen::VectorXd>& p, Eigen::Ref<Eigen::VectorXd> velocity) const;
  // p ~ N(0, M): p_i = ξ_i / √(M⁻¹_ii), with ξ drawn by core::fill_standard_normal.
  void sample_momentum(core::Engine& engine, Eigen::Ref<Eigen::VectorXd> p) const;

 private:
  Eigen::VectorXd inverse_mass_;
};

}  // namespace kernelmc::sampling
