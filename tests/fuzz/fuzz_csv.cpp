// libFuzzer target for parse_csv_matrix (STYLE.md §7). A kernelmc::Error is the expected
// answer to bad input; any other exception, a crash or a sanitizer report is a finding.
// The first byte picks the header flag and an expected column count.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/csv.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool header = (data[0] & 1U) != 0;
  const Eigen::Index expected_columns = (data[0] >> 1) % 5 - 1;  // -1 (any) .. 3
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const Eigen::MatrixXd m = kernelmc::core::parse_csv_matrix(text, "<fuzz>", header, expected_columns);
    if (m.size() == 0 || !m.allFinite()) std::abort();  // the parser promised neither
    if (expected_columns >= 0 && m.cols() != expected_columns) std::abort();
  } catch (const kernelmc::Error&) {
  }
  return 0;
}
