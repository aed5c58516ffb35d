#include "core/layer_stack.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace kernelmc::core {
namespace {

TEST(LayerStack, IndexesByLayerNumberFromTheFirstLayer) {
  LayerStack<int> s(2, 4, 7);
  EXPECT_EQ(s.first_layer(), 2);
  EXPECT_EQ(s.last_layer(), 4);
  EXPECT_EQ(s.size(), 3);
  for (Eigen::Index l = 2; l <= 4; ++l) s.layer(l) = static_cast<int>(10 * l);
  EXPECT_EQ(s.layer(2), 20);
  EXPECT_EQ(s.layer(4), 40);
  EXPECT_TRUE(s.contains(3));
  EXPECT_FALSE(s.contains(1));
  EXPECT_FALSE(s.contains(5));
  EXPECT_EQ(std::accumulate(s.begin(), s.end(), 0), 90);  // layer order
}

TEST(LayerStack, AtNamesTheCallerAndTheLayerOutOfRange) {
  const LayerStack<double> s(1, 3, 0.5);
  EXPECT_EQ(s.at(3, "test"), 0.5);
  try {
    (void)s.at(4, "mean_shift");
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()), "mean_shift: layer 4 is outside 1..3");
  }
}

TEST(LayerStack, EmptyWhenTheRangeIsEmpty) {
  const LayerStack<int> s(2, 1);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0);
  EXPECT_EQ(s.last_layer(), 1);
  EXPECT_FALSE(s.contains(1));
  EXPECT_FALSE(s.contains(2));
}

}  // namespace
}  // namespace kernelmc::core
