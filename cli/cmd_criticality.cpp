// `kernelmc criticality`: q*, χ's, prior fluctuation growth and adaptation by layer over a
// grid of g across the edge of chaos (THEORY.md §6).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/run_setup.hpp"
#include "core/dataset_generators.hpp"
#include "validation/criticality_report.hpp"

namespace kernelmc::cli {

int run_criticality(const CommonOptions& options) {
  const core::Config config = resolve_config(options);
  const core::Dataset data = core::make_dataset(config.data, config.run.seed);
  ProgressBar progress(progress_wanted(options.quiet));
  const validation::CriticalityResult result = validation::run_criticality_study(config, data, progress);
  const auto path = validation::write_criticality_report(result, config.run.output_dir);
  std::cout << validation::format_criticality_table(result) << "\ndata: " << path.string()
            << " (plot: cd " << path.parent_path().string() << " && gnuplot criticality.gp)\n";
  return 0;
}

}  // namespace kernelmc::cli
