#pragma once
// The [run] section of Config: seed, threads, output.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <cstdint>
#include <string>

namespace kernelmc::core {

// [run]: seed, threads, output.
struct RunSettings {
  std::uint64_t seed = 20240521;      // any fixed value; recorded in every result file
  int threads = 0;                    // 0 = OpenMP's default; results never depend on it
  // Threads inside one posterior chain (its potential's row and neuron blocks, used from
  // P or N ≥ 512): 0 = automatic, max(1, threads / chains), so spare cores go to the
  // chains of a run with fewer chains than cores. Results never depend on it.
  int threads_per_chain = 0;
  std::string output_dir = "kernelmc-out";
  bool operator==(const RunSettings&) const = default;
};

void validate(const RunSettings& settings);

}  // namespace kernelmc::core
