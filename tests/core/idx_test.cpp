// Tests of core/idx.cpp: every IDX element type read big-endian, the header checks (each
// message names the source and the problem), plain and gzip-compressed files.
#include "core/idx.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include "core/error.hpp"

namespace kernelmc::core {
namespace {

// An IDX file's bytes: magic 0 0 type n, then the sizes big-endian, then `payload`.
std::string idx_bytes(unsigned char type, std::initializer_list<std::uint32_t> dims,
                      const std::string& payload) {
  std::string out = {'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xFF);
  }
  return out + payload;
}

std::string bytes_of(std::initializer_list<unsigned char> values) {
  std::string out;
  for (unsigned char v : values) out += static_cast<char>(v);
  return out;
}

std::string data_error(const std::string& bytes) {
  try {
    parse_idx(bytes, "t.idx");
  } catch (const DataError& error) {
    return error.what();
  }
  return "(no DataError)";
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("kernelmc_idx_test_" + name);
}

void write_plain(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gzip(const std::filesystem::path& path, const std::string& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

TEST(Idx, UnsignedBytesKeepSizesAndRowMajorOrder) {
  const IdxArray a = parse_idx(idx_bytes(0x08, {2, 3}, bytes_of({0, 1, 2, 253, 254, 255})), "t.idx");
  EXPECT_EQ(a.type, IdxType::unsigned_byte);
  EXPECT_EQ(a.dims, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(a.size(), 6u);
  EXPECT_EQ(a.item_size(), 3u);
  EXPECT_EQ(a.value(0), 0.0);
  EXPECT_EQ(a.value(2), 2.0);
  EXPECT_EQ(a.value(3), 253.0);
  EXPECT_EQ(a.value(5), 255.0);
}

TEST(Idx, SignedIntegerTypesAreTwosComplementBigEndian) {
  EXPECT_EQ(parse_idx(idx_bytes(0x09, {1}, bytes_of({0xFE})), "t").value(0), -2.0);
  EXPECT_EQ(parse_idx(idx_bytes(0x0B, {1}, bytes_of({0xFF, 0x38})), "t").value(0), -200.0);
  EXPECT_EQ(parse_idx(idx_bytes(0x0B, {1}, bytes_of({0x01, 0x02})), "t").value(0), 258.0);
  EXPECT_EQ(parse_idx(idx_bytes(0x0C, {1}, bytes_of({0xFF, 0xFF, 0xFF, 0xFF})), "t").value(0), -1.0);
  EXPECT_EQ(parse_idx(idx_bytes(0x0C, {1}, bytes_of({0x00, 0x01, 0x00, 0x00})), "t").value(0), 65536.0);
}

TEST(Idx, FloatTypesAreIeeeBigEndian) {
  // 1.5f = 0x3FC00000; −0.25 = 0xBFD0000000000000.
  EXPECT_EQ(parse_idx(idx_bytes(0x0D, {1}, bytes_of({0x3F, 0xC0, 0, 0})), "t").value(0), 1.5);
  EXPECT_EQ(parse_idx(idx_bytes(0x0E, {1}, bytes_of({0xBF, 0xD0, 0, 0, 0, 0, 0, 0})), "t").value(0), -0.25);
}

TEST(Idx, ElementBytesPerType) {
  EXPECT_EQ(idx_element_bytes(IdxType::unsigned_byte), 1u);
  EXPECT_EQ(idx_element_bytes(IdxType::int16), 2u);
  EXPECT_EQ(idx_element_bytes(IdxType::float32), 4u);
  EXPECT_EQ(idx_element_bytes(IdxType::float64), 8u);
}

TEST(Idx, HeaderProblemsNameTheSourceAndTheRule) {
  EXPECT_EQ(data_error(bytes_of({0, 0, 8})), "t.idx: 3 bytes, too short for the 4-byte IDX magic number");
  EXPECT_EQ(data_error(bytes_of({0x1F, 0x8B, 8, 1})),
            "t.idx: the magic number starts with 0x1F 0x8B, not 0x00 0x00: not an IDX file");
  EXPECT_EQ(data_error(bytes_of({0, 0, 0x07, 1, 0, 0, 0, 1, 0})),
            "t.idx: type code 0x07 is unknown (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  EXPECT_EQ(data_error(bytes_of({0, 0, 8, 0})), "t.idx: the magic number declares 0 dimensions (need at least 1)");
  EXPECT_EQ(data_error(bytes_of({0, 0, 8, 3, 0, 0, 0, 1})),
            "t.idx: the header of 3 dimensions needs 16 bytes, the file has 8");
  EXPECT_EQ(data_error(idx_bytes(0x08, {2, 0}, "")), "t.idx: dimension 2 has size 0: every size must be positive");
}

TEST(Idx, PayloadLengthMustMatchTheSizes) {
  EXPECT_EQ(data_error(idx_bytes(0x08, {2, 3}, "12345")),
            "t.idx: sizes 2x3 of 1-byte elements need 6 bytes after the 12-byte header, the file has 5");
  EXPECT_EQ(data_error(idx_bytes(0x0B, {2}, "12345")),
            "t.idx: sizes 2 of 2-byte elements need 4 bytes after the 8-byte header, the file has 5");
}

TEST(Idx, HugeDeclaredSizesAreRefusedWithoutAllocating) {
  const std::string message = data_error(idx_bytes(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, ""));
  EXPECT_EQ(message, "t.idx: the header declares more than 4294967296 bytes of elements");
}

TEST(Idx, PlainAndGzipFilesReadTheSame) {
  const std::string bytes = idx_bytes(0x08, {2, 2}, bytes_of({7, 8, 9, 10}));
  write_plain(temp_file("plain.idx"), bytes);
  write_gzip(temp_file("packed.idx.gz"), bytes);
  const IdxArray plain = read_idx(temp_file("plain.idx"));
  const IdxArray packed = read_idx(temp_file("packed.idx.gz"));
  EXPECT_EQ(plain.dims, packed.dims);
  EXPECT_EQ(plain.payload, packed.payload);
  EXPECT_EQ(packed.value(3), 10.0);
}

TEST(Idx, FileProblemsNameTheFile) {
  const std::filesystem::path missing = temp_file("missing.idx");
  std::filesystem::remove(missing);
  EXPECT_THROW(read_idx(missing), InputFileError);
  write_plain(temp_file("short.idx"), idx_bytes(0x08, {4}, "ab"));
  try {
    read_idx(temp_file("short.idx"));
    FAIL() << "no DataError";
  } catch (const DataError& error) {
    EXPECT_NE(std::string(error.what()).find(temp_file("short.idx").string() + ": sizes 4"), std::string::npos)
        << error.what();
  }
}

TEST(Idx, TruncatedGzipStreamIsADataError) {
  const std::filesystem::path whole = temp_file("whole.idx.gz");
  write_gzip(whole, idx_bytes(0x08, {64}, std::string(64, 'x')));
  std::ifstream in(whole, std::ios::binary);
  const std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_plain(temp_file("cut.idx.gz"), packed.substr(0, packed.size() - 6));
  EXPECT_THROW(read_idx(temp_file("cut.idx.gz")), DataError);
}

}  // namespace
}  // namespace kernelmc::core
