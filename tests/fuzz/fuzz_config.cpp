// libFuzzer target for parse_config (STYLE.md §7). A kernelmc::Error is the expected
// answer to bad input; any other exception, a crash or a sanitizer report is a finding.
// Input: TOML text, optionally followed by a NUL byte and `--set` overrides, one per
// line. When the input parses, the resolved config must survive the TOML round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  std::vector<std::string> overrides;
  if (nul != std::string_view::npos) {
    std::string_view rest = input.substr(nul + 1);
    while (!rest.empty()) {
      const std::size_t end = std::min(rest.find('\n'), rest.size());
      overrides.emplace_back(rest.substr(0, end));
      rest.remove_prefix(std::min(end + 1, rest.size()));
    }
  }
  kernelmc::core::Config config;
  try {
    config = kernelmc::core::parse_config(text, overrides, "<fuzz>");
  } catch (const kernelmc::Error&) {
    return 0;
  }
  if (kernelmc::core::parse_config(kernelmc::core::to_toml(config), {}, "<round trip>") != config)
    std::abort();  // the round trip lost information
  return 0;
}
