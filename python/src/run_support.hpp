#pragma once
// What every function of the Python module needs around the library calls: the config
// from a TOML file or text through core's loader (the CLI's rules and messages), the data
// set from the config or from numpy arrays, an Observer that lets Ctrl-C stop a run, and
// kernel stacks as numpy arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/kernel_stack.hpp"
#include "validation/observer.hpp"

namespace kernelmc::python {

// Where a config comes from: a TOML file (path non-empty), else TOML text (the Python
// side writes a dict as TOML), then `overrides` as `--set section.key=value`.
struct ConfigSource {
  std::string path;
  std::string toml_text;
  std::vector<std::string> overrides;
};

// core::load_config or core::parse_config (validated; ConfigError, InputFileError), then
// the OpenMP thread count from run.threads, as the CLI does.
core::Config load_config(const ConfigSource& source);

// Training inputs and targets given from Python (both or neither).
struct ArrayData {
  std::optional<Eigen::MatrixXd> inputs;   // X, P×d
  std::optional<Eigen::MatrixXd> targets;  // Y, P×D
};

// The data set of the run: core::make_dataset(config.data) without arrays; with arrays the
// arrays, validated as core validates data (DataError), and config.data becomes a fixed
// data set (kind csv, files named "<numpy X>" and "<numpy Y>", so that the report's
// provenance says where the data came from and no generator is used for test points).
core::Dataset resolve_data(core::Config& config, const ArrayData& arrays);

// A run stopped by Ctrl-C (the Python error indicator holds the KeyboardInterrupt).
struct Interrupted {};

// Reports nothing, but checks for Python signals (Ctrl-C) at every progress report, with
// the GIL re-acquired: the first one that finds a pending signal stops the run by throwing
// Interrupted, except at the end of a stage (done = total), which may be a destructor
// (validation/theory_run.cpp); the next begin_stage throws then.
class InterruptObserver final : public validation::Observer {
 public:
  void begin_stage(std::string_view name, std::int64_t total) override;
  void advance(std::int64_t done) override;
  bool interrupted() const { return interrupted_; }

 private:
  void check_signals();
  std::int64_t total_ = 0;
  bool interrupted_ = false;
};

// Runs `run(observer)` with the GIL released; raises KeyboardInterrupt if Ctrl-C stopped it
// (or arrived during its last stage). Other exceptions pass through.
template <class Run>
auto run_released(Run&& run) -> decltype(run(std::declval<InterruptObserver&>())) {
  InterruptObserver observer;
  std::optional<decltype(run(observer))> result;
  {
    pybind11::gil_scoped_release release;
    try {
      result.emplace(run(observer));
    } catch (const Interrupted&) {
    }
  }
  if (observer.interrupted()) throw pybind11::error_already_set();
  return std::move(*result);
}

// A float64 numpy array of shape (rows, cols) holding `m` (C order).
pybind11::array_t<double> matrix_array(const Eigen::Ref<const Eigen::MatrixXd>& m);

// The matrices of `stack` or `matrices` (all of one shape r×c) as one (n, r, c) array;
// element [l − 1] is the layer-l matrix.
pybind11::array_t<double> stacked_array(const std::vector<Eigen::MatrixXd>& matrices);
inline pybind11::array_t<double> stacked_array(const core::KernelStack& stack) { return stacked_array(stack.kernels); }

}  // namespace kernelmc::python
