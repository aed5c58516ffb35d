#pragma once
// The validation study (`kernelmc validate`, issue 5): for each width N of
// config.validation.widths, posterior chains (config.posterior, config.sampler) and exact
// prior networks (config.validation.prior_networks), compared layer by layer with every
// theory prediction (THEORY.md §4.7, §5.1, §7):
//   E_post[C^(l)]  against C_GP (§2), C_GP + μ + δC (one loop, §4.6/§5.1), C_FB + μ (§4.3,
//                  §4.7) and, for a linear one-hidden-layer network, the exact §7.2 kernel;
//   ΔC_MC = E_post[C] − E_prior[C] (the measured adaptation, §4.7) against C_FB − C_GP and
//                  the one-loop δC (and the exact linear adaptation).
//
// The study is split in two (so that it can be sharded over machines, issue 5 item 7):
//   RECORDS: independent units of Monte Carlo work, each determined by (config, unit id)
//     alone: one exact prior unit per width (the mean and covariance of the upper-triangle
//     kernel entries over M networks, streams make_stream(seed, prior_network, N, m)) and
//     one unit per (width, chain) (its batch means of the kernel entries, its trace/KTA/CKA
//     draws for R̂ and ESS, its sampler health; streams make_stream(seed, chain_*, N, c)).
//     A record is plain numbers; any process that computes a unit gets the same bits.
//   ANALYSIS: a deterministic function of the records and the config (the theory is
//     recomputed, deterministically), so merged shards give the unsharded result exactly.
#include <Eigen/Core>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "validation/observer.hpp"
#include "validation/posterior_route.hpp"
#include "validation/width_scaling.hpp"

