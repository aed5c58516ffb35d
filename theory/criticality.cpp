#include "theory/criticality.hpp"

#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/tools/roots.hpp>
#include <boost/math/tools/toms748_solve.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>

#include "core/error.hpp"
#include "theory/gaussian_expectations.hpp"

namespace kernelmc::theory {

namespace {

using core::Activation;

// ⟨φ^{(i)}(h) φ^{(j)}(h)⟩, h ~ N(0, q): closed forms (THEORY.md §2, diagonal special
// cases) for linear, erf and ReLU; adaptive Gauss–Kronrod on the real line for tanh.
double single_input(Activation activation, PairMoment moment, double q) {
  if (activation != Activation::tanh) return pair_expectation(activation, moment, q, q, q, true, 0.0);
  const int i = moment == PairMoment::phi_phi ? 0 : moment == PairMoment::dphi_dphi ? 1 : 2;
  const int j = moment == PairMoment::dphi_dphi ? 1 : 0;
  const double r = std::sqrt(q);
  auto f = [&](double z) {
    return activation_derivative_of_order(activation, i, r * z) *
           activation_derivative_of_order(activation, j, r * z) * std::exp(-0.5 * z * z) *
           std::numbers::inv_sqrtpi / std::numbers::sqrt2;
  };
  const double inf = std::numeric_limits<double>::infinity();
  return boost::math::quadrature::gauss_kronrod<double, 61>::integrate(f, -inf, inf, 15, 1e-14);
}

// φ'(0)², the slope of q ↦ ⟨φ²⟩_q at 0 for odd φ (erf 4/π, tanh 1).
double slope_at_zero(Activation activation) {
  const double d = core::activation_derivative(activation, 0.0);
  return d * d;
}

// TOMS 748 to near machine precision; throws NumericalError if the bracket fails.
template <class F>
double find_root(const F& f, double lo, double hi, const char* what) {
  std::uintmax_t iterations = 200;
  const auto [a, b] = boost::math::tools::toms748_solve(f, lo, hi, boost::math::tools::eps_tolerance<double>(50),
                                                        iterations);
  if (iterations >= 200)
    throw NumericalError(std::string(what) + ": no convergence after 200 TOMS 748 iterations, bracket [" +
                         std::to_string(a) + ", " + std::to_string(b) + "]");
  return 0.5 * (a + b);
}

double saturating_fixed_point(Activation activation, double g, double bias_variance) {
  if (bias_variance > 0.0) {
    // F(0) = σ_b² > 0 and F(σ_b² + g) < 0 because ⟨φ²⟩ < 1 (|φ| < 1).
    return find_root([&](double q) { return length_map(activation, g, bias_variance, q) - q; }, 0.0,
                     bias_variance + g, "length-map fixed point");
  }
  if (g * slope_at_zero(activation) <= 1.0) return 0.0;  // q = 0 is stable
  // The positive root of g⟨φ²⟩_q/q − 1: > 0 as q → 0+, < 0 at q = g.
  return find_root(
      [&](double q) { return g * single_input(activation, PairMoment::phi_phi, q) / q - 1.0; },
      1e-12 * g, g, "length-map fixed point");
}

}  // namespace

double length_map(core::Activation activation, double g, double bias_variance, double q) {
  return bias_variance + g * single_input(activation, PairMoment::phi_phi, q);
}

CriticalityPoint criticality_point(core::Activation activation, double g, double bias_variance) {
  const double inf = std::numeric_limits<double>::infinity();
  switch (activation) {
    case Activation::linear:
    case Activation::relu: {
      const double chi = activation == Activation::linear ? g : 0.5 * g;  // q' = σ_b² + χ q
      double q_star = inf;
      if (chi < 1.0) q_star = bias_variance / (1.0 - chi);
      else if (chi == 1.0 && bias_variance == 0.0) q_star = 0.0;
      return {q_star, chi, chi};
    }
    case Activation::erf:
    case Activation::tanh: {
      const double q = saturating_fixed_point(activation, g, bias_variance);
      const double dd = single_input(activation, PairMoment::dphi_dphi, q);
      const double ddphi_phi = single_input(activation, PairMoment::ddphi_phi, q);
      // THEORY.md §6.1: χ_∥ = g⟨φ'² + φφ''⟩, χ_⊥ = g⟨φ'²⟩.
      return {q, g * (dd + ddphi_phi), g * dd};
    }
  }
  return {NAN, NAN, NAN};
}

double edge_of_chaos_g(core::Activation activation, double bias_variance) {
  switch (activation) {
    case Activation::linear: return 1.0;
    case Activation::relu: return 2.0;
    case Activation::erf:
    case Activation::tanh: break;
  }
  const double g0 = 1.0 / slope_at_zero(activation);  // σ_b² = 0: χ_⊥ = gφ'(0)² at q* = 0
  if (bias_variance == 0.0) return g0;
  auto excess = [&](double g) { return criticality_point(activation, g, bias_variance).chi_perpendicular - 1.0; };
  // χ_⊥ → 0 as g → 0; the upper end doubles until χ_⊥ > 1.
  double hi = g0;
  while (excess(hi) <= 0.0) {
    hi *= 2.0;
    if (hi > 1e6)
      throw NumericalError("edge_of_chaos_g: chi_perpendicular stays below 1 up to g = 1e6 at bias_variance = " +
                           std::to_string(bias_variance));
  }
  return find_root(excess, 1e-6 * g0, hi, "edge of chaos");
}

}  // namespace kernelmc::theory
