#pragma once
// `kernelmc validate` and `kernelmc merge` for study families (validation.study =
// proportional | criticality; validation/study_family.hpp).
#include <iosfwd>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "validation/observer.hpp"
#include "validation/study_checkpoint.hpp"

namespace kernelmc::cli {

// The whole family (shard_count = 0), or part shard_index of shard_count: its records only.
// Finished units and partial states are kept in <out>/checkpoint (one folder for the family,
// unit files prefixed by their member) until the result is written; `resume` continues from
// it (validation/study_checkpoint.hpp's refusal rules).
int run_family_validate(const core::Config& config, const core::Dataset& pool, Eigen::Index shard_index,
                        Eigen::Index shard_count, validation::Observer& observer, std::ostream& out, bool resume,
                        const validation::CheckpointSchedule& schedule);

// Merges family record directories (each holds family_records.json) into `output_dir`.
int run_family_merge(const std::vector<std::string>& directories, const std::string& output_dir,
                     validation::Observer& observer, std::ostream& out);

}  // namespace kernelmc::cli
