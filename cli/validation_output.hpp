#pragma once
// The end of `kernelmc validate` and `kernelmc merge`: figures, report files, the table.
#include <iosfwd>
#include <string>

#include "validation/validation_study.hpp"

namespace kernelmc::cli {

// Writes the figures (when validation.figures is on; rendered if gnuplot is installed),
// then the report files (validation.json last), into result's run.output_dir, and prints
// `preface`, the table and where the report is on `out`. Returns the exit code, 0.
int finish_validation(const validation::ValidationResult& result, const std::string& preface, std::ostream& out);

}  // namespace kernelmc::cli
