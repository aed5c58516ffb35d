#pragma once
// Integrators of Hamiltonian and Langevin dynamics for H(q, p) = U(q) + ½ pᵀM⁻¹p.
// The leapfrog is Stan's expl_leapfrog: half kick, drift, half kick, one line each.
// The Langevin splittings compose the same steps with the exact Ornstein–Uhlenbeck
// momentum update O (Leimkuhler & Matthews 2013, "Rational construction of stochastic
// numerical methods for molecular sampling"): B = kick, A = drift, O = friction + noise.
//
// None of these functions checks for non-finite values: a NaN or ±inf potential simply
// propagates, and the sampler that called them rejects the step and counts a divergence.
#include <Eigen/Core>

#include "core/rng.hpp"
#include "sampling/metric.hpp"
#include "sampling/phase_point.hpp"
#include "sampling/potential.hpp"

namespace kernelmc::sampling {

// The phase point at q, with U(q), ∇U(q) evaluated and p = 0. Throws NumericalError if
// U(q) or ∇U(q) is not finite: a chain cannot start where the density vanishes.
PhasePoint make_phase_point(Potential& potential, const Eigen::Ref<const Eigen::VectorXd>& q);

// Recomputes z.potential = U(z.q) and z.gradient = ∇U(z.q). A non-finite gradient sets
// z.potential to NaN, so the samplers' energy check sees it as a divergence.
void update_potential_gradient(PhasePoint& z, Potential& potential);

// H(z) = U(q) + K(p).
double hamiltonian(const PhasePoint& z, const Metric& metric);

// B: p ← p − ε ∇U(q).
void kick(PhasePoint& z, double epsilon);
// A without the new gradient: q ← q + ε M⁻¹p (z.potential and z.gradient become stale).
void move_position(PhasePoint& z, const Metric& metric, double epsilon);
// A: q ← q + ε M⁻¹p, then U and ∇U at the new q (Stan's update_q).
void drift(PhasePoint& z, const Metric& metric, Potential& potential, double epsilon);
// O: p ← c p + √(1 − c²) M^{1/2} ξ with ξ ~ N(0, I) and c = exp(−friction·duration),
// the exact solution of dp = −γ p dt + √(2γ) M^{1/2} dW over `duration`; it leaves
// N(0, M) invariant.
void ornstein_uhlenbeck(PhasePoint& z, const Metric& metric, double friction, double duration,
                        core::Engine& engine);

// One leapfrog step of size ε (Stan's base_leapfrog::evolve). Time-reversible and
// symplectic; the energy error is O(ε²) over a fixed time.
void leapfrog(PhasePoint& z, const Metric& metric, Potential& potential, double epsilon);

// One Euler–Maruyama step of overdamped Langevin dq = −D∇U dt + √2 D^{1/2} dB, D = M⁻¹:
// to.q = from.q − h D∇U(from.q) + √(2h) D^{1/2} ξ with ξ ~ N(0, I), then U and ∇U at to.q
// (to.p is copied from `from`). The proposal of MALA and the step of ULA.
void euler_maruyama(const PhasePoint& from, PhasePoint& to, const Metric& metric, Potential& potential,
                    double h, core::Engine& engine);

// One BAOAB step of size h: B(h/2) A(h/2) O(h) A(h/2) B(h/2). On a Gaussian target its
// positions are exactly Gaussian-distributed with the right covariance for every h in
// the stable range (Leimkuhler & Matthews 2013); the momenta carry an O(h²) bias.
void baoab(PhasePoint& z, const Metric& metric, Potential& potential, double h, double friction,
           core::Engine& engine);

}  // namespace kernelmc::sampling
