#include "core/dataset_generators.hpp"

#include <cassert>
#include <cmath>
#include <string>

#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/image_task.hpp"

namespace kernelmc::core {

Dataset xor_dataset(Eigen::Index points, Eigen::Index input_dim, double noise, Engine& engine) {
  assert(points >= 1 && input_dim >= 2 && noise >= 0.0);
  // Centres in the order of Config B (THEORY.md §8): (1, 1), (1, −1), (−1, 1), (−1, −1).
  constexpr double kCentres[4][2] = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
  Dataset data;
  data.name = "xor";
  data.inputs = noise * standard_normal_matrix(engine, points, input_dim);
  data.targets.resize(points, 1);
  for (Eigen::Index a = 0; a < points; ++a) {
    const double* c = kCentres[a % 4];
    data.inputs(a, 0) += c[0];
    data.inputs(a, 1) += c[1];
    data.targets(a, 0) = c[0] * c[1];  // sign(c₁c₂)
  }
  return data;
}

Dataset config_a_dataset() {
  // THEORY.md §8 Config A: X = √3 [[1, 0, 0], [0.6, 0.8, 0], [0, 0.6, 0.8]].
  const Eigen::MatrixXd X = (Eigen::MatrixXd(3, 3) << 1.0, 0.0, 0.0,
                                                      0.6, 0.8, 0.0,
                                                      0.0, 0.6, 0.8).finished();
  return {std::sqrt(3.0) * X, Eigen::Vector3d(1, -1, 1), "config_a"};
}

Dataset config_b_dataset() {
  // THEORY.md §8 Config B: XOR with a constant third input.
  const Eigen::MatrixXd X = (Eigen::MatrixXd(4, 3) << 1, 1, 1,
                                                      1, -1, 1,
                                                      -1, 1, 1,
                                                      -1, -1, 1).finished();
  return {X, Eigen::Vector4d(1, -1, -1, 1), "config_b"};
}

Dataset teacher_dataset(Eigen::Index points, Eigen::Index input_dim, Eigen::Index teacher_width,
                        Activation activation, double noise, Engine& engine) {
  assert(points >= 1 && input_dim >= 1 && teacher_width >= 1 && noise >= 0.0);
  // Draw order (fixed, result files depend on it): X, W₀, w, label noise.
  Dataset data;
  data.name = "teacher";
  data.inputs = standard_normal_matrix(engine, points, input_dim);
  const Eigen::MatrixXd W0 = standard_normal_matrix(engine, teacher_width, input_dim);
  const Eigen::MatrixXd w = standard_normal_matrix(engine, teacher_width, 1);
  const Eigen::MatrixXd epsilon = standard_normal_matrix(engine, points, 1);
  Eigen::MatrixXd h(points, teacher_width);
  h.noalias() = data.inputs * W0.transpose();
  h /= std::sqrt(static_cast<double>(input_dim));
  apply_activation(activation, h, h);
  data.targets.resize(points, 1);
  data.targets.noalias() = h * w;
  data.targets /= std::sqrt(static_cast<double>(teacher_width));
  data.targets += noise * epsilon;
  return data;
}

Dataset make_dataset(const DataSettings& settings, std::uint64_t seed) {
  validate(settings);
  Engine engine = make_stream(seed, StreamPurpose::dataset, 0, 0);
  Dataset data;
  if (settings.kind == "xor") {
    data = xor_dataset(settings.points, settings.input_dim, settings.noise, engine);
  } else if (settings.kind == "config_a") {
    data = config_a_dataset();
  } else if (settings.kind == "config_b") {
    data = config_b_dataset();
  } else if (settings.kind == "teacher") {
    data = teacher_dataset(settings.points, settings.input_dim, settings.teacher_width,
                           settings.teacher_activation, settings.noise, engine);
  } else if (settings.kind == "fashion_mnist") {
    data = image_task_dataset(settings);
  } else {
    assert(settings.kind == "csv");  // validate() admits no other kind
    data.name = "csv:" + settings.inputs_csv;
    data.inputs = read_csv_matrix(settings.inputs_csv, settings.csv_header);
    data.targets = read_csv_matrix(settings.targets_csv, settings.csv_header);
    if (data.inputs.rows() != data.targets.rows())
      throw DataError("data.targets_csv (" + settings.targets_csv + ") has " +
                      std::to_string(data.targets.rows()) + " rows but data.inputs_csv (" +
                      settings.inputs_csv + ") has " + std::to_string(data.inputs.rows()) +
                      "; they must match (P)");
  }
  validate(data);
  return data;
}

}  // namespace kernelmc::core
