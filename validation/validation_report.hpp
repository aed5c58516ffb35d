#pragma once
// The report of a validation study (validation_study.hpp) in an output directory:
//   validation.json              everything: provenance (version, seed, stream derivation,
//                                resolved config), the gate and sampler health of every width,
//                                every layer's measured kernels and every comparison, the
//                                width-scaling fits and verdicts, timings;
//   validation_comparisons.csv   one row per width × layer × theory × quantity;
//   validation_widths.csv        one row per width: gate and sampler health;
//   validation_scaling.csv       one row per layer × theory × quantity: fit and verdict;
//   validation_failures.csv      one row per width × theory whose prediction failed (its
//                                comparisons are absent; the fit uses the other widths);
//   validation.md                a Markdown summary.
// The CSV files hold no timings, so the same records give byte-identical CSVs.
#include <filesystem>
#include <string>

#include "validation/validation_study.hpp"

namespace kernelmc::validation {

std::string validation_report_json(const ValidationResult& result);
std::string validation_comparisons_csv(const ValidationResult& result);
std::string validation_widths_csv(const ValidationResult& result);
std::string validation_scaling_csv(const ValidationResult& result);
std::string validation_failures_csv(const ValidationResult& result);
std::string validation_markdown(const ValidationResult& result);

// The short table for stdout: per width and layer the relative discrepancies of the
// posterior mean against each theory with their p-values, and the adaptation along the
// target, measured and predicted ("failed" where a theory's prediction failed, with the
// reason below the width); then the gates and verdicts.
std::string format_validation_table(const ValidationResult& result);

// Renders every file first, then writes each atomically into `directory`. Returns the
// path of validation.json.
std::filesystem::path write_validation_report(const ValidationResult& result, const std::filesystem::path& directory);

}  // namespace kernelmc::validation
