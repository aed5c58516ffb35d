#pragma once
// MCMC chains on a Potential (Stan's services/sample with callbacks, STYLE.md §1, §9):
// C chains in parallel (OpenMP over chains), each with
//   - its own clone of the potential (its workspace) and its own sampler;
//   - an initial point drawn from the prior of the raw parameters, q₀ ~ N(0, I)
//     (THEORY.md §1.2), from core::make_stream(seed, chain_init, width, chain);
//   - every transition's random numbers from make_stream(seed, chain_momentum, width, chain);
//   - Stan-style warmup (Sampler::begin_warmup / end_warmup, sampler.hpp), then draws·thin
//     sampling transitions of which every thin-th is kept and handed to the chain's
//     DrawRecorder.
// A chain can keep its partial state (core::PartialStateStore): at its safe points, after
// each warmup transition and after each kept draw, when the store says a save is due, it
// saves the transitions done, the phase point, its engine, the sampler's state
// (Sampler::save_state), its ChainResult so far and its recorder's state; a chain whose store
// holds such a state continues from it and ends with the bits of an uninterrupted chain.
// Chain c touches only its own streams, sampler, recorder and result, so the run is
// bit-identical for any number of threads (STYLE.md §6). No exception leaves the
// parallel region: the error of the lowest failing chain is rethrown after it. Nothing
// here opens a file: draws go to recorders, progress to a callback.
//
// For the posteriors of THEORY.md §1.4–1.5 (PosteriorForm): the full posterior samples
// all raw parameters θ; the collapsed posterior samples θ_h, and a ReadoutCompletion in
// front of the recorder can complete each kept θ_h with an exact readout draw, so that
// recorders see draws of the full posterior in both forms.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/checkpoint_io.hpp"
#include "core/rng.hpp"
#include "core/settings/posterior.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/potential.hpp"
#include "sampling/sampler.hpp"

