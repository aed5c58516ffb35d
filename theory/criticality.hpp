#pragma once
// Mean-field criticality of the single-input length map (THEORY.md §6.1–6.2):
//   q' = σ_b² + g ⟨φ(h)²⟩_q,  h ~ N(0, q),
// its stable fixed point q*, the susceptibilities χ_∥ = dq'/dq = g⟨φ'² + φφ''⟩_{q*} and
// χ_⊥ = χ₁ = g⟨φ'²⟩_{q*}, and the edge of chaos g_c(σ_b²) where χ_⊥ = 1.
#include "core/activation.hpp"

namespace kernelmc::theory {

struct CriticalityPoint {
  double q_star;             // q*, the stable fixed point of the length map (+∞ if q diverges)
  double chi_parallel;       // χ_∥ at q*
  double chi_perpendicular;  // χ_⊥ = χ₁ at q*
};

// q' = σ_b² + g⟨φ²⟩_q, the length map itself.
double length_map(core::Activation activation, double g, double bias_variance, double q);

// The fixed point reached from any q > 0 and the χ's there.
// erf, tanh: σ_b² > 0 gives the unique root of q = σ_b² + g⟨φ²⟩_q (TOMS 748 root
// finding, Boost.Math); at σ_b² = 0, q* = 0 for g ≤ 1/φ'(0)² (erf π/4, tanh 1), else the
// positive root. linear (ReLU): q* = σ_b²/(1 − g) (σ_b²/(1 − g/2)) below criticality;
// 0 at criticality with σ_b² = 0 (every q is then a fixed point: scale invariance); +∞
// otherwise. For linear and ReLU the χ's do not depend on q: g and g/2.
CriticalityPoint criticality_point(core::Activation activation, double g, double bias_variance);

// g_c(σ_b²), where χ_⊥(q*(g)) = 1 (TOMS 748 on g for erf and tanh; 1/φ'(0)² at σ_b² = 0,
// i.e. π/4 for erf and 1 for tanh). linear: 1; ReLU: 2 (χ = g/2 at every q).
double edge_of_chaos_g(core::Activation activation, double bias_variance);

}  // namespace kernelmc::theory
