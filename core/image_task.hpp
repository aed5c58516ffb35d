#pragma once
// Two-class tasks from IDX image files (data.kind = "fashion_mnist"; any IDX pair of
// items × rows × cols images and their labels works, e.g. MNIST).
//
// The pool is every image whose label is one of data.classes, in file order. Pixels are
// divided by 255 (unsigned-byte files), reduced (data.reduction) and standardised
// (data.standardize) with maps fitted on the whole pool, then the pool is put in a
// random order (data.subset_seed) and the data set is its first data.points images:
// the data set for P points is always the first P points of the one for more, and the
// inputs of a point do not depend on P. Targets: +1 for data.classes[0], −1 for [1].
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "core/dataset.hpp"
#include "core/settings/data.hpp"

namespace kernelmc::core {

// Block means of items × (rows·cols) images (row-major pixels) onto a side × side grid;
// side must divide rows and cols (DataError naming data.reduced_dim otherwise).
Eigen::MatrixXd downsample_images(const Eigen::Ref<const Eigen::MatrixXd>& images, Eigen::Index rows,
                                  Eigen::Index cols, Eigen::Index side);

// The scores of the `components` leading principal components of the rows of `pool`
// (centred with its column means; each direction's sign makes its largest-magnitude
// entry positive, so the map is deterministic). DataError unless components ≤ columns.
Eigen::MatrixXd principal_component_scores(const Eigen::Ref<const Eigen::MatrixXd>& pool,
                                           Eigen::Index components);

// Each column to mean 0 and (population) variance 1; a constant column is only centred.
void standardize_columns(Eigen::Ref<Eigen::MatrixXd> values);

// A random order of 0..count−1 (Fisher–Yates, Boost's portable uniform integers) drawn
// from make_stream(seed, StreamPurpose::dataset, 0, 0).
std::vector<Eigen::Index> random_order(Eigen::Index count, std::uint64_t seed);

// The data set `settings` (kind fashion_mnist) describes. InputFileError / DataError
// for unreadable or malformed files, a label without images, too few images for
// data.points, or a reduction that does not fit the images.
Dataset image_task_dataset(const DataSettings& settings);

}  // namespace kernelmc::core
