// Tests of core/npy.cpp against the .npy format 1.0 specification (numpy.lib.format):
// magic, version, little-endian header length, dict header padded with spaces and a
// final '\n' to a multiple of 64 bytes, then the raw little-endian doubles.
#include "core/npy.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "core/json_io.hpp"

namespace kernelmc::core {
namespace {

std::uint64_t little_endian_word(const std::string& bytes, std::size_t offset) {
  std::uint64_t word = 0;
  for (int i = 7; i >= 0; --i)
    word = (word << 8) | static_cast<unsigned char>(bytes[offset + static_cast<std::size_t>(i)]);
  return word;
}

TEST(Npy, HeaderBytesFollowTheSpec) {
  const std::vector<double> values = {1.0, -2.5, 0.1, 3.0, 4.0, 1e-300};
  const std::string bytes = npy_bytes(values, {2, 3});
  // The dict below is 59 characters; 10 + 59 + 58 spaces + '\n' = 128 = 2·64.
  const std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(dict.size(), 59u);
  const std::string expected_header = dict + std::string(58, ' ') + "\n";
  std::string expected_preamble = "\x93NUMPY";
  expected_preamble += '\x01';
  expected_preamble += '\x00';
  expected_preamble += static_cast<char>(118);  // header length 118 = 0x0076, little-endian
  expected_preamble += '\x00';
  ASSERT_EQ(bytes.size(), 128u + 8u * values.size());
  EXPECT_EQ(bytes.substr(0, 10), expected_preamble);
  EXPECT_EQ(bytes.substr(10, 118), expected_header);
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(little_endian_word(bytes, 128 + 8 * i), std::bit_cast<std::uint64_t>(values[i]));
}

TEST(Npy, OneAndZeroDimensionalShapesUsePythonTuples) {
  const std::string one = npy_bytes({1, 2, 3, 4, 5}, {5});
  EXPECT_NE(one.find("'shape': (5,), }"), std::string::npos);
  const std::string scalar = npy_bytes({7}, {});
  EXPECT_NE(scalar.find("'shape': (), }"), std::string::npos);
  const std::string empty = npy_bytes({}, {0, 4});
  EXPECT_NE(empty.find("'shape': (0, 4), }"), std::string::npos);
  for (const std::string& bytes : {one, scalar, empty}) {
    const std::size_t header_length = static_cast<unsigned char>(bytes[8]) +
                                      256u * static_cast<unsigned char>(bytes[9]);
    EXPECT_EQ((10 + header_length) % 64, 0u);
    EXPECT_EQ(bytes[10 + header_length - 1], '\n');
  }
}

TEST(Npy, LongShapeStillPadsToSixtyFour) {
  const std::vector<Eigen::Index> shape(20, 1);
  const std::string bytes = npy_bytes({2.0}, shape);
  const std::size_t header_length = static_cast<unsigned char>(bytes[8]) +
                                    256u * static_cast<unsigned char>(bytes[9]);
  EXPECT_EQ((10 + header_length) % 64, 0u);
  EXPECT_GT(header_length, 64u);
  EXPECT_EQ(bytes.size(), 10 + header_length + 8);
}

TEST(Npy, ShapeThatDoesNotMatchValuesIsAnError) {
  EXPECT_THROW(npy_bytes({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(npy_bytes({}, {-1}), Error);
  // A shape whose product overflows (2^64 wraps to 0) is refused, not taken for "no values"
  // (found by tests/fuzz/fuzz_npy.cpp; corpus input npy/huge).
  EXPECT_THROW(npy_bytes({}, {Eigen::Index{1} << 32, Eigen::Index{1} << 32}), Error);
}

TEST(Npy, WriteNpyWritesTheBytes) {
  const auto path = std::filesystem::path(::testing::TempDir()) / "kernelmc_npy_test" / "a.npy";
  write_npy(path, {1.5, 2.5}, {2, 1});
  EXPECT_EQ(read_text_file(path, "npy"), npy_bytes({1.5, 2.5}, {2, 1}));
  std::filesystem::remove_all(path.parent_path());
}

}  // namespace
}  // namespace kernelmc::core
