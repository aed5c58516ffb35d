// `kernelmc prior`: the exact prior study over widths (validation/prior_study.hpp).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/run_setup.hpp"
#include "core/dataset_generators.hpp"
#include "validation/prior_report.hpp"
#include "validation/prior_study.hpp"

namespace kernelmc::cli {

int run_prior(const CommonOptions& options) {
  const core::Config config = resolve_config(options);
  const core::Dataset data = core::make_dataset(config.data, config.run.seed);
  ProgressBar progress(progress_wanted(options.quiet));
  const validation::PriorStudyResult result = validation::run_prior_study(config, data, progress);
  const auto path = validation::write_prior_report(result, config.run.output_dir);
  std::cout << validation::format_prior_table(result) << "\nreport: " << path.string() << "\n";
  return 0;
}

}  // namespace kernelmc::cli
