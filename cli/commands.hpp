#pragma once
// Options shared by every subcommand, and one run function per subcommand
// (cmd_<name>.cpp). Each returns the process exit code and throws kernelmc errors.
#include <string>
#include <vector>

namespace kernelmc::cli {

struct CommonOptions {
  std::string config_path;               // --config FILE (empty: built-in defaults)
  std::vector<std::string> overrides;    // --set section.key=value, in order
  std::string output_dir;                // --out DIR (overrides run.output_dir)
  bool quiet = false;                    // --quiet: no progress bar
};

int run_prior(const CommonOptions& options);
int run_sample(const CommonOptions& options);
int run_criticality(const CommonOptions& options);
int run_theory(const CommonOptions& options);

}  // namespace kernelmc::cli
