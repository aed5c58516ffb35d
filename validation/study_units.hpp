#pragma once
// The Monte Carlo work of a validation study as independent units and their records:
//   units    one exact prior unit per width (the mean and covariance of the upper-triangle
//            kernel entries over M networks, streams make_stream(seed, prior_network, N, m))
//            and one unit per (width, chain) (its batch means of the kernel entries, its
//            trace/KTA/CKA draws for R̂ and ESS, its sampler health; streams
//            make_stream(seed, chain_*, N, c)); with posterior.route ≠ chains instead of the
//            chains one route unit per width (validation/posterior_route.hpp: importance or
//            SMC, prior and posterior from the same draws; the prior unit then serves the
//            prior fluctuation N·Var⟨T, C⟩ of the reports). A unit is determined by (config, unit) alone:
//            any process that computes it gets the same bits.
//   shards   contiguous slices of the units in study order (`kernelmc validate --shard k/K`);
//   schedule all units of a call run from one parallel pool, longest first;
//   records  plain numbers, joined by merge_records into the records of the whole study.
#include <Eigen/Core>
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint_io.hpp"
#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "validation/observer.hpp"
#include "validation/posterior_route.hpp"

namespace kernelmc::validation {

enum class StudyUnitKind { prior, chain, route };

// One unit of Monte Carlo work. In study order units go width by width: the prior unit,
// then chains 0..C−1 (posterior.route = chains), or the width's route unit.
struct StudyUnit {
  StudyUnitKind kind = StudyUnitKind::prior;
  Eigen::Index width = 0;   // N
  Eigen::Index chain = -1;  // c for a chain unit, −1 for a prior or route unit
  bool operator==(const StudyUnit&) const = default;
};
std::string unit_name(const StudyUnit& unit);  // "prior N=64", "chain N=64 c=2", "route N=64"
// The unit in file names: "prior_N64", "chain_N64_c2", "route_N64" (records and checkpoints).
std::string unit_file_stem(const StudyUnit& unit);

// Every unit of the study of `config`, in study order.
std::vector<StudyUnit> study_units(const core::Config& config);
// Shard `index` of `count` (1-based): the contiguous slice [(k−1)U/K, kU/K) of the units.
// Throws ConfigError naming `--shard k/K` unless 1 ≤ k ≤ K ≤ U.
std::vector<StudyUnit> shard_units(const std::vector<StudyUnit>& units, Eigen::Index index, Eigen::Index count);

// Relative run time of a unit (arbitrary scale, only compared between units of one study):
// a chain costs (warmup + draws·thin)·N²·P (the N×N hidden layers on P inputs per
// transition), a prior unit networks·P·N·L (exact sampling draws N P-dimensional Gaussian
// preactivations per layer), a route unit posterior.importance_networks·P·N·L (the same
// exact sampling of its networks).
double unit_cost(const core::Config& config, const core::Dataset& data, const StudyUnit& unit);
// `units` longest first (unit_cost descending; ties keep the given order): the order in
// which compute_records starts them.
std::vector<StudyUnit> schedule_units(const core::Config& config, const core::Dataset& data,
                                      const std::vector<StudyUnit>& units);

// Exact prior sampling of one width (THEORY.md §9.5).
struct PriorRecord {
  Eigen::Index width = 0;
  Eigen::Index networks = 0;                // M
  std::vector<Eigen::VectorXd> mean;        // [l−2]: mean of core::upper_triangle(C^(l)), K
  // [l−2]: unbiased covariance of those entries, K×K; empty in a route study (there the
  // route gives every estimate, and the K² work per network would dominate at large P).
  std::vector<Eigen::MatrixXd> covariance;
  std::vector<double> target_variance;      // [l−2]: Var⟨T, C^(l)⟩, T = YYᵀ/‖Y‖²_F; route studies only
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
  std::vector<PriorRecord> priors; // in study order
  std::vector<ChainRecord> chains; // in study order
  std::vector<RouteRecord> routes; // in study order
};

// The record of one unit: the member of the unit's kind.
struct UnitRecord {
  PriorRecord prior;
  ChainRecord chain;
  RouteRecord route;
};

// Where finished units are kept beyond the process (validation/study_checkpoint.hpp).
// compute_records asks `load` for every unit before the pool (true: `record` holds it and
// the unit is not computed) and hands each unit it computes to `save` as soon as it is
// done, from the pool's threads: `save` must be thread-safe.
class UnitStore {
 public:
  virtual ~UnitStore() = default;
  virtual bool load(const StudyUnit& unit, UnitRecord& record) = 0;
  virtual void save(const StudyUnit& unit, const UnitRecord& record) = 0;
  // Where a unit keeps its partial state while it runs (core::PartialStateStore; chain and
  // SMC route units use it), or null: the unit starts again after a kill.
  virtual std::unique_ptr<core::PartialStateStore> partial(const StudyUnit&) { return nullptr; }
};

// Computes `units` of the study of `config` on `data` (validated here: ConfigError /
// DataError): every unit from one parallel pool (OpenMP, one unit per thread at a time,
// in schedule_units order), each unit single-threaded on its own streams, so the records
// are bit-identical for any thread count and any split into shards. Progress: one stage,
// "units", counted in units done (a route unit runs on its own thread too). The first failing unit's error (in study order) is
// rethrown after the pool. With a `store`, the units it holds are taken from it and every
// computed unit is saved into it (a failing save is that unit's error).
StudyRecords compute_records(const core::Config& config, const core::Dataset& data,
                             const std::vector<StudyUnit>& units, Observer& observer, UnitStore* store = nullptr);

// Joins parts into the records of the whole study (config: the first part's). Throws
// DataError unless every part has the same config (run.output_dir and run.threads aside),
// and every unit of study_units(config) is present exactly once (naming the missing or
// duplicated unit).
StudyRecords merge_records(const std::vector<StudyRecords>& parts);

// The records of one width: its prior unit and its chains in chain order, or its route unit.
struct WidthRecords {
  const PriorRecord* prior = nullptr;
  std::vector<const ChainRecord*> chains;
  const RouteRecord* route = nullptr;  // non-null exactly when posterior.route ≠ chains
};
// `records` by width; DataError naming the width unless each width of the study has its
// prior record and posterior.chains chain records (posterior.route = chains) or its route
// record (any other route).
std::map<Eigen::Index, WidthRecords> records_by_width(const StudyRecords& records);

// The model of `config` with the single hidden width `width` on `data`.
core::ModelSpec spec_at_width(const core::Config& config, const core::Dataset& data, Eigen::Index width);

}  // namespace kernelmc::validation
