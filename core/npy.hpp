#pragma once
// NumPy .npy (format 1.0, little-endian float64, C order) writer, so numpy.load reads
// kernelmc's draws directly.
#include <Eigen/Core>
#include <filesystem>
#include <string>
#include <vector>

namespace kernelmc::core {

// The bytes of an .npy file holding `values` (row-major order) with shape `shape`.
// The product of `shape` must equal values.size().
std::string npy_bytes(const std::vector<double>& values, const std::vector<Eigen::Index>& shape);

// npy_bytes written with write_file_atomic.
void write_npy(const std::filesystem::path& path, const std::vector<double>& values,
               const std::vector<Eigen::Index>& shape);

}  // namespace kernelmc::core
