#pragma once
// Numbers in the report files: JSON never holds NaN or ±inf (null instead), matrices are
// arrays of rows, and table cells come from one printf format.
#include <Eigen/Core>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace kernelmc::validation::detail {

// `value`, or null when it is not finite.
template <class Json = nlohmann::ordered_json>
Json number_or_null(double value) {
  return std::isfinite(value) ? Json(value) : Json(nullptr);
}

// The rows of `m` as arrays of number_or_null.
template <class Json = nlohmann::ordered_json>
Json matrix_json(const Eigen::MatrixXd& m) {
  Json rows = Json::array();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    Json row = Json::array();
    for (Eigen::Index j = 0; j < m.cols(); ++j) row.push_back(number_or_null<Json>(m(i, j)));
    rows.push_back(std::move(row));
  }
  return rows;
}

// One number through a printf `format` such as "%.4f".
inline std::string printf_number(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

}  // namespace kernelmc::validation::detail
