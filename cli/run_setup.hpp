#pragma once
// Turning command-line options into a validated config, and applying run.threads.
#include "cli/commands.hpp"
#include "core/config.hpp"

namespace kernelmc::cli {

// Loads --config (or the built-in defaults), applies --set overrides and --out,
// validates, and sets the OpenMP thread count from run.threads.
core::Config resolve_config(const CommonOptions& options);

}  // namespace kernelmc::cli
