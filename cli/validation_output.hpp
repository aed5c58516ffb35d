#pragma once
// The end of `kernelmc validate` and `kernelmc merge`: figures, report files, the table and
// the cross-check.
#include <iosfwd>
#include <string>

#include "core/dataset.hpp"
#include "validation/observer.hpp"
#include "validation/validation_study.hpp"

namespace kernelmc::cli {

// Writes the figures (when validation.figures is on; rendered if gnuplot is installed),
// then the report files (validation.json last), into result's run.output_dir, and prints
// `preface`, the table and where the report is on `out`. Returns the exit code, 0.
int finish_validation(const validation::ValidationResult& result, const std::string& preface, std::ostream& out);

// The second route of posterior.cross_check run at every width of `result` on `data`, its
// agreement written to cross_check.json in result's run.output_dir; returns the text to print
// after the table ("" for cross_check = none).
std::string cross_check_output(const validation::ValidationResult& result, const core::Dataset& data,
                               validation::Observer& observer);

}  // namespace kernelmc::cli
