// `kernelmc validate` and `kernelmc merge`: exit codes (sysexits), messages that name the
// bad value, no output left by a failed run, sharded runs (and an unsharded run's kept
// records) merged through the CLI giving the unsharded tables byte for byte, and a failing
// FB solve reported without changing the other comparisons.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/cli_run.hpp"

namespace fs = std::filesystem;

namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Per process (support/cli_run.hpp): concurrent runs from other checkouts do not collide.
fs::path scratch(const std::string& name) { return kernelmc::test::scratch_directory("validate_test_" + name); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult run(const std::string& args, const fs::path& dir) {
  const std::string cmd = std::string(KERNELMC_CLI_PATH) + " " + args + " >" + (dir / "stdout").string() + " 2>" +
                          (dir / "stderr").string() + " </dev/null";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "stdout");
  r.err = slurp(dir / "stderr");
  return r;
}

// Config B, two small widths, short chains (as the tests/validation tiny study).
const std::string kTiny =
    " --set data.kind=config_b --set model.depth=2 --set model.g=[2.0] --set validation.widths=[8,16]"
    " --set validation.prior_networks=2000 --set validation.bootstrap_resamples=50 --set posterior.warmup=200"
    " --set posterior.draws=300 --set run.seed=11 --set posterior.route=chains";

}  // namespace

TEST(CliValidate, ShardBeyondItsCountExits78NamingItAndWritesNothing) {
  for (const std::string shard : {"3/2", "0/2", "abc", "1/0"}) {
    const fs::path dir = scratch("bad_shard");
    const fs::path out = dir / "out";
    const RunResult r = run("validate -q --out " + out.string() + " --shard " + shard + kTiny, dir);
    EXPECT_EQ(r.exit_code, 78) << shard << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find("--shard " + shard), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << "a rejected run created its output directory";
  }
}

const std::string kCrossChecked = kTiny +
                                  " --set posterior.route=importance --set posterior.importance_networks=4000"
                                  " --set posterior.cross_check=smc --set posterior.smc_particles=64"
                                  " --set posterior.smc_replicates=2 --set validation.figures=false";

TEST(CliValidate, CrossCheckRunsTheSecondRouteAndReportsAgreement) {
  const fs::path dir = scratch("cross_check");
  const fs::path out = dir / "out";
  const RunResult r = run("validate -q --out " + out.string() + kCrossChecked, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cross-check: smc beside the study's route"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("evidence: log Z"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the two routes"), std::string::npos) << r.out;
  // The same agreement in JSON: one row per (width, layer) of the study.
  std::ifstream file(out / "cross_check.json");
  ASSERT_TRUE(file) << "no cross_check.json";
  const nlohmann::json check = nlohmann::json::parse(file);
  EXPECT_EQ(check.at("route"), "smc");
  EXPECT_TRUE(check.at("consistent").is_boolean());
  EXPECT_FALSE(check.at("rows").empty());
  EXPECT_TRUE(check.at("rows").at(0).at("target_adaptation_z").is_number());
}

// A route study (importance with an SMC cross-check) in three shards (prior N=8 | route N=8 |
// both units of N=16) merges into the unsharded run's tables and cross-check, byte for byte;
// its kept records do too.
TEST(CliValidate, RouteStudyShardsMergedGiveTheUnshardedTablesAndCrossCheck) {
  const fs::path dir = scratch("route_shards");
  const RunResult whole = run("validate -q --out " + (dir / "whole").string() + kCrossChecked, dir);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  std::string parts;
  for (const char* k : {"1", "2", "3"}) {
    const fs::path part = dir / ("part" + std::string(k));
    const RunResult shard = run("validate -q --out " + part.string() + " --shard " + k + "/3" + kCrossChecked, dir);
    ASSERT_EQ(shard.exit_code, 0) << shard.err;
    parts += " " + part.string();
  }
  for (const auto& [name, sources] : {std::pair{"merged", parts}, {"again", " " + (dir / "whole" / "records").string()}}) {
    const RunResult merged = run("merge -q --out " + (dir / name).string() + sources, dir);
    ASSERT_EQ(merged.exit_code, 0) << merged.err;
    for (const char* file : {"validation_comparisons.csv", "validation_widths.csv", "validation_scaling.csv",
                             "validation.md", "cross_check.json"})
      EXPECT_EQ(slurp(dir / name / file), slurp(dir / "whole" / file)) << name << ": " << file;
  }
}

TEST(CliValidate, BadConfigValueExits78NamingTheField) {
  const fs::path dir = scratch("bad_config");
  const fs::path out = dir / "out";
  const RunResult r = run("validate -q --out " + out.string() + kTiny + " --set validation.prior_networks=0", dir);
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_NE(r.err.find("validation.prior_networks"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "validation.json"));
}

TEST(CliValidate, MergeNeedsDirectoriesThatHoldRecords) {
  const fs::path dir = scratch("merge_errors");
  EXPECT_EQ(run("merge -q --out " + (dir / "out").string(), dir).exit_code, 64) << "no directory is a usage error";
  const RunResult missing = run("merge -q --out " + (dir / "out").string() + " " + (dir / "nowhere").string(), dir);
  EXPECT_EQ(missing.exit_code, 66) << missing.err;
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "validation.json"));
}

