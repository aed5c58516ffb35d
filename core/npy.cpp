#include "core/npy.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "core/json_io.hpp"

namespace kernelmc::core {

namespace {

// NumPy format spec (numpy.lib.format, version 1.0): magic "\x93NUMPY", version bytes
// 1 0, a little-endian uint16 header length, then the header: a Python dict literal,
// padded with spaces and ended by '\n' so that the total preamble is a multiple of 64.
constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kPreamble = 10;  // magic (6) + version (2) + header length (2)
constexpr std::size_t kAlignment = 64;

std::string shape_text(const std::vector<Eigen::Index>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";  // Python's one-element tuple
  return text + ")";
}

void append_little_endian(std::string& out, std::uint64_t bits, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((bits >> (8 * i)) & 0xffU);
}

}  // namespace

std::string npy_bytes(const std::vector<double>& values, const std::vector<Eigen::Index>& shape) {
  Eigen::Index count = 1;
  for (Eigen::Index n : shape) {
    if (n < 0) throw Error("npy_bytes: shape " + shape_text(shape) + " has a negative dimension");
    if (n > 0 && count > std::numeric_limits<Eigen::Index>::max() / n)
      throw Error("npy_bytes: shape " + shape_text(shape) + " holds more values than an index can count");
    count *= n;
  }
  if (count != static_cast<Eigen::Index>(values.size()))
    throw Error("npy_bytes: shape " + shape_text(shape) + " holds " + std::to_string(count) +
                " values but " + std::to_string(values.size()) + " were given");

  std::string header =
      "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  const std::size_t unpadded = kPreamble + header.size() + 1;  // + '\n'
  header.append((kAlignment - unpadded % kAlignment) % kAlignment, ' ');
  header += '\n';
  if (header.size() > 0xffff)
    throw Error("npy_bytes: header of " + std::to_string(header.size()) +
                " bytes exceeds format 1.0's limit of 65535");

  std::string out;
  out.reserve(kPreamble + header.size() + 8 * values.size());
  out += kMagic;
  out += '\x01';
  out += '\x00';
  append_little_endian(out, header.size(), 2);
  out += header;
  if constexpr (std::endian::native == std::endian::little) {
    out.append(reinterpret_cast<const char*>(values.data()), sizeof(double) * values.size());
  } else {
    for (double v : values) append_little_endian(out, std::bit_cast<std::uint64_t>(v), 8);
  }
  return out;
}

void write_npy(const std::filesystem::path& path, const std::vector<double>& values,
               const std::vector<Eigen::Index>& shape) {
  write_file_atomic(path, npy_bytes(values, shape));
}

}  // namespace kernelmc::core
