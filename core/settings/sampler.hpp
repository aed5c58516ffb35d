#pragma once
// The [sampler] section of Config: the MCMC algorithm (SamplerKind), its metric
// (MetricKind) and its warmup.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <string_view>

namespace kernelmc::core {

enum class MetricKind {
  unit,      // M = I, never adapted
  diagonal,  // M⁻¹ = diagonal of the posterior variances, estimated during warmup
};
std::string_view metric_kind_name(MetricKind kind);
MetricKind parse_metric_kind(std::string_view name, std::string_view field = "sampler.metric");

enum class SamplerKind {
  hmc,                   // static HMC: leapfrog trajectory of fixed length + Metropolis
  nuts,                  // No-U-Turn sampler, multinomial (Stan's base_nuts)
  mala,                  // Metropolis-adjusted Langevin
  underdamped_langevin,  // OBABO with Metropolised BAB (GHMC), or unadjusted BAOAB
  overdamped_langevin,   // unadjusted Euler–Maruyama (ULA): biased by O(h)
};
std::string_view sampler_kind_name(SamplerKind kind);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
SamplerKind parse_sampler_kind(std::string_view name, std::string_view field = "sampler.kind");

// [sampler]: the MCMC algorithm and its warmup. Plain aggregate (STYLE.md §5).
struct SamplerSettings {
  SamplerKind kind = SamplerKind::nuts;        // Stan's default algorithm
  MetricKind metric = MetricKind::diagonal;    // Stan's default metric, diag_e
  // ε of the leapfrog (hmc, nuts, underdamped) or h of the Langevin step θ ← θ − hM⁻¹∇U
  // + √(2h) M^{-1/2}ξ (mala, overdamped). With adapt_step_size it is only the start of
  // the heuristic search. 1 is Stan's default stepsize.
  double step_size = 1.0;
  // hmc: trajectory length T; L = max(1, ⌊T/ε⌋) leapfrog steps (as Stan's base_static_hmc).
  // π/2 is a quarter period of a unit-variance Gaussian direction, the shape the adapted
  // metric gives the target: there an exact trajectory maps q to an independent draw.
  // Stan's default, 2π, is a full period there and returns the chain to its start (on
  // such periodicity see Neal 2011, "MCMC using Hamiltonian dynamics", §5.4).
  double integration_time = 1.5707963267948966;
  int max_tree_depth = 10;          // nuts: at most 2^10 − 1 leapfrog steps; Stan's default
  // Divergence threshold on H − H₀ (Stan's base_nuts max_deltaH_ = 1000); applied to the
  // proposals of every Metropolised sampler.
  double max_energy_error = 1000.0;
  // underdamped: γ in dp = −∇U dt − γ p dt + √(2γ) M^{1/2} dW. γ = 1 is underdamped for a
  // unit-variance Gaussian (critical damping is γ = 2), so momentum persists for ~1 time
  // unit, as in Horowitz's GHMC.
  double friction = 1.0;
  // underdamped: true = OBABO whose BAB core is Metropolis-corrected, with a momentum flip
  // on rejection (Horowitz 1991, GHMC): exact. false = unadjusted BAOAB (Leimkuhler &
  // Matthews 2013): exact positions for Gaussian targets, O(h²) bias otherwise.
  bool metropolis_correction = true;
  // Dual averaging during warmup; must be false for samplers without an acceptance
  // statistic (overdamped, and underdamped without metropolis_correction).
  bool adapt_step_size = true;
  double target_accept = 0.8;  // δ; Hoffman & Gelman 2014; Stan's default adapt delta
  double adapt_gamma = 0.05;   // γ of dual averaging; Hoffman & Gelman 2014 §3.2; Stan
  double adapt_kappa = 0.75;   // κ, the averaging exponent t^{−κ}; Hoffman & Gelman; Stan
  double adapt_t0 = 10.0;      // t0, damping of the first iterations; Hoffman & Gelman; Stan
  Eigen::Index adapt_init_buffer = 75;  // warmup transitions before the first window; Stan
  Eigen::Index adapt_term_buffer = 50;  // warmup transitions after the last window; Stan
  Eigen::Index adapt_base_window = 25;  // length of the first window (then doubling); Stan
  bool operator==(const SamplerSettings&) const = default;
};

void validate(const SamplerSettings& settings);

}  // namespace kernelmc::core