namespace kernelmc::sampling {

// How many chains, how long, and which streams.
struct ChainSettings {
  // The defaults of [posterior] (Stan's): split R̂ needs at least two chains (Vehtari et al. 2021).
  Eigen::Index chains = core::PosteriorSettings::kDefaultChains;  // C
  Eigen::Index warmup = core::PosteriorSettings::kDefaultWarmup;  // adaptive transitions before sampling
  Eigen::Index draws = core::PosteriorSettings::kDefaultDraws;    // kept draws per chain
  Eigen::Index thin = core::PosteriorSettings::kDefaultThin;      // keep every thin-th (draws·thin in all)
  std::uint64_t seed = 0;      // the seed of every stream
  std::uint64_t stream_width = 0;  // the `width` id of every stream (N_1 for a network)
  // The chains run are first_chain, …, first_chain + chains − 1 (their stream index and
  // ChainResult::chain), so a part of a larger run (a shard of `kernelmc validate`)
  // reproduces those chains of the full run bit for bit.
  Eigen::Index first_chain = 0;
  bool operator==(const ChainSettings&) const = default;
};

// Throws ConfigError naming `<section>.chains`, `.warmup`, `.draws` or `.thin`, its
// value and the rule: chains, draws, thin ≥ 1, warmup, first_chain ≥ 0.
void validate(const ChainSettings& settings, std::string_view section = "posterior");

// The kept draws of one chain, in order, on the thread that runs the chain.
class DrawRecorder {
 public:
  virtual ~DrawRecorder() = default;
  // Kept draw `index` = 0..draws−1: the position θ after transition (index + 1)·thin of
  // the sampling phase. `theta` is only valid during the call.
  virtual void record(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>& theta) = 0;
  // Everything the recorder has accumulated, and that read back into a recorder built like
  // it: a chain's partial state. The default throws Error (the recorder keeps no
  // checkpoint); only a chain with a PartialStateStore calls them.
  virtual void save_state(core::BinaryWriter& out) const;
  virtual void restore_state(core::BinaryReader& in);
};

// What one chain did. The per-draw vectors describe the transition that produced each
// kept draw (as Stan's sampler_params); the totals cover every sampling transition,
// including the ones thinning drops.
struct ChainResult {
  Eigen::Index chain = 0;
  Eigen::VectorXd energy;       // H at each kept draw (U for MALA/overdamped), size draws
  Eigen::VectorXd accept_stat;  // TransitionInfo::accept_stat, size draws
  Eigen::VectorXd divergent;    // 1 if that transition diverged, else 0, size draws
  Eigen::VectorXi tree_depth;   // NUTS tree depth (0 for other samplers), size draws
  Eigen::VectorXi n_leapfrog;   // gradient evaluations of that transition, size draws
  Eigen::Index sampling_transitions = 0;  // draws·thin
  Eigen::Index sampling_divergences = 0;  // divergent sampling transitions
  double mean_accept_stat = 0.0;          // over all sampling transitions
  Eigen::Index max_tree_depth_hits = 0;   // NUTS sampling transitions that reached max_tree_depth
  std::int64_t gradient_evaluations = 0;  // warmup and sampling
  Eigen::Index warmup_divergences = 0;
  double step_size = 0.0;                 // ε after warmup (the one used for sampling)
  Eigen::VectorXd inverse_mass;           // diag(M⁻¹) after warmup
  double warmup_seconds = 0.0;            // wall time (the only non-reproducible fields)
  double sampling_seconds = 0.0;
};

// A chain result bit for bit (wall-clock fields included), and one read back.
void write_chain_result(const ChainResult& result, core::BinaryWriter& out);
ChainResult read_chain_result(core::BinaryReader& in);

// Transitions done so far (warmup and sampling, all chains); called on the calling
// thread only, at most a few hundred times per run. An exception it throws stops the
// chains and is rethrown.
using ChainProgress = std::function<void(std::int64_t transitions_done)>;

// The prior draw q₀ ~ N(0, I_dimension) that chain `chain` starts from
// (make_stream(seed, chain_init, stream_width, chain), core::fill_standard_normal).
Eigen::VectorXd initial_point(const ChainSettings& settings, Eigen::Index chain, Eigen::Index dimension);

// Runs settings.chains chains on `target` (cloned per chain; never evaluated itself).
// recorders[c] receives the kept draws of chain first_chain + c (recorders.size() must
// equal chains; a null entry records nothing). partials, empty or one per chain (a null
// entry keeps nothing), hold each chain's partial state (the header's). Results are in chain
// order. Throws ConfigError for bad settings (sampler settings name `sampler.<field>`),
// NumericalError if a chain cannot start (a non-finite U at q₀) or warmup finds no step
// size, DataError naming the file for a partial state that does not fit, and whatever a
// recorder throws.
std::vector<ChainResult> run_chains(const Potential& target, const SamplerSettings& sampler,
                                    const ChainSettings& settings,
                                    const std::vector<DrawRecorder*>& recorders,
                                    const ChainProgress& progress = {},
                                    const std::vector<core::PartialStateStore*>& partials = {});

// Total transitions of a run, chains·(warmup + draws·thin): the end value of progress.
std::int64_t total_transitions(const ChainSettings& settings);

// Which posterior of THEORY.md §1 a chain samples (a config choice, [posterior]).
using core::parse_posterior_form;
using core::posterior_form_name;
using core::PosteriorForm;

// A recorder in front of another for a collapsed chain: completes each kept θ_h with one
// exact draw of the readout given θ_h (CollapsedPosterior::draw_readout) and forwards the
// full θ = (θ_h, w, b_out), laid out as sampling/parameter_layout.hpp, to `next`. Readout
// draws of chain c come from make_stream(seed, readout_draw, stream_width, c), one stream
// per chain, in draw order. Owns a copy of the posterior (its workspace).
class ReadoutCompletion final : public DrawRecorder {
 public:
  ReadoutCompletion(const CollapsedPosterior& posterior, const ChainSettings& settings, Eigen::Index chain,
                    DrawRecorder& next);
  void record(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) override;
  // Its engine, then `next`'s state.
  void save_state(core::BinaryWriter& out) const override;
  void restore_state(core::BinaryReader& in) override;

 private:
  CollapsedPosterior posterior_;
  core::Engine engine_;
  DrawRecorder& next_;
  Eigen::VectorXd theta_;  // full θ
};

// The sampler's behaviour over all chains (Stan's diagnose / summary of sampler_params).
struct SamplerSummary {
  double mean_accept_stat = 0.0;          // over every sampling transition of every chain
  Eigen::VectorXd accept_stat;            // per chain, over its sampling transitions
  Eigen::VectorXd step_size;              // per chain, after warmup
  Eigen::Index divergences = 0;           // sampling transitions, all chains
  Eigen::Index warmup_divergences = 0;
  Eigen::Index sampling_transitions = 0;
  Eigen::VectorXd e_bfmi;                 // per chain, from the kept draws' energies (NaN when degenerate)
  bool low_e_bfmi = false;                // a chain below kLowEBfmi (0.3) or NaN
  double mean_tree_depth = 0.0;           // over kept draws (0 unless NUTS)
  int max_tree_depth = 0;                 // largest depth seen in the kept draws
  Eigen::Index max_tree_depth_hits = 0;   // sampling transitions that hit the cap (NUTS)
  double mean_leapfrog = 0.0;             // gradient evaluations per kept transition
  std::int64_t gradient_evaluations = 0;  // all chains, warmup and sampling
};
SamplerSummary summarize_sampler(const std::vector<ChainResult>& chains);

// A per-draw vector of every chain as a draws × chains matrix (the diagnostics' layout),
// e.g. draws_by_chain(results, &ChainResult::energy).
Eigen::MatrixXd draws_by_chain(const std::vector<ChainResult>& chains, Eigen::VectorXd ChainResult::*field);

}  // namespace kernelmc::sampling
