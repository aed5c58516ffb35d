#include "core/image_task.hpp"

#include <Eigen/Eigenvalues>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/idx.hpp"
#include "core/rng.hpp"

namespace kernelmc::core {

namespace {

// Images and labels as read, checked against each other.
struct LabelledImages {
  IdxArray images;  // items × rows × cols
  IdxArray labels;  // items
};

LabelledImages read_labelled_images(const DataSettings& s) {
  LabelledImages out{read_idx(s.images_idx), read_idx(s.labels_idx)};
  if (out.images.dims.size() != 3)
    throw DataError("data.images_idx (" + s.images_idx + ") has " +
                    std::to_string(out.images.dims.size()) +
                    " dimensions: images need 3 (items x rows x cols)");
  if (out.labels.dims.size() != 1)
    throw DataError("data.labels_idx (" + s.labels_idx + ") has " +
                    std::to_string(out.labels.dims.size()) + " dimensions: labels need 1 (items)");
  if (out.labels.dims[0] != out.images.dims[0])
    throw DataError("data.labels_idx (" + s.labels_idx + ") has " + std::to_string(out.labels.dims[0]) +
                    " labels but data.images_idx (" + s.images_idx + ") has " +
                    std::to_string(out.images.dims[0]) + " images; they must match");
  return out;
}

// Indices (file order) of the items labelled classes[0] or classes[1], and their targets ±1.
std::pair<std::vector<std::size_t>, std::vector<double>> class_pool(const DataSettings& s,
                                                                    const IdxArray& labels) {
  std::vector<std::size_t> items;
  std::vector<double> targets;
  std::size_t counts[2] = {0, 0};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double label = labels.value(i);
    for (int k = 0; k < 2; ++k) {
      if (label != static_cast<double>(s.classes[k])) continue;
      items.push_back(i);
      targets.push_back(k == 0 ? 1.0 : -1.0);
      ++counts[k];
    }
  }
  for (int k = 0; k < 2; ++k) {
    if (counts[k] == 0)
      throw DataError("data.classes = [" + std::to_string(s.classes[0]) + ", " +
                      std::to_string(s.classes[1]) + "]: no item of " + s.labels_idx +
                      " has label " + std::to_string(s.classes[k]));
  }
  return {std::move(items), std::move(targets)};
}

// The pool's pixels, items × (rows·cols); unsigned bytes scaled by 1/255 to [0, 1].
Eigen::MatrixXd pool_pixels(const IdxArray& images, const std::vector<std::size_t>& items) {
  const std::size_t pixels = images.item_size();
  const double scale = images.type == IdxType::unsigned_byte ? 1.0 / 255.0 : 1.0;
  Eigen::MatrixXd out(static_cast<Eigen::Index>(items.size()), static_cast<Eigen::Index>(pixels));
  for (std::size_t r = 0; r < items.size(); ++r) {
    for (std::size_t p = 0; p < pixels; ++p)
      out(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(p)) =
          scale * images.value(items[r] * pixels + p);
  }
  return out;
}

Eigen::MatrixXd reduced_pool(const DataSettings& s, const IdxArray& images, Eigen::MatrixXd pool) {
  if (s.reduction == "none") return pool;
  const auto rows = static_cast<Eigen::Index>(images.dims[1]);
  const auto cols = static_cast<Eigen::Index>(images.dims[2]);
  if (s.reduction == "pca") return principal_component_scores(pool, s.reduced_dim);
  const auto side = static_cast<Eigen::Index>(std::llround(std::sqrt(static_cast<double>(s.reduced_dim))));
  if (side * side != s.reduced_dim)
    throw DataError("data.reduced_dim = " + std::to_string(s.reduced_dim) +
                    ": downsample needs a square number s*s (s dividing the image side)");
  return downsample_images(pool, rows, cols, side);
}

}  // namespace

