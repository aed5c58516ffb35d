// Tests of core/checkpoint_io.cpp: FNV-1a 64 against the published test vectors, frames that
// round-trip every value bit for bit (NaN, ±∞, −0, empty arrays), and frames with a flipped
// byte, cut short, of another kind or with bytes left over refused as DataError naming the file;
// a durable write leaves exactly the target file; an engine read back draws what the written
// one would have drawn.
#include "core/checkpoint_io.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <limits>

#include "core/error.hpp"
#include "core/json_io.hpp"

namespace kernelmc::core {
namespace {

namespace fs = std::filesystem;

// Fowler–Noll–Vo reference values (the FNV test suite, isthe.com/chongo/tech/comp/fnv).
TEST(CheckpointIo, Fnv1a64MatchesTheReferenceVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(hex64(0xaf63dc4c8601ec8cULL), "af63dc4c8601ec8c");
  EXPECT_EQ(hex64(1), "0000000000000001");
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::string sample_frame() {
  BinaryWriter w;
  w.integer(-42);
  for (const double x : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), -0.0,
                         0.1 + 0.2})
    w.real(x);
  w.text("smc");
  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, 4, 5, std::numeric_limits<double>::denorm_min();
  w.matrices({m, Eigen::MatrixXd()});
  w.vector(Eigen::VectorXd());
  return w.framed("test-magic\n");
}

TEST(CheckpointIo, FramesRoundTripBitForBit) {
  BinaryReader in(sample_frame(), "test-magic\n", "frame");
  EXPECT_EQ(in.integer(), -42);
  for (const double x : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), -0.0,
                         0.1 + 0.2})
    EXPECT_TRUE(same_bits(in.real(), x)) << x;
  EXPECT_EQ(in.text(), "smc");
  const std::vector<Eigen::MatrixXd> ms = in.matrices();
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].rows(), 2);
  EXPECT_EQ(ms[0](1, 2), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(ms[0](0, 1), 2.0);
  EXPECT_EQ(ms[1].size(), 0);
  EXPECT_EQ(in.vector().size(), 0);
  EXPECT_NO_THROW(in.finish());
}

TEST(CheckpointIo, EngineRoundTripContinuesItsStream) {
  Engine engine = make_stream(7, StreamPurpose::test, 3, 11);
  for (int i = 0; i < 5; ++i) engine();
  BinaryWriter w;
  w.engine(engine);
  w.engine(make_stream(7, StreamPurpose::test, 3, 12));  // another stream, same position
  BinaryReader in(w.framed("e\n"), "e\n", "engines");
  Engine restored = in.engine();
  Engine other = in.engine();
  in.finish();
  EXPECT_TRUE(restored == engine);
  EXPECT_FALSE(other == engine);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(restored(), engine()) << "draw " << i;
  EXPECT_EQ(other(), make_stream(7, StreamPurpose::test, 3, 12)());
}

void expect_refused(std::string frame, const std::string& magic, const std::string& says) {
  try {
    BinaryReader in(std::move(frame), magic, "unit.bin");
    in.integer();
    in.finish();
    ADD_FAILURE() << "accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("unit.bin"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST(CheckpointIo, DamagedFramesAreRefusedNamingTheFile) {
  const std::string good = sample_frame();
  for (const std::size_t at : {std::size_t{0}, std::size_t{12}, good.size() / 2, good.size() - 1}) {
    std::string flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
    expect_refused(flipped, "test-magic\n", at == 0 ? "not a kernelmc checkpoint" : "checksum");
  }
  expect_refused(good.substr(0, good.size() - 3), "test-magic\n", "checksum");
  expect_refused(good.substr(0, 5), "test-magic\n", "not a kernelmc checkpoint");
  expect_refused(good, "other-magic\n", "not a kernelmc checkpoint");
  expect_refused(good, "test-magic\n", "trailing bytes");  // reads one integer of many
  BinaryWriter short_frame;
  short_frame.integer(7);
  BinaryReader in(short_frame.framed("m"), "m", "unit.bin");
  in.integer();
  EXPECT_THROW(in.real(), DataError);
}

TEST(CheckpointIo, DurableWriteLeavesOnlyTheTarget) {
  const fs::path dir = fs::temp_directory_path() / ("kernelmc_checkpoint_io_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  write_file_durable(dir / "units" / "a.bin", "first");
  write_file_durable(dir / "units" / "a.bin", "second");
  EXPECT_EQ(read_text_file(dir / "units" / "a.bin", "test"), "second");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "units")) ++files;
  EXPECT_EQ(files, 1u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kernelmc::core
