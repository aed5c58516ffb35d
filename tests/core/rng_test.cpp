// Tests of core/rng.cpp: streams depend on their ids only.
#include "core/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace kernelmc::core {
namespace {

std::vector<std::uint64_t> first_words(Engine engine, int n = 8) {
  std::vector<std::uint64_t> words;
  for (int i = 0; i < n; ++i) words.push_back(engine());
  return words;
}

TEST(MakeStream, IdenticalIdsGiveIdenticalSequences) {
  EXPECT_EQ(first_words(make_stream(7, StreamPurpose::prior_network, 64, 3)),
            first_words(make_stream(7, StreamPurpose::prior_network, 64, 3)));
  Engine a = make_stream(7, StreamPurpose::test, 0, 0);
  Engine b = make_stream(7, StreamPurpose::test, 0, 0);
  EXPECT_EQ(standard_normal_matrix(a, 3, 4), standard_normal_matrix(b, 3, 4));
}

TEST(MakeStream, ChangingAnyIdChangesTheSequence) {
  const auto base = first_words(make_stream(7, StreamPurpose::prior_network, 64, 3));
  const std::vector<Engine> changed = {
      make_stream(8, StreamPurpose::prior_network, 64, 3),
      make_stream(7, StreamPurpose::chain_init, 64, 3),
      make_stream(7, StreamPurpose::prior_network, 65, 3),
      make_stream(7, StreamPurpose::prior_network, 64, 4),
      // Swapped ids must not collide either.
      make_stream(7, StreamPurpose::prior_network, 3, 64),
  };
  for (const Engine& engine : changed) {
    const auto words = first_words(engine);
    for (std::size_t i = 0; i < words.size(); ++i) EXPECT_NE(words[i], base[i]) << "word " << i;
  }
}

TEST(MakeStream, ManyIndicesGiveDistinctFirstWords) {
  std::vector<std::uint64_t> seen;
  for (std::uint64_t index = 0; index < 1000; ++index)
    seen.push_back(make_stream(1, StreamPurpose::prior_network, 16, index)());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

TEST(FillStandardNormal, FillsColumnByColumnFromOneStream) {
  Engine a = make_stream(2, StreamPurpose::test, 0, 0);
  Eigen::MatrixXd m(3, 2);
  fill_standard_normal(a, m);
  Engine b = make_stream(2, StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd column_major = standard_normal_matrix(b, 6, 1);
  EXPECT_EQ(Eigen::Map<const Eigen::VectorXd>(m.data(), 6), column_major.col(0));
  // Into a block: only the block is written.
  Eigen::MatrixXd big = Eigen::MatrixXd::Zero(4, 4);
  Engine c = make_stream(2, StreamPurpose::test, 0, 0);
  fill_standard_normal(c, big.block(1, 1, 3, 2));
  EXPECT_EQ(big.block(1, 1, 3, 2), m);
  EXPECT_EQ(big.row(0).squaredNorm() + big.col(0).squaredNorm() + big.col(3).squaredNorm(), 0.0);
}

TEST(Uniform01, StaysInTheUnitInterval) {
  Engine engine = make_stream(3, StreamPurpose::test, 0, 0);
  for (int i = 0; i < 10000; ++i) {
    const double u = uniform01(engine);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace kernelmc::core
