#include "core/idx.hpp"

#include <zlib.h>

#include <bit>
#include <cassert>
#include <cstring>
#include <memory>

#include "core/error.hpp"

namespace kernelmc::core {

namespace {

// Uncompressed files larger than this are refused (Fashion-MNIST's largest is 47 MB).
constexpr std::size_t kMaxIdxBytes = std::size_t{1} << 32;

std::string hex_byte(unsigned char byte) {
  constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string("0x") + kDigits[byte >> 4] + kDigits[byte & 15];
}

bool is_idx_type(unsigned char code) {
  for (IdxType t : {IdxType::unsigned_byte, IdxType::signed_byte, IdxType::int16, IdxType::int32,
                    IdxType::float32, IdxType::float64}) {
    if (code == static_cast<unsigned char>(t)) return true;
  }
  return false;
}

std::uint64_t big_endian(const char* bytes, std::size_t count) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < count; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

// The element count × size the header declares, refusing sizes of zero and totals beyond
// kMaxIdxBytes (so that no product can overflow).
std::size_t declared_payload_bytes(const IdxArray& array, std::string_view source) {
  std::size_t bytes = idx_element_bytes(array.type);
  for (std::size_t i = 0; i < array.dims.size(); ++i) {
    const std::size_t d = array.dims[i];
    if (d == 0)
      throw DataError(std::string(source) + ": dimension " + std::to_string(i + 1) +
                      " has size 0: every size must be positive");
    if (bytes > kMaxIdxBytes / d)
      throw DataError(std::string(source) + ": the header declares more than " +
                      std::to_string(kMaxIdxBytes) + " bytes of elements");
    bytes *= d;
  }
  return bytes;
}

std::string dims_text(const std::vector<std::size_t>& dims) {
  std::string text;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += 'x';
    text += std::to_string(dims[i]);
  }
  return text;
}

}  // namespace

std::size_t idx_element_bytes(IdxType type) {
  switch (type) {
    case IdxType::unsigned_byte:
    case IdxType::signed_byte: return 1;
    case IdxType::int16: return 2;
    case IdxType::int32:
    case IdxType::float32: return 4;
    case IdxType::float64: return 8;
  }
  return 0;
}

std::size_t IdxArray::size() const {
  std::size_t n = 1;
  for (std::size_t d : dims) n *= d;
  return n;
}

std::size_t IdxArray::item_size() const {
  std::size_t n = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

double IdxArray::value(std::size_t flat) const {
  const std::size_t bytes = idx_element_bytes(type);
  assert(flat < size() && (flat + 1) * bytes <= payload.size());
  const std::uint64_t raw = big_endian(payload.data() + flat * bytes, bytes);
  switch (type) {
    case IdxType::unsigned_byte: return static_cast<double>(raw);
    case IdxType::signed_byte: return static_cast<double>(static_cast<std::int8_t>(raw));
    case IdxType::int16: return static_cast<double>(static_cast<std::int16_t>(raw));
    case IdxType::int32: return static_cast<double>(static_cast<std::int32_t>(raw));
    case IdxType::float32: return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(raw)));
    case IdxType::float64: return std::bit_cast<double>(raw);
  }
  return 0.0;
}

IdxArray parse_idx(std::string_view bytes, std::string_view source) {
  const std::string where(source);
  if (bytes.size() < 4)
    throw DataError(where + ": " + std::to_string(bytes.size()) +
                    " bytes, too short for the 4-byte IDX magic number");
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (byte(0) != 0 || byte(1) != 0)
    throw DataError(where + ": the magic number starts with " + hex_byte(byte(0)) + " " +
                    hex_byte(byte(1)) + ", not 0x00 0x00: not an IDX file");
  if (!is_idx_type(byte(2)))
    throw DataError(where + ": type code " + hex_byte(byte(2)) +
                    " is unknown (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  const std::size_t n = byte(3);
  if (n == 0) throw DataError(where + ": the magic number declares 0 dimensions (need at least 1)");
  const std::size_t header = 4 + 4 * n;
  if (bytes.size() < header)
    throw DataError(where + ": the header of " + std::to_string(n) + " dimensions needs " +
                    std::to_string(header) + " bytes, the file has " + std::to_string(bytes.size()));
  IdxArray array;
  array.type = static_cast<IdxType>(byte(2));
  for (std::size_t i = 0; i < n; ++i)
    array.dims.push_back(static_cast<std::size_t>(big_endian(bytes.data() + 4 + 4 * i, 4)));
  const std::size_t expected = declared_payload_bytes(array, source);
  if (bytes.size() - header != expected)
    throw DataError(where + ": sizes " + dims_text(array.dims) + " of " +
                    std::to_string(idx_element_bytes(array.type)) + "-byte elements need " +
                    std::to_string(expected) + " bytes after the " + std::to_string(header) +
                    "-byte header, the file has " + std::to_string(bytes.size() - header));
  array.payload.assign(bytes.substr(header));
  return array;
}

IdxArray read_idx(const std::filesystem::path& path) {
  const std::string name = path.string();
  const std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(name.c_str(), "rb"), gzclose);
  if (!file) throw InputFileError(name + ": cannot be opened");
  std::string bytes;
  constexpr unsigned kChunk = 1U << 20;
  for (;;) {
    const std::size_t old_size = bytes.size();
    if (old_size >= kMaxIdxBytes)
      throw DataError(name + ": more than " + std::to_string(kMaxIdxBytes) +
                      " bytes uncompressed: too large for an IDX file kernelmc reads");
    bytes.resize(old_size + kChunk);
    const int got = gzread(file.get(), bytes.data() + old_size, kChunk);
    if (got < 0) {
      int code = 0;
      throw DataError(name + ": cannot be read: " + gzerror(file.get(), &code));
    }
    bytes.resize(old_size + static_cast<std::size_t>(got));
    if (got == 0) break;
  }
  int code = Z_OK;
  const char* message = gzerror(file.get(), &code);
  if (code != Z_OK) throw DataError(name + ": cannot be read: " + message);
  return parse_idx(bytes, name);
}

}  // namespace kernelmc::core
