#pragma once
// Reports of `kernelmc theory` (validation/theory_run.hpp): a table for the terminal,
// theory.json (everything, with provenance and a manifest of the arrays), and one NumPy
// .npy file per matrix under theory_arrays/. Nothing non-finite is written as a number:
// an undefined value is "n/a" in the table and null in JSON.
#include <filesystem>
#include <string>
#include <vector>

#include "validation/theory_run.hpp"

namespace kernelmc::validation {

// One matrix of the run as an .npy file: its path relative to the output directory, what it
// holds, its layer (0 when it belongs to no layer) and shape (rows, cols).
struct TheoryArray {
  std::string file;
  std::string quantity;
  Eigen::Index layer = 0;
  Eigen::MatrixXd values;
};
// Every matrix the run produced (the manifest of theory.json lists the same files).
std::vector<TheoryArray> theory_arrays(const TheoryRunResult& result);

// The human-readable summary printed on stdout (columns explained in README.md).
std::string format_theory_table(const TheoryRunResult& result);

// Everything as JSON: provenance (version, seed, resolved config), routes, timings, per
// layer every matrix and summary, the FB solve, the predictions, the linear oracles, the
// exactness statements, and the manifest of the .npy files.
std::string theory_report_json(const TheoryRunResult& result);

// Writes theory_arrays/*.npy and then theory.json into `directory`, each atomically and
// only after the run has finished. Returns the path of theory.json.
std::filesystem::path write_theory_report(const TheoryRunResult& result, const std::filesystem::path& directory);

}  // namespace kernelmc::validation
