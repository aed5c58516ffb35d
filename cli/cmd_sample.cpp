// `kernelmc sample`: posterior chains for a config, the posterior mean kernel of every
// layer with its MCSE, kernel summaries with R-hat and ESS, the sampler's health, and
// the convergence gate. With posterior.route = importance or smc
// it runs that route at the first of model.widths instead (validation/posterior_route.hpp),
// and writes route.json; `auto` stays with the chains here: `sample` is the chain tool, and
// the automatic choice is `kernelmc validate`'s. Chains keep a checkpoint in <out>/checkpoint
// (validation/posterior_checkpoint.hpp), and a route its partial state there
// (validation/study_checkpoint.hpp), until the report is written; --resume <out> continues a
// killed run from there.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/run_setup.hpp"
#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "validation/posterior_checkpoint.hpp"
#include "validation/posterior_report.hpp"
#include "validation/posterior_route.hpp"
#include "validation/posterior_run.hpp"
#include "validation/route_report.hpp"
#include "validation/study_checkpoint.hpp"

namespace kernelmc::cli {

int run_sample(const CommonOptions& options) {
  const core::Config config = resolve_config(options);
  const core::Dataset data = core::make_dataset(config.data, config.run.seed);
  ProgressBar progress(progress_wanted(options.quiet));
  const core::PosteriorRoute route = config.posterior.route;
  if (route == core::PosteriorRoute::importance || route == core::PosteriorRoute::smc) {
    // One unit, the route at the first width, with its partial state in the checkpoint.
    const validation::CheckpointFolder folder(config.run.output_dir, "sample", config, data, {"route.bin"},
                                              !options.resume_dir.empty());
    validation::PartialStateFile partial(folder, validation::partial_file_name("route.bin"),
                                         checkpoint_schedule(options));
    const validation::RouteRun run =
        validation::run_posterior_route(config, route, data, config.model.widths.front(), progress, &partial);
    const auto path = validation::write_route_report(run, config, data.targets, config.run.output_dir);
    folder.remove();
    std::cout << validation::format_route_table(run, data.targets) << "\nreport: " << path.string() << "\n";
    return 0;
  }
  validation::PosteriorCheckpoint checkpoint(config.run.output_dir, config, data, !options.resume_dir.empty(),
                                             checkpoint_schedule(options));
  const validation::PosteriorRunResult result = validation::run_posterior(config, data, progress, &checkpoint);
  const auto path = validation::write_posterior_report(result, config.run.output_dir);
  checkpoint.remove();
  if (!options.resume_dir.empty())
    std::cout << "resumed: " << checkpoint.loaded() << " of " << config.posterior.chains << " chains from "
              << validation::checkpoint_directory(config.run.output_dir).string() << "\n";
  std::cout << validation::format_posterior_table(result) << "\nreport: " << path.string() << "\n";
  return 0;
}

}  // namespace kernelmc::cli