Eigen::MatrixXd downsample_images(const Eigen::Ref<const Eigen::MatrixXd>& images, Eigen::Index rows,
                                  Eigen::Index cols, Eigen::Index side) {
  if (side < 1 || rows % side != 0 || cols % side != 0)
    throw DataError("data.reduced_dim = " + std::to_string(side * side) + ": the grid side " +
                    std::to_string(side) + " must divide the image size " + std::to_string(rows) +
                    "x" + std::to_string(cols));
  const Eigen::Index block_rows = rows / side;
  const Eigen::Index block_cols = cols / side;
  const double weight = 1.0 / static_cast<double>(block_rows * block_cols);
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(images.rows(), side * side);
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < cols; ++c)
      out.col((r / block_rows) * side + c / block_cols) += weight * images.col(r * cols + c);
  }
  return out;
}

Eigen::MatrixXd principal_component_scores(const Eigen::Ref<const Eigen::MatrixXd>& pool,
                                           Eigen::Index components) {
  if (components > pool.cols())
    throw DataError("data.reduced_dim = " + std::to_string(components) + ": pca keeps at most the " +
                    std::to_string(pool.cols()) + " input dimensions");
  const Eigen::RowVectorXd mean = pool.colwise().mean();
  const Eigen::MatrixXd centred = pool.rowwise() - mean;
  Eigen::MatrixXd scatter(pool.cols(), pool.cols());
  scatter.setZero();
  scatter.selfadjointView<Eigen::Lower>().rankUpdate(centred.transpose());
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(scatter.selfadjointView<Eigen::Lower>());
  if (eigen.info() != Eigen::Success) throw NumericalError("data.reduction = \"pca\": eigensolver failed");
  // Eigenvalues come in increasing order: the leading components are the last columns.
  Eigen::MatrixXd directions = eigen.eigenvectors().rightCols(components).rowwise().reverse();
  for (Eigen::Index k = 0; k < components; ++k) {
    Eigen::Index largest = 0;
    directions.col(k).cwiseAbs().maxCoeff(&largest);
    if (directions(largest, k) < 0.0) directions.col(k) *= -1.0;
  }
  return centred * directions;
}

void standardize_columns(Eigen::Ref<Eigen::MatrixXd> values) {
  const double rows = static_cast<double>(values.rows());
  for (Eigen::Index j = 0; j < values.cols(); ++j) {
    values.col(j).array() -= values.col(j).sum() / rows;
    const double sd = std::sqrt(values.col(j).squaredNorm() / rows);
    if (sd > 0.0) values.col(j) /= sd;
  }
}

std::vector<Eigen::Index> random_order(Eigen::Index count, std::uint64_t seed) {
  std::vector<Eigen::Index> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  Engine engine = make_stream(seed, StreamPurpose::dataset, 0, 0);
  for (Eigen::Index i = count - 1; i > 0; --i) {
    boost::random::uniform_int_distribution<Eigen::Index> pick(0, i);
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(pick(engine))]);
  }
  return order;
}

Dataset image_task_dataset(const DataSettings& settings) {
  const LabelledImages files = read_labelled_images(settings);
  const auto [items, targets] = class_pool(settings, files.labels);
  const auto pool_size = static_cast<Eigen::Index>(items.size());
  if (settings.points > pool_size)
    throw DataError("data.points = " + std::to_string(settings.points) + ": classes " +
                    std::to_string(settings.classes[0]) + " and " + std::to_string(settings.classes[1]) +
                    " of " + settings.labels_idx + " have only " + std::to_string(pool_size) + " images");
  Eigen::MatrixXd pool = reduced_pool(settings, files.images, pool_pixels(files.images, items));
  if (settings.standardize) standardize_columns(pool);
  const std::vector<Eigen::Index> order = random_order(pool_size, settings.subset_seed);
  Dataset data;
  data.name = "fashion_mnist:" + std::to_string(settings.classes[0]) + "v" +
              std::to_string(settings.classes[1]);
  data.inputs.resize(settings.points, pool.cols());
  data.targets.resize(settings.points, 1);
  for (Eigen::Index a = 0; a < settings.points; ++a) {
    const Eigen::Index item = order[static_cast<std::size_t>(a)];
    data.inputs.row(a) = pool.row(item);
    data.targets(a, 0) = targets[static_cast<std::size_t>(item)];
  }
  return data;
}

}  // namespace kernelmc::core
