#pragma once
// Reports of the prior study: a table for the terminal, and JSON + CSV files.
#include <filesystem>
#include <string>

#include "validation/prior_study.hpp"

namespace kernelmc::validation {

// The human-readable summary printed on stdout (columns explained in README.md).
std::string format_prior_table(const PriorStudyResult& result);

// Everything as JSON (with provenance: version, seed, resolved config).
std::string prior_report_json(const PriorStudyResult& result);

// One row per (width, layer) with the discrepancies and their errors.
std::string prior_report_csv(const PriorStudyResult& result);

// Writes prior_study.json and prior_study.csv into `directory` (each atomically, and
// only after the study has finished). Returns the JSON path.
std::filesystem::path write_prior_report(const PriorStudyResult& result,
                                         const std::filesystem::path& directory);

}  // namespace kernelmc::validation
