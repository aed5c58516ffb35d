// `kernelmc theory`: every analytic prediction for every layer of one configuration (NNGP,
// prior mean shift and covariance, FB, one loop, predictions at test points, exact deep
// linear oracles), written as theory.json and .npy files with a summary table.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/run_setup.hpp"
#include "core/dataset_generators.hpp"
#include "validation/theory_report.hpp"
#include "validation/theory_run.hpp"

namespace kernelmc::cli {

int run_theory(const CommonOptions& options) {
  const core::Config config = resolve_config(options);
  const core::Dataset data = core::make_dataset(config.data, config.run.seed);
  ProgressBar progress(progress_wanted(options.quiet));
  const validation::TheoryRunResult result = validation::run_theory_predictions(config, data, progress);
  const auto path = validation::write_theory_report(result, config.run.output_dir);
  std::cout << validation::format_theory_table(result) << "\nreport: " << path.string() << "\n";
  return 0;
}

}  // namespace kernelmc::cli
