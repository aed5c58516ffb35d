// Tests of core/image_task.cpp on tiny IDX files the tests write: the two-class pool,
// targets ±1, nesting of subsets, downsampling, PCA, standardisation, the errors; and,
// when Debian's dataset-fashion-mnist is installed, the real training set.
#include "core/image_task.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"

namespace kernelmc::core {
namespace {

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("kernelmc_image_task_test_" + name);
}

// A plain IDX file of unsigned bytes with the given sizes.
void write_idx(const std::filesystem::path& path, const std::vector<std::uint32_t>& dims,
               const std::vector<unsigned char>& values) {
  std::string out = {'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xFF);
  }
  for (unsigned char v : values) out += static_cast<char>(v);
  std::ofstream(path, std::ios::binary) << out;
}

// Eight 4×4 images; image i has pixel p = 10·i + p. Labels 0, 1, 2, 0, 1, 0, 2, 1.
const std::vector<unsigned char> kLabels = {0, 1, 2, 0, 1, 0, 2, 1};

DataSettings tiny_task() {
  std::vector<unsigned char> pixels;
  for (int i = 0; i < 8; ++i) {
    for (int p = 0; p < 16; ++p) pixels.push_back(static_cast<unsigned char>(10 * i + p));
  }
  write_idx(temp_file("images.idx"), {8, 4, 4}, pixels);
  write_idx(temp_file("labels.idx"), {8}, kLabels);
  DataSettings s;
  s.kind = "fashion_mnist";
  s.images_idx = temp_file("images.idx").string();
  s.labels_idx = temp_file("labels.idx").string();
  s.classes = {0, 1};
  s.points = 6;
  s.reduction = "none";
  s.standardize = false;
  s.subset_seed = 5;
  return s;
}

std::string data_error(const DataSettings& s) {
  try {
    image_task_dataset(s);
  } catch (const DataError& error) {
    return error.what();
  }
  return "(no DataError)";
}

TEST(ImageTask, PoolIsTheTwoClassesInRandomOrderWithTargetsPlusMinusOne) {
  const DataSettings s = tiny_task();
  const Dataset data = make_dataset(s, 0);
  ASSERT_EQ(data.size(), 6);
  ASSERT_EQ(data.input_dim(), 16);
  const std::vector<Eigen::Index> pool = {0, 1, 3, 4, 5, 7};  // labels 0 or 1, file order
  const std::vector<Eigen::Index> order = random_order(6, s.subset_seed);
  for (Eigen::Index a = 0; a < 6; ++a) {
    const Eigen::Index item = pool[static_cast<std::size_t>(order[static_cast<std::size_t>(a)])];
    EXPECT_DOUBLE_EQ(data.inputs(a, 3), (10.0 * static_cast<double>(item) + 3.0) / 255.0);
    EXPECT_EQ(data.targets(a, 0), kLabels[static_cast<std::size_t>(item)] == 0 ? 1.0 : -1.0);
  }
  EXPECT_EQ(data.name, "fashion_mnist:0v1");
}

TEST(ImageTask, SmallerSubsetIsThePrefixOfTheLargerOne) {
  DataSettings s = tiny_task();
  s.reduction = "downsample";
  s.reduced_dim = 4;
  s.standardize = true;
  const Dataset large = image_task_dataset(s);
  s.points = 3;
  const Dataset small = image_task_dataset(s);
  EXPECT_EQ(small.inputs, large.inputs.topRows(3));
  EXPECT_EQ(small.targets, large.targets.topRows(3));
}

TEST(ImageTask, RandomOrderIsAPermutationFixedByTheSeed) {
  std::vector<Eigen::Index> order = random_order(50, 3);
  EXPECT_EQ(order, random_order(50, 3));
  EXPECT_NE(order, random_order(50, 4));
  std::sort(order.begin(), order.end());
  for (Eigen::Index i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(ImageTask, DownsampleTakesBlockMeans) {
  Eigen::MatrixXd image(1, 16);
  for (int p = 0; p < 16; ++p) image(0, p) = p;  // row-major 4×4: pixel (r, c) = 4r + c
  const Eigen::MatrixXd grid = downsample_images(image, 4, 4, 2);
  ASSERT_EQ(grid.cols(), 4);
  EXPECT_DOUBLE_EQ(grid(0, 0), (0 + 1 + 4 + 5) / 4.0);
  EXPECT_DOUBLE_EQ(grid(0, 1), (2 + 3 + 6 + 7) / 4.0);
  EXPECT_DOUBLE_EQ(grid(0, 2), (8 + 9 + 12 + 13) / 4.0);
  EXPECT_DOUBLE_EQ(grid(0, 3), (10 + 11 + 14 + 15) / 4.0);
  EXPECT_THROW(downsample_images(image, 4, 4, 3), DataError);
}

TEST(ImageTask, PrincipalComponentsOfAxisAlignedDataAreTheAxesByVariance) {
  // Columns with variances 1, 9, 4 along orthogonal ±1 patterns: the components are the
  // axes 2, 3, 1 in that order, each oriented so its largest entry is positive.
  Eigen::MatrixXd pool(4, 3);
  pool << 1, 3, 2,
          -1, 3, -2,
          1, -3, -2,
          -1, -3, 2;
  pool.rowwise() += Eigen::RowVector3d(5, -1, 2);  // a mean the map removes
  const Eigen::MatrixXd scores = principal_component_scores(pool, 3);
  const Eigen::MatrixXd centred = pool.rowwise() - pool.colwise().mean();
  EXPECT_LT((scores.col(0) - centred.col(1)).norm(), 1e-12);
  EXPECT_LT((scores.col(1) - centred.col(2)).norm(), 1e-12);
  EXPECT_LT((scores.col(2) - centred.col(0)).norm(), 1e-12);
  EXPECT_EQ(principal_component_scores(pool, 1).cols(), 1);
  EXPECT_THROW(principal_component_scores(pool, 4), DataError);
}

TEST(ImageTask, StandardizedColumnsHaveMeanZeroAndVarianceOneConstantOnesAreCentred) {
  Eigen::MatrixXd values(3, 2);
  values << 1, 7, 2, 7, 6, 7;
  standardize_columns(values);
  EXPECT_NEAR(values.col(0).mean(), 0.0, 1e-15);
  EXPECT_NEAR(values.col(0).squaredNorm() / 3.0, 1.0, 1e-15);
  EXPECT_EQ(values.col(1), Eigen::Vector3d::Zero());
}

TEST(ImageTask, ProblemsNameTheFieldAndTheValue) {
  DataSettings s = tiny_task();
  s.classes = {0, 9};
  EXPECT_EQ(data_error(s), "data.classes = [0, 9]: no item of " + s.labels_idx + " has label 9");
  s = tiny_task();
  s.points = 7;
  EXPECT_EQ(data_error(s), "data.points = 7: classes 0 and 1 of " + s.labels_idx + " have only 6 images");
  s = tiny_task();
  s.reduction = "downsample";
  s.reduced_dim = 8;
  EXPECT_EQ(data_error(s), "data.reduced_dim = 8: downsample needs a square number s*s (s dividing the image side)");
  s.reduced_dim = 9;
  EXPECT_EQ(data_error(s), "data.reduced_dim = 9: the grid side 3 must divide the image size 4x4");
  s = tiny_task();
  write_idx(temp_file("labels7.idx"), {7}, {0, 1, 0, 1, 0, 1, 0});
  s.labels_idx = temp_file("labels7.idx").string();
  EXPECT_EQ(data_error(s), "data.labels_idx (" + s.labels_idx + ") has 7 labels but data.images_idx (" +
                               s.images_idx + ") has 8 images; they must match");
  s = tiny_task();
  write_idx(temp_file("flat.idx"), {8, 16}, std::vector<unsigned char>(128, 1));
  s.images_idx = temp_file("flat.idx").string();
  EXPECT_EQ(data_error(s), "data.images_idx (" + s.images_idx +
                               ") has 2 dimensions: images need 3 (items x rows x cols)");
}

// The real training set of Debian's dataset-fashion-mnist (scripts/install-deps.sh).
TEST(ImageTask, FashionMnistTshirtVersusShirt) {
  const DataSettings defaults;
  if (!std::filesystem::exists(defaults.images_idx)) GTEST_SKIP() << defaults.images_idx << " is not installed";
  DataSettings s;
  s.kind = "fashion_mnist";
  s.points = 512;
  const Dataset data = make_dataset(s, 0);
  EXPECT_EQ(data.size(), 512);
  EXPECT_EQ(data.input_dim(), 49);
  const Eigen::Index positives = (data.targets.array() > 0.0).count();
  EXPECT_EQ(positives + (data.targets.array() < 0.0).count(), 512);
  // 6000 images of each class: the count of +1 is Binomial-like (hypergeometric) with
  // mean 256 and SD ≤ 11.3; ±5 SD.
  EXPECT_GT(positives, 256 - 57);
  EXPECT_LT(positives, 256 + 57);
  // Standardised over the 12000-image pool: a 512-point subset has coordinates of
  // variance ≈ 1 (mean over 49 coordinates, far from 0 or 10).
  const double mean_square = data.inputs.squaredNorm() / static_cast<double>(data.inputs.size());
  EXPECT_GT(mean_square, 0.5);
  EXPECT_LT(mean_square, 2.0);
}

}  // namespace
}  // namespace kernelmc::core
