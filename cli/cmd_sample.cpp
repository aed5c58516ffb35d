// `kernelmc sample`: posterior chains for a config, the posterior mean kernel of every
// layer with its MCSE, kernel summaries with R-hat and ESS, the sampler's health, and
// the convergence gate.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/run_setup.hpp"
#include "core/dataset_generators.hpp"
#include "validation/posterior_report.hpp"
#include "validation/posterior_run.hpp"

namespace kernelmc::cli {

int run_sample(const CommonOptions& options) {
  const core::Config config = resolve_config(options);
  const core::Dataset data = core::make_dataset(config.data, config.run.seed);
  ProgressBar progress(progress_wanted(options.quiet));
  const validation::PosteriorRunResult result = validation::run_posterior(config, data, progress);
  const auto path = validation::write_posterior_report(result, config.run.output_dir);
  std::cout << validation::format_posterior_table(result) << "\nreport: " << path.string() << "\n";
  return 0;
}

}  // namespace kernelmc::cli
