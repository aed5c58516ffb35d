#pragma once
// IDX files (the MNIST / Fashion-MNIST array format, LeCun et al.): a 4-byte magic number
// 0x00 0x00 <type code> <number of dimensions n>, then n big-endian uint32 sizes, then the
// elements, big-endian, last index fastest. Files may be gzip-compressed (read_idx).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kernelmc::core {

// The element types of IDX, by their type code.
enum class IdxType : std::uint8_t {
  unsigned_byte = 0x08,
  signed_byte = 0x09,
  int16 = 0x0B,
  int32 = 0x0C,
  float32 = 0x0D,
  float64 = 0x0E,
};

// Bytes per element of `type`: 1, 1, 2, 4, 4, 8.
std::size_t idx_element_bytes(IdxType type);

struct IdxArray {
  IdxType type = IdxType::unsigned_byte;
  std::vector<std::size_t> dims;  // n ≥ 1 sizes, each ≥ 1
  std::string payload;            // the elements as stored (big-endian), product(dims) of them

  std::size_t size() const;       // product of dims: the number of elements
  // Elements per item: the product of dims[1..] (1 for a one-dimensional array).
  std::size_t item_size() const;
  // Element `flat` (row-major index, < size()) converted to double.
  double value(std::size_t flat) const;
};

// Parses the bytes of an IDX file. Throws DataError "<source>: <problem>" for a short
// header, a magic number that does not start with two zero bytes, an unknown type code,
// zero dimensions, a zero size, or a payload whose length differs from what the header
// declares (checked before anything is allocated for it).
IdxArray parse_idx(std::string_view bytes, std::string_view source);

// Reads `path`, gunzipping it if it is gzip-compressed (plain files read as they are),
// then parse_idx. InputFileError if it cannot be opened; DataError for a corrupt gzip
// stream, a file over 4 GiB uncompressed, or the problems of parse_idx.
IdxArray read_idx(const std::filesystem::path& path);

}  // namespace kernelmc::core
