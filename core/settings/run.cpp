#include "core/settings/run.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

void validate(const RunSettings& settings) {
  // TOML integers are signed 64-bit; a larger seed could not be written back.
  if (settings.seed > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    fail("run.seed", std::to_string(settings.seed), "must be at most 2^63 - 1");
  if (settings.threads < 0)
    fail("run.threads", std::to_string(settings.threads), "must be >= 0 (0 = OpenMP's default)");
  if (settings.threads_per_chain < 0)
    fail("run.threads_per_chain", std::to_string(settings.threads_per_chain), "must be >= 0 (0 = automatic)");
  if (settings.output_dir.empty()) fail("run.output_dir", "\"\"", "must not be empty");
}

}  // namespace kernelmc::core
