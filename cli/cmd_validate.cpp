// `kernelmc validate`: the validation study (validation/validation_study.hpp), posterior
// chains and exact prior networks over widths against every theory. It writes the study's
// records (validation/validation_records_io.hpp) into <out>/records before the analysis,
// so `kernelmc merge <out>/records` can re-analyse them, then
// the report into <out>. With
// --shard k/K it computes only the k-th of K parts of the study's units and writes their
// records into <out> for `kernelmc merge`, without analysis. Every finished unit is kept in
// <out>/checkpoint (validation/study_checkpoint.hpp) until the result is written;
// --resume <out> continues a killed run from there. `kernelmc demo` is the
// built-in study below.
#include <array>
#include <filesystem>
#include <iostream>
#include <regex>
#include <utility>

#include "cli/commands.hpp"
#include "cli/family_study.hpp"
#include "cli/progress.hpp"
#include "cli/run_setup.hpp"
#include "cli/validation_output.hpp"
#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "validation/study_checkpoint.hpp"
#include "validation/validation_records_io.hpp"
#include "validation/study_family.hpp"
#include "validation/validation_study.hpp"

namespace kernelmc::cli {

namespace {

// The main job's built-in study (README): erf at the edge of chaos with σ_b² = 0.1,
// g = g_c(0.1) = 1.55212 (THEORY.md §6.2; `kernelmc criticality` tabulates it), L = 2, on
// THEORY.md's XOR with a constant input (Config B, P = 4), over validation.widths
// N = 32..256. The posterior comes from the default route, auto: 10⁵ exact prior networks per
// width weighted by the evidence of their output kernel (importance sampling; SMC if the
// PSIS k̂ exceeded 0.7), so E_prior, E_post and the adaptation ΔC come from the same draws
// and ΔC's error is not the O(1) spread of two independent means: the adaptation along the
// target (≈ 0.05/N in layer 3) is resolved at every width. Why these choices: at σ_b² = 0 the
// critical erf kernel decays to q* = 0 with depth and the adaptation is ≈ 0.001/N; on the
// plain XOR clusters an odd φ gives odd network functions, orthogonal to the even XOR target,
// so the constant input is needed. About a minute on 2 cores.
constexpr std::array<const char*, 6> kDemoOverrides = {"data.kind=config_b",     "model.depth=2",
                                                       "model.bias_variance=0.1", "model.g=1.55212",
                                                       "posterior.importance_networks=100000",
                                                       "run.output_dir=kernelmc-demo"};

// `--shard k/K` as (k, K); (0, 0) for "".
std::pair<Eigen::Index, Eigen::Index> parse_shard(const std::string& shard) {
  if (shard.empty()) return {0, 0};
  std::smatch m;
  if (!std::regex_match(shard, m, std::regex("([0-9]{1,9})/([0-9]{1,9})")))
    throw ConfigError("--shard " + shard + ": must be k/K with 1 <= k <= K");
  return {std::stoll(m[1].str()), std::stoll(m[2].str())};
}

// The units of this call, computed with a checkpoint in <out>/checkpoint (study_checkpoint.hpp),
// continued from it with --resume; the checkpoint is removed by the caller once the result is written.
validation::StudyRecords compute_with_checkpoint(const CommonOptions& options, const core::Config& config,
                                                 const core::Dataset& data,
                                                 const std::vector<validation::StudyUnit>& units,
                                                 validation::StudyCheckpoint& checkpoint, ProgressBar& progress) {
  validation::StudyRecords records = validation::compute_records(config, data, units, progress, &checkpoint);
  if (!options.resume_dir.empty())
    std::cout << "resumed: " << checkpoint.loaded() << " of " << units.size() << " units from "
              << validation::checkpoint_directory(config.run.output_dir).string() << "\n";
  return records;
}

}  // namespace

int run_validate(const CommonOptions& options, const std::string& shard) {
  const auto [shard_index, shard_count] = parse_shard(shard);
  const core::Config config = resolve_config(options);
  const core::Dataset data = core::make_dataset(config.data, config.run.seed);
  ProgressBar progress(progress_wanted(options.quiet));
  if (validation::is_study_family(config))
    return run_family_validate(config, data, shard_index, shard_count, progress, std::cout,
                               !options.resume_dir.empty(), checkpoint_schedule(options));
  const std::vector<validation::StudyUnit> units =
      shard.empty() ? validation::study_units(config)
                    : validation::shard_units(validation::study_units(config), shard_index, shard_count);
  const std::string command = shard.empty() ? "validate" : "validate --shard " + shard;
  validation::StudyCheckpoint checkpoint(config.run.output_dir, command, config, data, units,
                                         !options.resume_dir.empty(), checkpoint_schedule(options));
  const validation::StudyRecords records = compute_with_checkpoint(options, config, data, units, checkpoint, progress);
  if (!shard.empty()) {
    const auto path = validation::write_records(records, config.run.output_dir);
    checkpoint.remove();
    std::cout << "shard " << shard_index << "/" << shard_count << ": " << units.size() << " units ("
              << validation::unit_name(units.front()) << " .. " << validation::unit_name(units.back())
              << ")\nrecords: " << path.string() << "\n";
    return 0;
  }
  validation::write_records(records, std::filesystem::path(config.run.output_dir) / "records");
  const validation::ValidationResult result = validation::analyze_records(records, data, progress);
  const std::string cross_check = cross_check_output(result, data, progress);
  const int status = finish_validation(result, "", std::cout);
  checkpoint.remove();
  std::cout << cross_check;
  return status;
}

int run_demo(const CommonOptions& options) {
  CommonOptions demo = options;
  if (demo.config_path.empty()) demo.overrides.insert(demo.overrides.begin(), kDemoOverrides.begin(), kDemoOverrides.end());
  return run_validate(demo, "");
}

}  // namespace kernelmc::cli
