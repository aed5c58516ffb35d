// libFuzzer target for parse_config (STYLE.md §7). A kernelmc::Error is the expected
// answer to bad input; any other exception, a crash or a sanitizer report is a finding.
// When the text parses, the resolved config must also survive the TOML round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  kernelmc::core::Config config;
  try {
    config = kernelmc::core::parse_config(text, {}, "<fuzz>");
  } catch (const kernelmc::Error&) {
    return 0;
  }
  if (kernelmc::core::parse_config(kernelmc::core::to_toml(config), {}, "<round trip>") != config)
    std::abort();  // the round trip lost information
  return 0;
}
