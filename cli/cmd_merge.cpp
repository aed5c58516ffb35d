// `kernelmc merge DIR...`: joins the record directories written by
// `kernelmc validate --shard k/K` (every unit exactly once, identical configs) and runs the
// same analysis and report as an unsharded `kernelmc validate`.
#include <omp.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/family_study.hpp"
#include "cli/progress.hpp"
#include "cli/validation_output.hpp"
#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "validation/study_family_io.hpp"
#include "validation/validation_records_io.hpp"
#include "validation/validation_study.hpp"

namespace kernelmc::cli {

int run_merge(const CommonOptions& options, const std::vector<std::string>& directories) {
  if (!options.config_path.empty() || !options.overrides.empty())
    throw ConfigError("merge: --config and --set do not apply: the config comes from the shards' records");
  if (!directories.empty() && validation::holds_family_records(directories.front())) {
    ProgressBar progress(progress_wanted(options.quiet));
    return run_family_merge(directories, options.output_dir, progress, std::cout);
  }
  std::vector<validation::StudyRecords> parts;
  for (const std::string& dir : directories) parts.push_back(validation::read_records(dir));
  validation::StudyRecords records = validation::merge_records(parts);
  records.config.run.output_dir = options.output_dir.empty() ? core::RunSettings{}.output_dir : options.output_dir;
  if (records.config.run.threads > 0) omp_set_num_threads(records.config.run.threads);
  const core::Dataset data = core::make_dataset(records.config.data, records.config.run.seed);
  ProgressBar progress(progress_wanted(options.quiet));
  const validation::ValidationResult result = validation::analyze_records(records, data, progress);
  const std::string cross_check = cross_check_output(result, data, progress);
  const int status = finish_validation(result,
                                       "merged " + std::to_string(directories.size()) + " parts (" +
                                           std::to_string(records.units.size()) + " units)\n\n",
                                       std::cout);
  std::cout << cross_check;
  return status;
}

}  // namespace kernelmc::cli
