#pragma once
// The [posterior] section of Config: how the posterior is computed (PosteriorRoute,
// CrossCheckRoute), which posterior a chain samples (PosteriorForm), and what is kept.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <string_view>
#include <vector>

#include "core/settings/sampler.hpp"

namespace kernelmc::core {

// Which posterior of THEORY.md §1 a chain samples.
enum class PosteriorForm {
  full,       // §1.4: all raw parameters θ (hidden, biases, readout)
  collapsed,  // §1.5: hidden parameters θ_h, readout integrated out
};
// "full", "collapsed".
std::string_view posterior_form_name(PosteriorForm form);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
PosteriorForm parse_posterior_form(std::string_view name, std::string_view field = "posterior.form");

// How the posterior of [posterior] is computed (sampling/importance_posterior.hpp,
// sampling/smc_posterior.hpp, sampling/chain_runner.hpp).
enum class PosteriorRoute {
  automatic,   // "auto": importance while its PSIS k̂ ≤ 0.7, tempered SMC otherwise
  importance,  // exact prior networks weighted by N(Y; 0, C^(L+1) + κI), self-normalised
  smc,         // tempered SMC over the hidden weights, β: 0 → 1
  chains,      // MCMC chains (config.sampler) on the collapsed or full posterior
};
// "auto", "importance", "smc", "chains".
std::string_view posterior_route_name(PosteriorRoute route);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
PosteriorRoute parse_posterior_route(std::string_view name, std::string_view field = "posterior.route");

// A second route `kernelmc validate` runs beside posterior.route, reporting their agreement.
enum class CrossCheckRoute { none, importance, smc, chains };
// "none", "importance", "smc", "chains".
std::string_view cross_check_route_name(CrossCheckRoute route);
CrossCheckRoute parse_cross_check_route(std::string_view name, std::string_view field = "posterior.cross_check");

// [posterior]: the posterior run of `kernelmc sample` and of every width of `kernelmc validate`.
struct PosteriorSettings {
  // auto: importance sampling resolves ΔC from the same draws as E_prior (its error does
  // not include the O(1) fluctuation of two independent means) while its weights are
  // trustworthy (k̂ ≤ 0.7), tempered SMC beyond.
  PosteriorRoute route = PosteriorRoute::automatic;
  CrossCheckRoute cross_check = CrossCheckRoute::none;
  // importance: M exact prior networks, cut into B contiguous batches for batch-means
  // errors (B − 1 dof). The SE of N·ŷᵀΔCŷ on Config B is ≈ 1.3e-4 at M = 4·10⁵ (measured),
  // so M = 2·10⁵ gives ≈ 2e-4 in a few seconds.
  Eigen::Index importance_networks = 200000;
  Eigen::Index importance_batches = 20;
  // smc: particles per run, independent runs (the errors: R − 1 dof), the ESS/n target
  // of each tempering step (0.5: Jasra et al. 2011), move transitions per step, the move
  // kernel (hmc or mala), its first step size, HMC trajectory length, and the acceptance
  // the population step size is steered to (0.65, Beskos et al. 2013 for HMC).
  Eigen::Index smc_particles = 512;
  Eigen::Index smc_replicates = 4;
  double smc_ess_fraction = 0.5;
  Eigen::Index smc_rejuvenation_steps = 5;
  SamplerKind smc_move = SamplerKind::hmc;
  double smc_step_size = 0.2;
  double smc_integration_time = 1.0;
  double smc_target_accept = 0.65;
  // chains: MCMC chains (sampling::ChainSettings takes its defaults from these four).
  static constexpr Eigen::Index kDefaultChains = 4;     // Stan's default; split R̂ gets eight halves
  static constexpr Eigen::Index kDefaultWarmup = 1000;  // Stan's default num_warmup
  static constexpr Eigen::Index kDefaultDraws = 1000;   // Stan's default num_samples
  static constexpr Eigen::Index kDefaultThin = 1;
  Eigen::Index chains = kDefaultChains;
  Eigen::Index warmup = kDefaultWarmup;
  Eigen::Index draws = kDefaultDraws;  // kept draws per chain
  Eigen::Index thin = kDefaultThin;    // keep every thin-th sampling transition
  // Collapsed by default: the same marginal law of θ_h (THEORY.md §1.5, test V7), without
  // the readout coordinates, whose coupling to the output scale slows the full chain.
  PosteriorForm form = PosteriorForm::collapsed;
  // collapsed: complete every kept draw with an exact readout draw, so that the network
  // output F at the training inputs is reported too (the full form always reports it).
  bool draw_readout = false;
  // Batch-means batches per chain for the kernel entries' MCSE (sampling/kernel_observables).
  Eigen::Index batches = 10;
  // Keep every kernel entry's draws (per-entry R̂ and ESS, and written draws) while
  // K·L·draws·chains ≤ this many values, K = P(P+1)/2: 1e7 doubles are 80 MB. Beyond,
  // entries get batch-means errors only, and the report says so.
  double max_entry_draw_values = 1e7;
  bool write_draws = false;    // write the draws as .npy files with a JSON manifest
  // Layers l (2..L+1) whose kernel draws are written; empty: every layer. Checked against
  // the model when the run starts (posterior.draw_layers[i]).
  std::vector<Eigen::Index> draw_layers = {};
  bool operator==(const PosteriorSettings&) const = default;
};

void validate(const PosteriorSettings& settings);

}  // namespace kernelmc::core
