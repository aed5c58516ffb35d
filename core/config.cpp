#include "core/config.hpp"

namespace kernelmc::core {

void validate(const Config& config) {
  validate(config.model);
  validate(config.data);
  validate(config.prior);
  validate(config.theory);
  validate(config.sampler);
  validate(config.posterior);
  validate(config.fb);
  validate(config.criticality);
  validate(config.validation);
  validate(config.run);
}

Config comparable_config(Config config) {
  config.run.output_dir.clear();
  config.run.threads = 0;
  config.run.threads_per_chain = 0;
  return config;
}

}  // namespace kernelmc::core
