// libFuzzer target for npy_bytes, the .npy encoder (STYLE.md §7; kernelmc has no .npy
// reader). A kernelmc::Error is the expected answer to a shape that does not fit the
// values; any other exception, a crash or a sanitizer report is a finding, and so is an
// accepted file that NumPy could not read back: bad magic or version, a preamble that is
// not a multiple of 64 bytes, or data bytes that differ from the values.
// Input: one byte ndim (mod 5), ndim little-endian int64 dimensions, then the values as
// raw little-endian float64 (a trailing partial value is ignored).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t ndim = data[0] % 5;
  if (size < 1 + 8 * ndim) return 0;
  std::vector<Eigen::Index> shape(ndim);
  for (std::size_t i = 0; i < ndim; ++i) {
    std::int64_t dim = 0;
    std::memcpy(&dim, data + 1 + 8 * i, sizeof dim);
    shape[i] = static_cast<Eigen::Index>(dim);
  }
  const std::size_t offset = 1 + 8 * ndim;
  std::vector<double> values((size - offset) / 8);
  if (!values.empty()) std::memcpy(values.data(), data + offset, 8 * values.size());
  std::string bytes;
  try {
    bytes = kernelmc::core::npy_bytes(values, shape);
  } catch (const kernelmc::Error&) {
    return 0;
  }
  const std::string_view text(bytes);
  if (text.size() < 10 || text.substr(0, 8) != std::string_view("\x93NUMPY\x01\x00", 8)) std::abort();
  const std::size_t header = static_cast<unsigned char>(text[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(text[9])) << 8);
  if ((10 + header) % 64 != 0 || text.size() != 10 + header + 8 * values.size()) std::abort();
  if (text[10 + header - 1] != '\n' || text.substr(10, 48) != "{'descr': '<f8', 'fortran_order': False, 'shape'") std::abort();
  if (!values.empty() && std::memcmp(text.data() + 10 + header, values.data(), 8 * values.size()) != 0) std::abort();
  return 0;
}
