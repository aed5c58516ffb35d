#pragma once
// Error types of kernelmc (STYLE.md §4). Messages name the field, the value and
// the rule: "model.width = -3: must be a positive integer".
#include <stdexcept>
#include <string>

namespace kernelmc {

// Base of every error kernelmc throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A config value (TOML, --set override, or a settings struct) breaks a rule. Exit code 78.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Input data is malformed: NaN, wrong column count, dimension mismatch. Exit code 65.
class DataError : public Error {
 public:
  using Error::Error;
};

// A file that must be read does not exist or cannot be opened. Exit code 66.
class InputFileError : public Error {
 public:
  using Error::Error;
};

// Cholesky failing even with jitter, a solver that does not converge, a NaN in a result. Exit code 1.
class NumericalError : public Error {
 public:
  using Error::Error;
};

}  // namespace kernelmc
