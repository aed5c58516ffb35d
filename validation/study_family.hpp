#pragma once
// Families of validation studies (validation.study = "proportional" or "criticality"):
// one ordinary validation study (validation_study.hpp) per member, each with its own
// config and data set derived from the family's config and data set (the pool):
//
//   proportional (THEORY.md §4.8, §7): for each α of validation.alphas and each width N of
//     validation.widths (in that order), a study at the single width N on the first
//     P = round(αN) points of the pool: larger P extends smaller P, and a point's input
//     and target do not depend on P.
//   criticality (THEORY.md §6.4): for each σ_b² of criticality.bias_variances and each
//     g/g_c of the [criticality] grid (theory::log_spaced_ratios), a study over
//     validation.widths on the whole pool with model.bias_variance = σ_b² and every
//     layer's g = (g/g_c)·g_c(σ_b²).
//
// Members share run.seed, so their chains and prior networks use the same streams
// (common random numbers across members; never the same stream twice within a member).
// The units of work are the members' units in member order; a shard is a contiguous slice
// of them, and merging the shards' records gives the unsharded records exactly, so the
// analysis, a deterministic function of the records, is bit-identical too.
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "validation/observer.hpp"
#include "validation/validation_study.hpp"
#include "validation/width_scaling.hpp"

namespace kernelmc::validation {

// Whether `config` asks for a family (validation.study is not "width_scaling").
bool is_study_family(const core::Config& config);

struct FamilyMember {
  std::string label;     // "alpha=0.5 N=64", "sigma_b2=0.1 g/g_c=1.26"
  core::Config config;   // the member's own (width_scaling) study
  core::Dataset data;
  double alpha = 0.0;          // proportional: P/N (NaN for criticality)
  double g_ratio = 0.0;        // criticality: g/g_c (NaN for proportional)
  double bias_variance = 0.0;  // σ_b²
  double g = 0.0;              // g of every layer (proportional: model.g's first value)
};

// The members of the family of `config` on `pool`. ConfigError when P = round(αN) is 0 or
// exceeds the pool ("validation.alphas = [...]: ..."), or g_c(σ_b²) is not finite for φ.
std::vector<FamilyMember> family_members(const core::Config& config, const core::Dataset& pool);

// One unit: unit `unit` of member `member`'s study.
struct FamilyUnit {
  Eigen::Index member = 0;
  StudyUnit unit;
  bool operator==(const FamilyUnit&) const = default;
};
std::string unit_name(const FamilyUnit& unit);  // "member 3 (alpha=0.5 N=64) chain N=64 c=1"

// Every unit of the family, member by member.
std::vector<FamilyUnit> family_units(const std::vector<FamilyMember>& members);
// Shard k of K (1-based): the contiguous slice [(k−1)U/K, kU/K). ConfigError naming
// `--shard k/K` unless 1 ≤ k ≤ K ≤ U.
std::vector<FamilyUnit> shard_family_units(const std::vector<FamilyUnit>& units, Eigen::Index index,
                                           Eigen::Index count);

struct FamilyRecords {
  core::Config config;                // the family's, resolved
  std::vector<StudyRecords> members;  // one per member; a part may hold no unit of some
};

// The records of `units`, member by member (compute_records); with `stores`, stores[m] keeps
// member m's finished units and partial states (a null entry, or none, keeps nothing).
FamilyRecords compute_family_records(const core::Config& config, const std::vector<FamilyMember>& members,
                                     const std::vector<FamilyUnit>& units, Observer& observer,
                                     const std::vector<UnitStore*>& stores = {});

// Joins shards: DataError unless the family configs agree (run.output_dir and run.threads
// aside) and every unit of every member is present exactly once (merge_records' messages).
FamilyRecords merge_family_records(const std::vector<FamilyRecords>& parts);

// ---------------------------------------------------------------- analysis

// Layer l of a member at one width, along the target T = YYᵀ/‖Y‖²_F (ŷŷᵀ for one output).
struct FamilyLayer {
  Eigen::Index layer = 0;
  bool compared = false;               // the width passed the convergence gate
  double measured = 0.0;               // N·⟨ΔC_MC, T⟩, the measured adaptation
  double measured_se = 0.0;
  double prior_fluctuation = 0.0;      // N·Var_prior⟨T, C^(l)⟩ from the exact prior networks
  double prior_fluctuation_se = 0.0;   // ≈ its value·√(2/(M−1)) (near-Gaussian ⟨T, C⟩)
  // Per theory ("one_loop", "fb", "exact_linear" where available): the predicted
  // N·⟨ΔC, T⟩, z = (measured − predicted)/measured_se, and whether the full-matrix test of
  // validation_study (Hotelling or Bonferroni) finds the adaptation ΔC consistent.
  std::vector<std::string> theories;
  std::vector<double> predicted;
  std::vector<double> z;
  std::vector<bool> consistent;
  // The NNGP's zero adaptation is rejected: the effect is resolved, and "consistent" means
  // something (theory_consistency lists the other points as "not resolved").
  bool resolved = true;
  double predicted_by(const std::string& theory) const;  // NaN if absent
};

struct FamilyPoint {
  Eigen::Index member = 0;
  Eigen::Index width = 0;
  Eigen::Index points = 0;  // P
  std::vector<FamilyLayer> layers;
};

// proportional: at fixed α and one theory, the relative discrepancy along the target of
// the top layer, r(N) = (measured − predicted)/|predicted| (> 0: the Monte Carlo lies above),
// fitted as a·N^b over the widths where r > 0.
struct DiscrepancyScaling {
  double alpha = 0.0;
  std::string theory;
  std::vector<double> widths, relative, relative_se, z;
  PowerLawFit fit;          // of r(N) over the widths where r > 0
  std::string verdict;      // "resolved at >= 5 sigma at every width; does not shrink ..."
};

struct FamilyResult {
  core::Config config;
  std::string study;                   // "proportional" | "criticality"
  std::string dataset_name;
  std::vector<FamilyMember> members;   // data sets left out (only their sizes are kept)
  std::vector<ValidationResult> results;  // per member
  std::vector<FamilyPoint> points;        // per member and width
  std::vector<DiscrepancyScaling> scaling;  // proportional only
  std::vector<std::string> verdicts;        // one line each
};

// Deterministic: the same records give the same numbers bit for bit.
FamilyResult analyze_family(const FamilyRecords& records, const std::vector<FamilyMember>& members,
                            Observer& observer);

// compute_family_records of every unit, then analyze_family.
FamilyResult run_family(const core::Config& config, const core::Dataset& pool, Observer& observer);

}  // namespace kernelmc::validation
