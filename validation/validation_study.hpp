#pragma once
// The validation study (`kernelmc validate`): for each width N of
// config.validation.widths, posterior chains (config.posterior, config.sampler) and exact
// prior networks (config.validation.prior_networks), or with posterior.route ≠ chains one
// importance or SMC run whose prior and posterior come from the same draws
// (validation/posterior_route.hpp), compared layer by layer with every
// theory prediction (THEORY.md §4.7, §5.1, §7):
//   E_post[C^(l)]  against C_GP (§2), C_GP + μ + δC (one loop, §4.6/§5.1), C_FB + μ (§4.3,
//                  §4.7) and, for a linear one-hidden-layer network, the exact §7.2 kernel;
//   ΔC_MC = E_post[C] − E_prior[C] (the measured adaptation, §4.7) against C_FB − C_GP and
//                  the one-loop δC (and the exact linear adaptation).
// The study is two steps: RECORDS, independent units of Monte Carlo work
// (validation/study_units.hpp, shardable), and ANALYSIS, a deterministic function of the
// records and the config (the theory is recomputed), so merged shards give the unsharded
// result exactly. The parts of the analysis: validation/convergence_gate.hpp (per width),
// validation/width_predictions.hpp (the theories, each failing alone),
// validation/theory_comparison.hpp (estimate against prediction),
// validation/theory_scaling.hpp (fits over widths, bootstrap, verdicts).
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "validation/convergence_gate.hpp"
#include "validation/observer.hpp"
#include "validation/study_units.hpp"
#include "validation/theory_comparison.hpp"
#include "validation/width_predictions.hpp"
#include "validation/width_scaling.hpp"

namespace kernelmc::validation {

struct LayerValidation {
  Eigen::Index layer = 0;              // l = 2..L+1
  Eigen::MatrixXd posterior_mean;      // E_post[C^(l)]
  Eigen::MatrixXd posterior_mean_se;   // batch-means SE
  Eigen::Index posterior_dof = 0;      // degrees of freedom of that SE (batches or replicates − 1)
  Eigen::MatrixXd prior_mean;          // E_prior[C^(l)], exact sampling
  Eigen::MatrixXd prior_mean_se;
  Eigen::MatrixXd adaptation;          // ΔC_MC = E_post − E_prior
  Eigen::MatrixXd adaptation_se;
  double target_adaptation = 0.0;      // N·⟨ΔC_MC, YYᵀ⟩/‖Y‖²_F (N·ŷᵀΔCŷ for one output)
  double target_adaptation_se = 0.0;
  double cka = 0.0;                    // CKA(E_post[C], YYᵀ)
  double cka_se = 0.0;                 // delta method
  std::vector<TheoryComparison> comparisons;  // find_comparison(comparisons, theory, quantity)
};

struct WidthValidation {
  Eigen::Index width = 0;
  ConvergenceGate gate;
  bool compared = false;  // the gate passed: the comparisons below exist
  // Theories whose prediction failed at this width (no comparison of theirs below).
  std::vector<TheoryFailure> theory_failures;
  // Sampler health over the chains (a route width: the SMC acceptance, the rest NaN or 0).
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