TEST(CliValidate, TwoShardsMergedGiveTheUnshardedTables) {
  const fs::path dir = scratch("shards");
  const RunResult whole = run("validate -q --out " + (dir / "whole").string() + kTiny, dir);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_NE(whole.out.find("report: "), std::string::npos) << "stdout: " << whole.out << "\nstderr: " << whole.err;
  for (const char* name : {"validation.json", "validation.md", "validation_comparisons.csv", "validation_widths.csv",
                           "validation_scaling.csv"})
    EXPECT_TRUE(fs::exists(dir / "whole" / name)) << name;
  for (const char* k : {"1", "2"}) {
    const RunResult shard =
        run("validate -q --out " + (dir / ("part" + std::string(k))).string() + " --shard " + k + "/2" + kTiny, dir);
    ASSERT_EQ(shard.exit_code, 0) << shard.err;
    EXPECT_TRUE(fs::exists(dir / ("part" + std::string(k)) / "records.json"));
    EXPECT_FALSE(fs::exists(dir / ("part" + std::string(k)) / "validation.json")) << "a shard runs no analysis";
  }
  const RunResult merged = run("merge -q --out " + (dir / "merged").string() + " " + (dir / "part1").string() + " " +
                                   (dir / "part2").string(),
                               dir);
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  for (const char* name : {"validation_comparisons.csv", "validation_widths.csv", "validation_scaling.csv"})
    EXPECT_EQ(slurp(dir / "merged" / name), slurp(dir / "whole" / name)) << name;
  // One part alone is incomplete: exit 65 naming a missing unit, nothing written.
  const RunResult partial = run("merge -q --out " + (dir / "partial").string() + " " + (dir / "part1").string(), dir);
  EXPECT_EQ(partial.exit_code, 65) << partial.err;
  EXPECT_NE(partial.err.find("missing"), std::string::npos) << partial.err;
  EXPECT_FALSE(fs::exists(dir / "partial" / "validation.json"));
  // The unsharded run kept its records: merged alone they give its tables again.
  ASSERT_TRUE(fs::exists(dir / "whole" / "records" / "records.json"));
  const RunResult again =
      run("merge -q --out " + (dir / "again").string() + " " + (dir / "whole" / "records").string(), dir);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  for (const char* name : {"validation_comparisons.csv", "validation_widths.csv", "validation_scaling.csv"})
    EXPECT_EQ(slurp(dir / "again" / name), slurp(dir / "whole" / name)) << name;

  // An FB solve that cannot converge (one Newton step) fails at every width: the study
  // still exits 0, says so in the table and validation_failures.csv, and every other row
  // of the comparisons is the normal run's.
  const RunResult starved =
      run("validate -q --out " + (dir / "starved").string() + kTiny + " --set theory.fb.max_iterations=1", dir);
  ASSERT_EQ(starved.exit_code, 0) << starved.err;
  EXPECT_NE(starved.out.find("fb failed: fb_solver"), std::string::npos) << starved.out;
  EXPECT_NE(slurp(dir / "starved" / "validation_failures.csv").find("8,fb,\"failed: fb_solver"), std::string::npos);
  std::istringstream normal_rows(slurp(dir / "whole" / "validation_comparisons.csv"));
  std::string rows_without_fb;
  for (std::string line; std::getline(normal_rows, line);)
    if (line.find(",fb,") == std::string::npos) rows_without_fb += line + "\n";
  EXPECT_EQ(slurp(dir / "starved" / "validation_comparisons.csv"), rows_without_fb);
  fs::remove_all(dir);
}
