#pragma once
// Lossless storage of validation-study records (validation_study.hpp), so that the shards
// of `kernelmc validate --shard k/K` can be merged by `kernelmc merge` exactly:
//   <dir>/records.json     manifest: format, provenance, the resolved config as TOML (its
//                          exact round trip is tested in core), the units held, every scalar
//                          of every record (JSON numbers round-trip doubles exactly), and
//                          the .npy file of each array;
//   <dir>/<unit>_<name>.npy  float64 arrays in C order (numpy.load reads them):
//     prior_N<N>_mean.npy          L × K           mean of the upper-triangle entries
//     prior_N<N>_covariance.npy    L × K × K       their covariance (absent in a route study)
//     chain_N<N>_c<c>_batch_means.npy  L × K × B   batch means of the entries
//     chain_N<N>_c<c>_summaries.npy    L × draws × 3  trace, KTA, CKA per draw
//     chain_N<N>_c<c>_batch_sizes.npy  B
//     chain_N<N>_c<c>_energy.npy       draws
//     route_N<N>_posterior_replicates.npy  L × K × R   E_post entries per replicate (importance, SMC)
//     route_N<N>_prior_replicates.npy      L × K × R   E_prior entries per replicate
//     route_N<N>_posterior.npy, _prior.npy L × K       the route's point estimates
//   (a route unit's covariances are recomputed from its replicates on reading, bit for bit;
//   non-finite scalars are written as "nan", "inf", "-inf").
// Every file is written atomically; the manifest last, so a directory without it is not a
// complete part.
#include <filesystem>

#include "validation/validation_study.hpp"

namespace kernelmc::validation {

inline constexpr int kRecordsFormatVersion = 1;

// Writes `records` into `directory` (created if needed). Returns the manifest's path.
std::filesystem::path write_records(const StudyRecords& records, const std::filesystem::path& directory);

// Reads what write_records wrote. Throws InputFileError if the manifest or a file is
// missing, DataError naming the file if anything is malformed or inconsistent.
StudyRecords read_records(const std::filesystem::path& directory);

}  // namespace kernelmc::validation
