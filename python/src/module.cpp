// kernelmc._kernelmc: the C++ side of the Python package kernelmc (python/kernelmc). Every
// run function takes its config as a TOML path or text (the package writes a dict as TOML)
// plus `--set` overrides, loads it with core's loader, runs the same library function as the
// CLI command of the same name with the GIL released, and returns the report's JSON text
// (the package turns it into dicts of numpy arrays). Errors become the exception classes
// defined here, with the library's message (what the CLI prints after "kernelmc: ...").
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <exception>
#include <filesystem>

#include "core/error.hpp"
#include "core/version.hpp"
#include "python/src/run_support.hpp"
#include "theory/nngp.hpp"
#include "theory/prior_moments.hpp"
#include "validation/criticality_report.hpp"
#include "validation/posterior_report.hpp"
#include "validation/posterior_run.hpp"
#include "validation/prior_report.hpp"
#include "validation/prior_study.hpp"
#include "validation/theory_report.hpp"
#include "validation/theory_run.hpp"
#include "validation/validation_report.hpp"
#include "validation/validation_study.hpp"

namespace py = pybind11;

namespace kernelmc::python {

namespace {

using Inputs = Eigen::Ref<const Eigen::MatrixXd>;  // F-ordered float64 arrays map without a copy
using OptionalMatrix = std::optional<Eigen::MatrixXd>;

ConfigSource config_source(const std::string& path, const std::string& toml_text,
                           const std::vector<std::string>& overrides) {
  return ConfigSource{path, toml_text, overrides};
}

// The model of `config` with unit hidden widths on inputs X (so O(1/N) moments come out
// multiplied by N), after checking X as data is checked.
core::ModelSpec unit_width_model(const core::Config& config, const Inputs& inputs) {
  core::validate(core::Dataset{inputs, Eigen::MatrixXd::Zero(inputs.rows(), 1), "numpy X"});
  core::ModelSettings model = config.model;
  model.widths = {1};
  return core::resolve_model(model, inputs.cols(), 1);
}

py::array_t<double> nngp(const ConfigSource& source, const Inputs& inputs) {
  const core::Config config = load_config(source);
  const core::ModelSpec spec = unit_width_model(config, inputs);
  core::KernelStack kernels;
  {
    py::gil_scoped_release release;
    kernels = theory::nngp_kernels(spec, inputs, config.theory.quadrature_tolerance);
  }
  return stacked_array(kernels);
}

py::dict prior_moments(const ConfigSource& source, const Inputs& inputs) {
  const core::Config config = load_config(source);
  const core::ModelSpec spec = unit_width_model(config, inputs);
  theory::PriorMoments moments;
  {
    py::gil_scoped_release release;
    moments = theory::prior_moments(spec, inputs, config.theory, config.run.seed);
  }
  const Eigen::Index P = inputs.rows();
  Eigen::MatrixXd pairs(core::triangle_size(P), 2);
  for (Eigen::Index k = 0; k < pairs.rows(); ++k) {
    const auto [a, b] = core::triangle_pair(k, P);
    pairs.row(k) << static_cast<double>(a), static_cast<double>(b);
  }
  py::dict out;
  out["nngp"] = stacked_array(moments.nngp);
  out["scaled_mean_shift"] = stacked_array(moments.mean_shift);
  out["scaled_mean_shift_se"] = stacked_array(moments.mean_shift_standard_error);
  out["scaled_covariance"] = stacked_array(moments.covariance);
  out["scaled_covariance_se"] = stacked_array(moments.covariance_standard_error);
  out["triangle_pairs"] = matrix_array(pairs).attr("astype")("int64");
  out["four_point_method"] = std::string(core::four_point_method_name(moments.method_used));
  return out;
}

// The report JSON of the run `Run(config, data, observer)` returns, rendered by `Report`.
template <class Run, class Report>
std::string run_report(const ConfigSource& source, const OptionalMatrix& X, const OptionalMatrix& Y, Run run,
                       Report report) {
  core::Config config = load_config(source);
  const core::Dataset data = resolve_data(config, ArrayData{X, Y});
  const auto result = run_released([&](InterruptObserver& observer) { return run(config, data, observer); });
  return report(result);
}

std::string prior(const ConfigSource& source, const OptionalMatrix& X, const OptionalMatrix& Y) {
  return run_report(source, X, Y, validation::run_prior_study,
                    [](const auto& r) { return validation::prior_report_json(r); });
}

std::string sample(const ConfigSource& source, const OptionalMatrix& X, const OptionalMatrix& Y) {
  const auto run = [](const core::Config& c, const core::Dataset& d, validation::Observer& o) {
    return validation::run_posterior(c, d, o);
  };
  return run_report(source, X, Y, run, [](const auto& r) { return validation::posterior_report_json(r); });
}

std::string criticality(const ConfigSource& source, const OptionalMatrix& X, const OptionalMatrix& Y) {
  return run_report(source, X, Y, validation::run_criticality_study,
                    [](const auto& r) { return validation::criticality_report_json(r); });
}

std::string validate(const ConfigSource& source, const OptionalMatrix& X, const OptionalMatrix& Y) {
  return run_report(source, X, Y, validation::run_validation,
                    [](const auto& r) { return validation::validation_report_json(r); });
}

// theory.json's text and its matrices (theory_arrays/*.npy of the CLI) by file stem.
py::tuple theory(const ConfigSource& source, const OptionalMatrix& X, const OptionalMatrix& Y) {
  py::dict arrays;
  const std::string json =
      run_report(source, X, Y, validation::run_theory_predictions, [&](const validation::TheoryRunResult& r) {
        for (const validation::TheoryArray& a : validation::theory_arrays(r))
          arrays[py::str(std::filesystem::path(a.file).stem().string())] = matrix_array(a.values);
        return validation::theory_report_json(r);
      });
  return py::make_tuple(json, arrays);
}

// kernelmc.Error(Exception) and one subclass per kernelmc error type, each also derived from
// the matching built-in exception; `handles` holds them for the translator.
struct ErrorClasses {
  py::handle error, config, data, input_file, numerical;
};
ErrorClasses& error_classes() {
  static ErrorClasses classes;
  return classes;
}

py::handle new_error_class(py::module_& m, const char* name, py::handle base, PyObject* builtin) {
  const std::string qualified = std::string("kernelmc.") + name;
  py::object bases = builtin == nullptr ? py::reinterpret_borrow<py::object>(base) : py::make_tuple(base, py::handle(builtin));
  PyObject* cls = PyErr_NewException(qualified.c_str(), bases.ptr(), nullptr);
  if (cls == nullptr) throw py::error_already_set();
  m.attr(name) = py::handle(cls);
  return cls;  // the module holds a reference; this one stays for the translator
}

void register_errors(py::module_& m) {
  ErrorClasses& c = error_classes();
  c.error = new_error_class(m, "Error", PyExc_Exception, nullptr);
  c.config = new_error_class(m, "ConfigError", c.error, PyExc_ValueError);
  c.data = new_error_class(m, "DataError", c.error, PyExc_ValueError);
  c.input_file = new_error_class(m, "InputFileError", c.error, PyExc_OSError);
  c.numerical = new_error_class(m, "NumericalError", c.error, PyExc_ArithmeticError);
  py::register_exception_translator([](std::exception_ptr p) {
    const ErrorClasses& c = error_classes();
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ConfigError& e) {
      PyErr_SetString(c.config.ptr(), e.what());
    } catch (const DataError& e) {
      PyErr_SetString(c.data.ptr(), e.what());
    } catch (const InputFileError& e) {
      PyErr_SetString(c.input_file.ptr(), e.what());
    } catch (const NumericalError& e) {
      PyErr_SetString(c.numerical.ptr(), e.what());
    } catch (const Error& e) {
      PyErr_SetString(c.error.ptr(), e.what());
    }
  });
}

}  // namespace

}  // namespace kernelmc::python

PYBIND11_MODULE(_kernelmc, m) {
  namespace kp = kernelmc::python;
  m.doc() = "C++ side of kernelmc; use the package kernelmc, not this module";
  m.attr("version") = std::string(kernelmc::kVersion);
  kp::register_errors(m);
  py::class_<kp::ConfigSource>(m, "ConfigSource")
      .def(py::init(&kp::config_source), py::arg("path"), py::arg("toml_text"), py::arg("overrides"));
  m.def("nngp", &kp::nngp, py::arg("source"), py::arg("X"));
  m.def("prior_moments", &kp::prior_moments, py::arg("source"), py::arg("X"));
  m.def("prior", &kp::prior, py::arg("source"), py::arg("X"), py::arg("Y"));
  m.def("sample", &kp::sample, py::arg("source"), py::arg("X"), py::arg("Y"));
  m.def("criticality", &kp::criticality, py::arg("source"), py::arg("X"), py::arg("Y"));
  m.def("theory", &kp::theory, py::arg("source"), py::arg("X"), py::arg("Y"));
  m.def("validate", &kp::validate, py::arg("source"), py::arg("X"), py::arg("Y"));
}
