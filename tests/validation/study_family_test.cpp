// Tests of validation/study_family.cpp and its records, report and figures: the members
// of proportional and criticality families (nested subsets P = round(αN), g = (g/g_c)·g_c),
// the bad-config messages, and a tiny proportional study run whole and as three shards
// written, read back and merged: byte-identical report tables.
#include "validation/study_family.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "theory/criticality.hpp"
#include "validation/study_family_io.hpp"
#include "validation/study_family_report.hpp"

namespace kernelmc::validation {
namespace {

namespace fs = std::filesystem;

core::Config tiny_proportional() {
  core::Config c = core::parse_config(R"(
[model]
depth = 1
activation = "linear"
g = 1.0
kappa = 0.5
[data]
kind = "teacher"
points = 8
input_dim = 8
teacher_activation = "linear"
[sampler]
kind = "hmc"
[posterior]
route = "chains"
chains = 2
warmup = 30
draws = 40
batches = 4
[validation]
study = "proportional"
alphas = [0.5, 1.0]
widths = [4, 8]
prior_networks = 200
figures = false
)",
                                      {});
  return c;
}

TEST(StudyFamily, ProportionalMembersTakeNestedPrefixesOfThePool) {
  const core::Config c = tiny_proportional();
  const core::Dataset pool = core::make_dataset(c.data, c.run.seed);
  const std::vector<FamilyMember> members = family_members(c, pool);
  ASSERT_EQ(members.size(), 4u);  // α = 0.5: N = 4, 8; α = 1: N = 4, 8
  const Eigen::Index expected_points[] = {2, 4, 4, 8};
  for (std::size_t m = 0; m < members.size(); ++m) {
    const Eigen::Index P = expected_points[m];
    EXPECT_EQ(members[m].data.size(), P);
    EXPECT_EQ(members[m].data.inputs, pool.inputs.topRows(P));
    EXPECT_EQ(members[m].data.targets, pool.targets.topRows(P));
    EXPECT_EQ(members[m].config.validation.widths.size(), 1u);
    EXPECT_EQ(members[m].config.validation.study, "width_scaling");
  }
  EXPECT_EQ(members[1].label, "alpha=0.5 N=8");
  EXPECT_EQ(members[2].alpha, 1.0);
}

TEST(StudyFamily, ProportionalPointsBeyondThePoolAreAConfigError) {
  core::Config c = tiny_proportional();
  c.validation.alphas = {2.0};
  const core::Dataset pool = core::make_dataset(c.data, c.run.seed);
  try {
    family_members(c, pool);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "validation.alphas = [2]: alpha = 2 at N = 8 gives P = 16 points, but the data set (its pool, "
              "data.points) has 8: P must lie in [1, 8]");
  }
}

TEST(StudyFamily, CriticalityMembersSpanTheGridAtEachBiasVariance) {
  core::Config c = tiny_proportional();
  c.validation.study = "criticality";
  c.model.activation = core::Activation::erf;
  c.criticality.g_min_ratio = 0.5;
  c.criticality.g_max_ratio = 2.0;
  c.criticality.g_points = 3;
  c.criticality.bias_variances = {0.0, 0.1};
  const core::Dataset pool = core::make_dataset(c.data, c.run.seed);
  const std::vector<FamilyMember> members = family_members(c, pool);
  ASSERT_EQ(members.size(), 6u);
  const double g_c = theory::edge_of_chaos_g(core::Activation::erf, 0.1);
  EXPECT_NEAR(g_c, 1.55212, 1e-5);  // THEORY.md §6.2
  EXPECT_DOUBLE_EQ(members[3].g_ratio, 0.5);
  EXPECT_DOUBLE_EQ(members[4].g_ratio, 1.0);
  EXPECT_DOUBLE_EQ(members[4].config.model.g.front(), g_c);
  EXPECT_EQ(members[4].config.model.bias_variance, 0.1);
  EXPECT_DOUBLE_EQ(members[5].config.model.g.front(), 2.0 * g_c);
  EXPECT_EQ(members[0].config.validation.widths, c.validation.widths);
  EXPECT_EQ(members[0].data.inputs, pool.inputs);
}

