#pragma once
// Experiment configuration (STYLE.md §5): Config, the aggregate of the sections of
// core/settings/ (one header per section, each with its validate()). TOML loading and
// `--set` overrides live in config_toml.cpp; an unknown key is an error, never a silent
// default.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/dataset.hpp"
#include "core/settings/criticality.hpp"
#include "core/settings/data.hpp"
#include "core/settings/fb.hpp"
#include "core/settings/model.hpp"
#include "core/settings/posterior.hpp"
#include "core/settings/prior_study.hpp"
#include "core/settings/run.hpp"
#include "core/settings/sampler.hpp"
#include "core/settings/theory.hpp"
#include "core/settings/validation.hpp"

namespace kernelmc::core {

struct Config {
  ModelSettings model;
  DataSettings data;
  PriorStudySettings prior;
  TheorySettings theory;
  SamplerSettings sampler;
  PosteriorSettings posterior;
  FbSettings fb;                    // [theory.fb]
  CriticalitySettings criticality;
  ValidationSettings validation;
  RunSettings run;
  bool operator==(const Config&) const = default;
};

// validate() of every section; throws ConfigError naming `section.field`, its value and the rule.
void validate(const Config& config);

// TOML text plus `--set section.key=value` overrides, then validate(). `source` names
// the text in messages (a path, or "<defaults>"). Unknown keys throw ConfigError.
Config parse_config(std::string_view toml_text, const std::vector<std::string>& overrides,
                    std::string_view source = "<config>");
// Reads `path` (InputFileError if it cannot be read) and calls parse_config.
Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides);

// The fully resolved config as TOML text and as a JSON object text; parse_config of
// to_toml(c) gives back c exactly.
std::string to_toml(const Config& config);
std::string to_json(const Config& config);

// `config` without the settings results never depend on (run.output_dir, run.threads,
// run.threads_per_chain): two configs equal under it give the same bits, so checkpoints and
// shards compare configs through it.
Config comparable_config(Config config);

}  // namespace kernelmc::core
