// `kernelmc criticality`: q*, χ's, prior fluctuation growth and adaptation by layer over a
// grid of g across the edge of chaos (THEORY.md §6).
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/run_setup.hpp"
#include "core/dataset_generators.hpp"
#include "validation/criticality_report.hpp"

namespace kernelmc::cli {

namespace {

// The study sweeps g over criticality.g_min_ratio..g_max_ratio (times g_c) and σ_b² over
// criticality.bias_variances, so model.g and model.bias_variance do not enter it: a value
// other than the default gets a warning on stderr instead of being dropped silently.
void warn_about_ignored_fields(const core::ModelSettings& model) {
  const core::ModelSettings defaults;
  if (model.g != defaults.g) {
    std::ostringstream list;
    for (std::size_t i = 0; i < model.g.size(); ++i) list << (i ? ", " : "[") << model.g[i];
    std::cerr << "kernelmc: warning: model.g = " << list.str()
              << "] is ignored by criticality: it sweeps g from criticality.g_min_ratio to "
                 "criticality.g_max_ratio times the edge of chaos g_c\n";
  }
  if (model.bias_variance != defaults.bias_variance)
    std::cerr << "kernelmc: warning: model.bias_variance = " << model.bias_variance
              << " is ignored by criticality: it uses criticality.bias_variances\n";
}

}  // namespace

int run_criticality(const CommonOptions& options) {
  const core::Config config = resolve_config(options);
  warn_about_ignored_fields(config.model);
  const core::Dataset data = core::make_dataset(config.data, config.run.seed);
  ProgressBar progress(progress_wanted(options.quiet));
  const validation::CriticalityResult result = validation::run_criticality_study(config, data, progress);
  const auto path = validation::write_criticality_report(result, config.run.output_dir);
  std::cout << validation::format_criticality_table(result) << "\ndata: " << path.string()
            << " (plot: cd " << path.parent_path().string() << " && gnuplot criticality.gp)\n";
  return 0;
}

}  // namespace kernelmc::cli
