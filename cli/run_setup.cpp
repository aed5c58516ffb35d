#include "cli/run_setup.hpp"

#include <omp.h>

namespace kernelmc::cli {

core::Config resolve_config(const CommonOptions& options) {
  std::vector<std::string> overrides = options.overrides;
  if (!options.output_dir.empty()) overrides.push_back("run.output_dir=" + options.output_dir);  // string fields take raw text
  core::Config config = options.config_path.empty()
                            ? core::parse_config("", overrides, "<defaults>")
                            : core::load_config(options.config_path, overrides);
  if (config.run.threads > 0) omp_set_num_threads(config.run.threads);
  return config;
}

}  // namespace kernelmc::cli
