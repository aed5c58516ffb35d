#pragma once
// Exact posterior of a deep linear network over its output scale (THEORY.md §7).
//
// Integrating the layers from the readout downwards (§3.2), f | weights ~ N(0, s K₀) with
//   s = G ∏_{k=1}^{L} u_k,  G = ∏_{l=2}^{L+1} g_l,  u_k i.i.d. χ²_N/N = Gamma(N/2, scale 2/N).
// For L = 1 this is s = (g_2/N)‖w‖², w the raw readout: given w, f = √(g_2/N) h w with the
// N columns of h i.i.d. N(0, K₀), so f ~ N(0, (g_2/N)‖w‖² K₀). Hence, exactly at finite N, P:
//   p(u_1..u_L | y) ∝ ∏_k u_k^{N/2−1} e^{−N u_k/2} · N(y; 0, s K₀ + κI)      (§7.1).
// This file integrates that density (finite N) and solves its proportional-limit saddle.
// Same input conventions as theory/deep_linear_oracles.hpp (ModelSpec of a deep linear
// network, K₀ = C^(1) given); κ = spec.kappa > 0, y ∈ ℝ^P.
#include <Eigen/Core>

#include "core/model_spec.hpp"

namespace kernelmc::theory {

// How the L-dimensional integral over t_k = log u_k is done.
enum class ScaleIntegration {
  automatic,              // product_gauss_kronrod for L ≤ 2, log_scale_convolution for L ≥ 3
  product_gauss_kronrod,  // tensor composite 61-point Gauss–Kronrod (Boost.Math nodes) in
                          // (t_1..t_L); error = |Kronrod − Gauss-30|; (61·panels)^L
                          // likelihood evaluations, so only L ≤ 2 is accepted
  log_scale_convolution,  // exact density of τ = Σ t_k as the L-fold convolution of the
                          // log-Gamma density on a uniform grid (trapezoid rule, spectrally
                          // accurate for these smooth, rapidly decaying densities);
                          // error = |grid h − grid 2h|; any L
};

struct ScaleIntegrationSettings {
  ScaleIntegration method = ScaleIntegration::automatic;
  // Refine (panels or grid points doubled) until the error estimates of E[s|y] and
  // Var[s|y] are below this fraction of their values.
  double relative_tolerance = 1e-10;
};

// The posterior of s (THEORY.md §7.1, test V9), finite N and P.
struct ScalePosterior {
  double mean = 0.0;            // E[s | y]
  double variance = 0.0;        // Var[s | y]
  double mean_error = 0.0;      // error estimate of `mean` (absolute)
  double variance_error = 0.0;  // error estimate of `variance` (absolute)
};
// Throws ConfigError for a bad spec or setting (scale_integration.relative_tolerance,
// scale_integration.method), DataError for bad K₀ (not PSD) or y, NumericalError if the
// tolerance is not reached at the finest resolution.
ScalePosterior deep_linear_scale_posterior(const core::ModelSpec& spec,
                                           const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                           const Eigen::Ref<const Eigen::VectorXd>& targets,
                                           const ScaleIntegrationSettings& settings = {});

// L = 1 only (ConfigError otherwise), THEORY.md §7.2 (test V8):
//   E[C^(2) | y] = g(1 − 1/N)K₀ + (g/N) E_{s|y}[(m_s m_sᵀ + Σ_s)/s],   g = g_2,
//   m_s = sK₀A_s y, Σ_s = sK₀ − s²K₀A_sK₀, A_s = (sK₀ + κI)⁻¹,
// from E[C^(2) | f, w] = g(1 − 1/N)K₀ + g ffᵀ/(N s) and f | s, y ~ N(m_s, Σ_s).
struct OneHiddenLayerPosterior {
  ScalePosterior scale;
  Eigen::MatrixXd mean_kernel;  // E[C^(2) | y], P×P
  double kernel_error = 0.0;    // error estimate, max over entries (absolute)
};
OneHiddenLayerPosterior one_hidden_layer_posterior(
    const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
    const Eigen::Ref<const Eigen::VectorXd>& targets, const ScaleIntegrationSettings& settings = {});

// The proportional-limit (P = αN → ∞) saddle of THEORY.md §7.1 (BPKR):
//   u = 1 + (s/N)[yᵀAK₀Ay − tr(AK₀)],  A = (sK₀ + κI)⁻¹,  s = G u^L,
// solved for log u by bracketed root finding (Boost toms748). Every root is a stationary
// point of the profile log-density L·(N/2)(log u − u) + log N(y; 0, sK₀ + κI); when there
// are several, the one with the largest profile wins. At κ → 0 (K₀ invertible) it tends
// to u = 1 − α + α r₀/s with r₀ = yᵀK₀⁻¹y/P.
struct ScaleSaddle {
  double u = 1.0;             // common saddle value of the u_k
  double scale = 1.0;         // s* = G u^L
  int stationary_points = 0;  // roots of the saddle equation found (usually 1)
};
// Throws NumericalError if no root is found (non-finite data), besides the input errors.
ScaleSaddle deep_linear_scale_saddle(const core::ModelSpec& spec,
                                     const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                     const Eigen::Ref<const Eigen::VectorXd>& targets);

}  // namespace kernelmc::theory
