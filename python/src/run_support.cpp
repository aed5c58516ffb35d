#include "python/src/run_support.hpp"

#include <omp.h>

#include <cstring>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"

namespace kernelmc::python {

namespace py = pybind11;

core::Config load_config(const ConfigSource& source) {
  core::Config config = source.path.empty() ? core::parse_config(source.toml_text, source.overrides, "<dict>")
                                            : core::load_config(source.path, source.overrides);
  if (config.run.threads > 0) omp_set_num_threads(config.run.threads);
  return config;
}

core::Dataset resolve_data(core::Config& config, const ArrayData& arrays) {
  if (!arrays.inputs && !arrays.targets) return core::make_dataset(config.data, config.run.seed);
  if (!arrays.inputs || !arrays.targets)
    throw DataError(std::string("X and Y: ") + (arrays.inputs ? "Y" : "X") +
                    " is missing; give both training inputs X (P x d) and targets Y (P x D), or neither");
  config.data.kind = "csv";
  config.data.inputs_csv = "<numpy X>";
  config.data.targets_csv = "<numpy Y>";
  config.data.csv_header = false;
  core::validate(config);
  core::Dataset data{*arrays.inputs, *arrays.targets, "numpy arrays"};
  core::validate(data);
  return data;
}

void InterruptObserver::begin_stage(std::string_view, std::int64_t total) {
  total_ = total;
  check_signals();
  if (interrupted_) throw Interrupted{};
}

void InterruptObserver::advance(std::int64_t done) {
  check_signals();
  if (interrupted_ && done < total_) throw Interrupted{};
}

void InterruptObserver::check_signals() {
  if (interrupted_) return;
  py::gil_scoped_acquire gil;
  interrupted_ = PyErr_CheckSignals() != 0;
}

py::array_t<double> matrix_array(const Eigen::Ref<const Eigen::MatrixXd>& m) {
  py::array_t<double> out({m.rows(), m.cols()});
  auto view = out.mutable_unchecked<2>();
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) view(i, j) = m(i, j);
  return out;
}

py::array_t<double> stacked_array(const std::vector<Eigen::MatrixXd>& matrices) {
  const Eigen::Index rows = matrices.empty() ? 0 : matrices.front().rows();
  const Eigen::Index cols = matrices.empty() ? 0 : matrices.front().cols();
  py::array_t<double> out({static_cast<Eigen::Index>(matrices.size()), rows, cols});
  auto view = out.mutable_unchecked<3>();
  for (std::size_t k = 0; k < matrices.size(); ++k) {
    const Eigen::MatrixXd& m = matrices[k];
    if (m.rows() != rows || m.cols() != cols)
      throw std::logic_error("stacked_array: matrices of different shapes");
    for (Eigen::Index i = 0; i < rows; ++i)
      for (Eigen::Index j = 0; j < cols; ++j) view(static_cast<py::ssize_t>(k), i, j) = m(i, j);
  }
  return out;
}

}  // namespace kernelmc::python
