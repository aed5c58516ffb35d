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
  bool force = false;                    // --force: run even beyond the memory estimate's limit
  std::string resume_dir;                // --resume DIR (validate): continue the checkpoint in DIR, which
                                         // becomes the output directory
  // --checkpoint-interval SECONDS (sample, validate): how often a running unit saves its
  // partial state (0: finished units only).
  double checkpoint_interval = 60.0;
  std::string command;                   // the subcommand's name ("" for the demo), set by main
};

int run_prior(const CommonOptions& options);
int run_sample(const CommonOptions& options);
// `validate`: `shard` is "" (the whole study) or "k/K" (only part k of K, records only).
int run_validate(const CommonOptions& options, const std::string& shard);
// `merge DIR...`: the record directories of `validate --shard`.
int run_merge(const CommonOptions& options, const std::vector<std::string>& directories);
int run_criticality(const CommonOptions& options);
int run_theory(const CommonOptions& options);
// The main job (`kernelmc` alone, or `kernelmc demo`): `validate` on the built-in demo
// study when no --config is given (cmd_validate.cpp says which), else on that config.
int run_demo(const CommonOptions& options);

}  // namespace kernelmc::cli