TEST(StudyFamily, ShardsOutsideTheUnitsAreRefused) {
  const core::Config c = tiny_proportional();
  const core::Dataset pool = core::make_dataset(c.data, c.run.seed);
  const std::vector<FamilyUnit> units = family_units(family_members(c, pool));
  EXPECT_EQ(units.size(), 12u);  // 4 members × (1 prior + 2 chains)
  EXPECT_THROW(shard_family_units(units, 3, 2), ConfigError);
  EXPECT_THROW(shard_family_units(units, 1, 13), ConfigError);
  EXPECT_EQ(shard_family_units(units, 2, 3).size(), 4u);
}

// Runs the family of `c` whole and as three shards written, read back and merged: the same
// table and CSV. Returns the whole run's result and the shards' parts.
std::pair<FamilyResult, std::vector<FamilyRecords>> expect_shards_merge_exactly(const core::Config& c,
                                                                              const std::string& name) {
  const core::Dataset pool = core::make_dataset(c.data, c.run.seed);
  const std::vector<FamilyMember> members = family_members(c, pool);
  SilentObserver silent;
  const FamilyRecords whole = compute_family_records(c, members, family_units(members), silent);
  const FamilyResult direct = analyze_family(whole, members, silent);
  const fs::path root = fs::temp_directory_path() / name;
  fs::remove_all(root);
  std::vector<FamilyRecords> parts;
  for (Eigen::Index k = 1; k <= 3; ++k) {
    core::Config shard = c;
    shard.run.output_dir = (root / ("shard" + std::to_string(k))).string();
    const FamilyRecords part =
        compute_family_records(shard, members, shard_family_units(family_units(members), k, 3), silent);
    write_family_records(part, shard.run.output_dir);
    EXPECT_TRUE(holds_family_records(shard.run.output_dir));
    parts.push_back(read_family_records(shard.run.output_dir));
  }
  const FamilyResult again = analyze_family(merge_family_records(parts), members, silent);
  EXPECT_EQ(family_csv(again), family_csv(direct));
  EXPECT_EQ(format_family_table(again), format_family_table(direct));
  return {direct, parts};
}

TEST(StudyFamily, MergedShardsEqualTheUnshardedRunBitForBit) {
  auto [direct, parts] = expect_shards_merge_exactly(tiny_proportional(), "kernelmc_study_family_test");
  ASSERT_EQ(direct.points.size(), 4u);
  // Per α a line for fb and one loop (exact_linear only where some width was compared).
  EXPECT_EQ(std::count_if(direct.scaling.begin(), direct.scaling.end(),
                          [](const DiscrepancyScaling& s) { return s.theory == "fb"; }),
            2);
  // A unit missing from the parts is named.
  parts.pop_back();
  EXPECT_THROW(merge_family_records(parts), DataError);
}

TEST(StudyFamily, RouteFamilyShardsMergeBitForBit) {
  // The same on the importance route: route units and prior units without covariance.
  core::Config c = tiny_proportional();
  c.posterior.route = core::PosteriorRoute::importance;
  c.posterior.importance_networks = 2000;
  const auto [direct, parts] = expect_shards_merge_exactly(c, "kernelmc_study_family_route_test");
  EXPECT_EQ(direct.points.size(), 4u);
}

TEST(StudyFamily, ReportWritesTheTableJsonCsvAndEachMembersReport) {
  core::Config c = tiny_proportional();
  c.validation.alphas = {0.5};
  const core::Dataset pool = core::make_dataset(c.data, c.run.seed);
  SilentObserver silent;
  const FamilyResult r = run_family(c, pool, silent);
  const fs::path dir = fs::temp_directory_path() / "kernelmc_study_family_report_test";
  fs::remove_all(dir);
  EXPECT_TRUE(write_family_report(r, dir).empty());  // figures off: no script
  EXPECT_TRUE(fs::exists(dir / "study.json"));
  EXPECT_TRUE(fs::exists(dir / "study.csv"));
  EXPECT_TRUE(fs::exists(dir / "members" / "member_001" / "validation.json"));
  EXPECT_TRUE(fs::exists(dir / "members" / "member_002" / "validation.json"));
  EXPECT_NE(format_family_table(r).find("alpha = 0.5, fb: "), std::string::npos) << format_family_table(r);
}

}  // namespace
}  // namespace kernelmc::validation