namespace kernelmc::validation {

// ---------------------------------------------------------------- records

// prior and chain units make up a width with posterior.route = chains; with any other route a
// width is one route unit (importance or SMC: prior and posterior from the same draws).
enum class StudyUnitKind { prior, chain, route };

// One unit of Monte Carlo work. Units are ordered width by width: the prior unit, then
// chains 0..C−1.
struct StudyUnit {
  StudyUnitKind kind = StudyUnitKind::prior;
  Eigen::Index width = 0;   // N
  Eigen::Index chain = -1;  // c for a chain unit, −1 for a prior unit
  bool operator==(const StudyUnit&) const = default;
};
std::string unit_name(const StudyUnit& unit);  // "prior N=64", "chain N=64 c=2", "route N=64"

// Every unit of the study of `config`, in order.
std::vector<StudyUnit> study_units(const core::Config& config);
// Shard `index` of `count` (1-based): the contiguous slice [(k−1)U/K, kU/K) of the units.
// Throws ConfigError naming `--shard k/K` unless 1 ≤ k ≤ K ≤ U.
std::vector<StudyUnit> shard_units(const std::vector<StudyUnit>& units, Eigen::Index index, Eigen::Index count);

// Exact prior sampling of one width (THEORY.md §9.5).
struct PriorRecord {
  Eigen::Index width = 0;
  Eigen::Index networks = 0;                // M
  std::vector<Eigen::VectorXd> mean;        // [l−2]: mean of core::upper_triangle(C^(l)), K
  std::vector<Eigen::MatrixXd> covariance;  // [l−2]: unbiased covariance of those entries, K×K
  double seconds = 0.0;                     // wall time (not reproducible)
};

// One posterior chain at one width.
struct ChainRecord {
  Eigen::Index width = 0;
  Eigen::Index chain = 0;
  std::vector<Eigen::MatrixXd> batch_means;  // [l−2]: K×B means of consecutive batches of draws
  Eigen::VectorXd batch_sizes;               // B: draws per batch
  std::vector<Eigen::MatrixXd> summaries;    // [l−2]: draws×3: trace, KTA, CKA per draw
  std::array<bool, 3> summary_defined{};     // KTA/CKA undefined for a zero (centred) target
  // Sampler health (sampling::ChainResult).
  double step_size = 0.0;
  double mean_accept_stat = 0.0;
  Eigen::Index sampling_transitions = 0;
  Eigen::Index divergences = 0;
  Eigen::Index warmup_divergences = 0;
  Eigen::Index max_tree_depth_hits = 0;
  double gradient_evaluations = 0.0;
  Eigen::VectorXd energy;  // H at the kept draws (E-BFMI)
  double seconds = 0.0;    // wall time (not reproducible)
};

// The records of a study or of a part of it.
struct StudyRecords {
  core::Config config;             // resolved; identical in every part
  std::vector<StudyUnit> units;    // the units these records hold, in study order
  std::vector<PriorRecord> priors;
  std::vector<ChainRecord> chains;
  std::vector<RouteRecord> routes;
};

// Computes `units` of the study of `config` on `data` (validated here: ConfigError /
// DataError). Width by width: the prior unit (OpenMP over batches of networks), then that
// width's chains of `units` in one run_chains call (OpenMP over chains). Progress: one
// stage per width.
StudyRecords compute_records(const core::Config& config, const core::Dataset& data,
                             const std::vector<StudyUnit>& units, Observer& observer);

// Joins parts into the records of the whole study (config: the first part's). Throws
// DataError unless every part has the same config (run.output_dir and run.threads aside), and every unit of study_units(config) is present exactly once (naming
// the missing or duplicated unit).
StudyRecords merge_records(const std::vector<StudyRecords>& parts);

// ---------------------------------------------------------------- analysis

// R̂ < 1.01 and bulk ESS ≥ 400 for every defined summary (trace, KTA, CKA of every layer),
// Vehtari et al. 2021 (validation/posterior_run.hpp, kMaxRhat, kMinEssBulk).
struct WidthGate {
  bool passed = false;
  std::vector<std::string> failures;  // one line per failing summary
  double worst_rhat = 0.0;
  double min_ess_bulk = 0.0;
  // When it fails: posterior.draws (and warmup) to run instead, from the bulk-ESS rate per
  // draw (ESS grows linearly with the draws) with a 20 % margin, doubled when R̂ fails.
  Eigen::Index suggested_draws = 0;
  Eigen::Index suggested_warmup = 0;
  std::string advice;  // one line: what failed and how much longer to run
};

// One estimate against one prediction, over the K upper-triangle entries.
struct TheoryComparison {
  std::string theory;             // "nngp", "one_loop", "fb", "exact_linear"
  std::string quantity;           // "posterior_mean" (E_post[C]) or "adaptation" (ΔC_MC)
  Eigen::MatrixXd prediction;     // P×P
  Eigen::MatrixXd prediction_se;  // the theory's own error (Monte Carlo or quadrature), P×P
  Eigen::MatrixXd z;              // P×P z-scores, (estimate − prediction)/SE
  double frobenius = 0.0;         // D = ‖estimate − prediction‖_F
  double frobenius_se = 0.0;      // delta method with the full covariance of the entries
  double noise_frobenius = 0.0;   // √E[D²] if the prediction were exact
  double excess_frobenius = 0.0;  // √max(D² − noise², 0)
  double relative = 0.0;          // D / ‖reference‖_F (C_GP for means, δC_one-loop for ΔC)
  double relative_se = 0.0;
  double max_abs_z = 0.0;
  double bonferroni_z = 0.0;      // threshold at family-wise α over K entries
  Eigen::Index entries = 0;       // K
  // Hotelling T² = eᵀ Cov⁺ e with the covariance estimated from J batch means (ν = J − 1
  // degrees of freedom): T²(ν − k + 1)/(ν k) ~ F(k, ν − k + 1), k = rank. Undefined when
  // ν < k (too few batches for K entries).
  double chi_square = 0.0;
  double chi_square_rank = 0.0;
  double p_value = 0.0;
  bool test_defined = false;
  bool consistent = false;        // p ≥ α (or, without the test, max|z| ≤ Bonferroni z)
  // N·⟨X, YYᵀ⟩/‖Y‖²_F for the predicted adaptation X (adaptation comparisons), and CKA with
  // YYᵀ of the predicted mean kernel (posterior-mean comparisons).
  double target_adaptation = 0.0;
  double cka = 0.0;
};

struct LayerValidation {
  Eigen::Index layer = 0;              // l = 2..L+1
  Eigen::MatrixXd posterior_mean;      // E_post[C^(l)]
  Eigen::MatrixXd posterior_mean_se;   // batch-means SE
  Eigen::MatrixXd prior_mean;          // E_prior[C^(l)], exact sampling
  Eigen::MatrixXd prior_mean_se;
  Eigen::MatrixXd adaptation;          // ΔC_MC = E_post − E_prior
  Eigen::MatrixXd adaptation_se;
  double target_adaptation = 0.0;      // N·⟨ΔC_MC, YYᵀ⟩/‖Y‖²_F (N·ŷᵀΔCŷ for one output)
  double target_adaptation_se = 0.0;
  double cka = 0.0;                    // CKA(E_post[C], YYᵀ)
  double cka_se = 0.0;                 // delta method
  std::vector<TheoryComparison> comparisons;
};

struct WidthValidation {
  Eigen::Index width = 0;
  WidthGate gate;
  bool compared = false;  // the gate passed: the comparisons below exist
  // Sampler health over the chains.
  double mean_accept_stat = 0.0;
  Eigen::Index divergences = 0;
  double min_e_bfmi = 0.0;
  Eigen::Index max_tree_depth_hits = 0;
  double gradient_evaluations = 0.0;
  double sampling_seconds = 0.0;  // summed over the chain records (CPU-like)
  double prior_seconds = 0.0;
  double theory_seconds = 0.0;
  std::string fb_method;          // the FB solver's tilt method
  // The posterior route of this width ("chains", "importance" or "smc") and, for importance
  // and SMC, the evidence log Z with its error beside the NNGP evidence, and the importance
  // diagnostics (k-hat NaN when importance did not run; route_warning why it was not trusted).
  std::string route = "chains";
  double log_evidence = 0.0;
  double log_evidence_error = 0.0;
  double nngp_log_evidence = 0.0;
  double pareto_k = 0.0;
  double effective_sample_size = 0.0;
  std::string route_warning;
  std::vector<LayerValidation> layers;
};

// One (layer, theory, quantity) across widths.
struct TheoryScaling {
  Eigen::Index layer = 0;
  std::string theory;
  std::string quantity;
  PowerLawFit fit;                  // excess discrepancy ∝ N^b over the compared widths
  double bootstrap_low = 0.0;       // percentile interval of b, bootstrap over chains
  double bootstrap_high = 0.0;
  Eigen::Index bootstrap_valid = 0; // replicates with a valid fit
  Eigen::Index consistent_from = 0; // smallest N from which every compared width is consistent; 0: none
  std::string verdict;
};

struct ValidationResult {
  core::Config config;
  std::string dataset_name;
  Eigen::Index points = 0;
  std::vector<WidthValidation> widths;
  std::vector<TheoryScaling> scaling;
  bool exact_linear_available = false;  // φ linear, L = 1, one output
  double analysis_seconds = 0.0;        // not reproducible
};

// The analysis of complete records (merge_records' checks hold) on `data`
// (core::make_dataset(records.config.data, seed)). Deterministic: the same records give
// the same numbers bit for bit. Progress: stage "theory" (per width).
ValidationResult analyze_records(const StudyRecords& records, const core::Dataset& data, Observer& observer);

// compute_records of every unit, then analyze_records.
ValidationResult run_validation(const core::Config& config, const core::Dataset& data, Observer& observer);

}  // namespace kernelmc::validation
