#pragma once
// Turning command-line options into a validated config before any work starts: the
// overrides, run.threads, a writable output directory, and a memory estimate checked
// against what the machine has; and removing a failed run's partial output.
#include <cstdint>
#include <string>

#include "cli/commands.hpp"
#include "core/config.hpp"
#include "validation/study_checkpoint.hpp"

namespace kernelmc::cli {

// Loads --config (or the built-in defaults), applies --set overrides and --out (or --resume
// DIR, which then is the output directory; ConfigError if --out names another),
// validates, sets the OpenMP thread count from run.threads, checks that run.output_dir
// can be created and written (ConfigError naming run.output_dir otherwise; nothing is
// left behind), and refuses a run whose estimated memory exceeds 80 % of the available
// memory unless options.force (ConfigError naming the field that drives the estimate).
// From then on discard_partial_output() knows the run's output directory.
core::Config resolve_config(const CommonOptions& options);

// The schedule of partial-state saves: --checkpoint-interval (ConfigError naming the option
// and value unless finite and >= 0) and the test hook KERNELMC_CHECKPOINT_EVERY (ConfigError
// unless a positive integer when set).
validation::CheckpointSchedule checkpoint_schedule(const CommonOptions& options);

// A rough upper estimate of the peak memory of `command` (a subcommand name, "" = demo)
// on `config`, in bytes, and the config field that drives it.
struct MemoryEstimate {
  double bytes = 0.0;
  std::string field;
  std::string value;
};
MemoryEstimate estimate_memory(const core::Config& config, const std::string& command);

// After a failed run: removes what the run added to its output directory (the directory
// itself if the run created it), so that no partial result is left. Files the run
// replaced are not restored (each is replaced atomically). Safe to call at any time.
void discard_partial_output();

}  // namespace kernelmc::cli
