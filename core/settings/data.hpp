#pragma once
// The [data] section of Config: which data set a run uses (core/dataset_generators.hpp).
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "core/activation.hpp"

namespace kernelmc::core {

// [data]: a built-in generator, CSV files or a two-class task from IDX image files.
struct DataSettings {
  std::string kind = "xor";        // xor | config_a | config_b | teacher | csv | fashion_mnist
  // P (xor, teacher, fashion_mnist). A proportional study (validation.study) takes the
  // first round(αN) of these points at width N, so here it is the size of the pool.
  Eigen::Index points = 8;
  Eigen::Index input_dim = 4;      // d (xor, teacher)
  double noise = 0.1;              // xor: std of the Gaussian clusters; teacher: std of label noise
  Eigen::Index teacher_width = 32; // teacher: hidden width of the random one-hidden-layer teacher
  Activation teacher_activation = Activation::erf;  // teacher: its activation
  std::string inputs_csv;          // csv: P rows of d numbers
  std::string targets_csv;         // csv: P rows of D numbers
  bool csv_header = false;         // csv: skip one header line in both files
  // fashion_mnist: IDX images (items × rows × cols) and labels, gzip-compressed or plain;
  // the defaults are where Debian's dataset-fashion-mnist package installs the training set.
  std::string images_idx = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  std::string labels_idx = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";
  // fashion_mnist: the two labels of the task, target +1 for the first and −1 for the
  // second. 0 and 6 are Fashion-MNIST's T-shirt/top and shirt, its most confused pair.
  std::vector<Eigen::Index> classes = {0, 6};
  // fashion_mnist: "none" (every pixel), "downsample" (block means onto an s×s grid,
  // reduced_dim = s², s dividing the image side) or "pca" (the reduced_dim leading
  // principal components of the two classes' whole training pool).
  std::string reduction = "downsample";
  Eigen::Index reduced_dim = 49;   // fashion_mnist: input dimension d after the reduction
  // fashion_mnist: each input coordinate to mean 0 and variance 1 over the two classes'
  // whole pool (so that the points drawn do not change the map and subsets nest).
  bool standardize = true;
  // fashion_mnist: seed of the random order of the pool; the data set is its first P points.
  std::uint64_t subset_seed = 0;
  bool operator==(const DataSettings&) const = default;
};

void validate(const DataSettings& settings);

}  // namespace kernelmc::core
