// The validation study (validation/validation_study.hpp): unit lists and shards, and a
// tiny Config B study whose merged shards give the unsharded result bit for bit. The
// statistical verdicts are in validation_study_statistical_test.cpp.
#include "validation/validation_study.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "validation/validation_records_io.hpp"
#include "validation/validation_report.hpp"
#include "validation/validation_study_fixtures.hpp"

namespace kernelmc::validation {
namespace {

namespace fs = std::filesystem;

using fixtures::tiny_config;

TEST(ValidationStudy, ShardsPartitionTheUnitsInOrder) {
  const core::Config c = tiny_config();
  const std::vector<StudyUnit> all = study_units(c);
  ASSERT_EQ(all.size(), 3u * (1u + 4u));
  EXPECT_EQ(unit_name(all[0]), "prior N=8");
  EXPECT_EQ(unit_name(all[2]), "chain N=8 c=1");
  std::vector<StudyUnit> joined;
  for (Eigen::Index k = 1; k <= 4; ++k) {
    const auto part = shard_units(all, k, 4);
    joined.insert(joined.end(), part.begin(), part.end());
  }
  EXPECT_EQ(joined, all);
  for (const auto& [k, K] : std::vector<std::pair<int, int>>{{3, 2}, {0, 2}, {1, 0}, {1, 16}}) {
    try {
      shard_units(all, k, K);
      ADD_FAILURE() << k << "/" << K << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--shard " + std::to_string(k) + "/" + std::to_string(K)),
                std::string::npos)
          << e.what();
    }
  }
}

// A short Config B study: every unit and the analysis; then 2 shards, written, read back
// and merged, give byte-identical records and CSV tables. (The study's verdicts are
// statistical: validation_study_statistical_test.cpp.)
TEST(ValidationStudy, MergedShardsEqualTheUnshardedRunBitForBit) {
  const core::Config c = tiny_config();
  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  SilentObserver silent;
  const StudyRecords whole = compute_records(c, data, study_units(c), silent);
  const ValidationResult direct = analyze_records(whole, data, silent);

  const fs::path root = fs::temp_directory_path() / "kernelmc_validation_study_test";
  fs::remove_all(root);
  std::vector<StudyRecords> parts;
  for (Eigen::Index k = 1; k <= 2; ++k) {
    core::Config shard_config = c;
    shard_config.run.output_dir = (root / ("shard" + std::to_string(k))).string();
    const StudyRecords part = compute_records(shard_config, data, shard_units(study_units(c), k, 2), silent);
    write_records(part, shard_config.run.output_dir);
    parts.push_back(read_records(shard_config.run.output_dir));
  }
  StudyRecords merged = merge_records(parts);
  merged.config.run.output_dir = c.run.output_dir;
  ASSERT_EQ(merged.chains.size(), whole.chains.size());
  for (std::size_t i = 0; i < whole.chains.size(); ++i) {
    for (std::size_t l = 0; l < whole.chains[i].batch_means.size(); ++l) {
      EXPECT_TRUE(merged.chains[i].batch_means[l] == whole.chains[i].batch_means[l]) << "chain record " << i;
      EXPECT_TRUE(merged.chains[i].summaries[l] == whole.chains[i].summaries[l]) << "chain record " << i;
    }
  }
  for (std::size_t i = 0; i < whole.priors.size(); ++i) {
    for (std::size_t l = 0; l < whole.priors[i].mean.size(); ++l) {
      EXPECT_TRUE(merged.priors[i].mean[l] == whole.priors[i].mean[l]);
      EXPECT_TRUE(merged.priors[i].covariance[l] == whole.priors[i].covariance[l]);
    }
  }
  const ValidationResult from_shards = analyze_records(merged, data, silent);
  EXPECT_EQ(validation_comparisons_csv(from_shards), validation_comparisons_csv(direct));
  EXPECT_EQ(validation_widths_csv(from_shards), validation_widths_csv(direct));
  EXPECT_EQ(validation_scaling_csv(from_shards), validation_scaling_csv(direct));

  // A missing or duplicated unit is named.
  std::vector<StudyRecords> only_first = {parts.front()};
  EXPECT_THROW(merge_records(only_first), DataError);
  std::vector<StudyRecords> twice = {parts.front(), parts.front(), parts.back()};
  try {
    merge_records(twice);
    ADD_FAILURE() << "a duplicated unit was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("more than once"), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace kernelmc::validation
