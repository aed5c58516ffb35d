#pragma once
// `kernelmc validate` and `kernelmc merge` for study families (validation.study =
// proportional | criticality; validation/study_family.hpp).
#include <iosfwd>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "validation/observer.hpp"

namespace kernelmc::cli {

// The whole family (shard_count = 0), or part shard_index of shard_count: its records only.
int run_family_validate(const core::Config& config, const core::Dataset& pool, Eigen::Index shard_index,
                        Eigen::Index shard_count, validation::Observer& observer, std::ostream& out);

// Merges family record directories (each holds family_records.json) into `output_dir`.
int run_family_merge(const std::vector<std::string>& directories, const std::string& output_dir,
                     validation::Observer& observer, std::ostream& out);

}  // namespace kernelmc::cli
