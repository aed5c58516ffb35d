#pragma once
// Lossless storage of a study family's records (study_family.hpp), for
// `kernelmc validate --shard k/K` and `kernelmc merge` of proportional and criticality
// studies:
//   <dir>/family_records.json    manifest: format, the family's resolved config as TOML, and
//                                per member the sub-directory of its records (null when this
//                                part holds no unit of it); written last;
//   <dir>/member_<m>/            that member's records (validation_records_io.hpp), m = 1..
#include <filesystem>

#include "validation/study_family.hpp"

namespace kernelmc::validation {

inline constexpr int kFamilyRecordsFormatVersion = 1;

// Writes `records` into `directory` (created if needed). Returns the manifest's path.
std::filesystem::path write_family_records(const FamilyRecords& records, const std::filesystem::path& directory);

// Whether `directory` holds a family manifest (family_records.json).
bool holds_family_records(const std::filesystem::path& directory);

// Reads what write_family_records wrote: InputFileError if a file is missing, DataError
// naming the file if anything is malformed.
FamilyRecords read_family_records(const std::filesystem::path& directory);

}  // namespace kernelmc::validation
