// libFuzzer target for parse_idx (STYLE.md §7). A kernelmc::Error is the expected answer
// to bad input; any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.hpp"
#include "core/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const kernelmc::core::IdxArray a = kernelmc::core::parse_idx(bytes, "<fuzz>");
    // The parser promised: at least one dimension, no zero size, and exactly the
    // declared elements after the header.
    if (a.dims.empty() || a.size() == 0) std::abort();
    if (a.payload.size() != a.size() * kernelmc::core::idx_element_bytes(a.type)) std::abort();
    double sum = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) sum += a.value(i);
    static_cast<void>(sum);
  } catch (const kernelmc::Error&) {
  }
  return 0;
}
