// `kernelmc theory`: exit codes, the files it writes, and no output left by a rejected run.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "support/cli_run.hpp"

namespace fs = std::filesystem;
using kernelmc::test::read_all;
using kernelmc::test::run_kernelmc;
using kernelmc::test::scratch_directory;

TEST(CliTheory, ConfigBRunExitsZeroAndWritesJsonArraysAndTable) {
  const fs::path dir = scratch_directory("theory_ok");
  const fs::path out = dir / "out";
  // THEORY.md §8.1 Config B: erf, g = 2, L = 2, κ = 1 (N = 64).
  const auto r = run_kernelmc("theory -q --out " + out.string() +
                             " --set data.kind=config_b --set model.depth=2 --set model.g=[2.0] --set model.widths=[64]",
                         dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << "quiet, non-TTY run must print nothing on stderr: " << r.err;
  EXPECT_NE(r.out.find("kernelmc theory: config_b"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exact for this configuration?"), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(out / "theory.json"));
  const nlohmann::json j = nlohmann::json::parse(read_all(out / "theory.json"));
  EXPECT_EQ(j["study"], "theory");
  EXPECT_EQ(j["provenance"]["config"]["data"]["kind"], "config_b");
  ASSERT_TRUE(j["arrays"].is_array());
  for (const auto& a : j["arrays"]) EXPECT_TRUE(fs::exists(out / a["file"].get<std::string>())) << a["file"];
  EXPECT_TRUE(fs::exists(out / "theory_arrays" / "fb_kernel_layer3.npy"));
  EXPECT_TRUE(fs::exists(out / "theory_arrays" / "adaptation_layer3.npy"));
}

TEST(CliTheory, NegativeKappaExitsWith78NamingTheFieldAndLeavesNoOutput) {
  const fs::path dir = scratch_directory("theory_kappa");
  const fs::path out = dir / "out";
  const auto r = run_kernelmc("theory -q --out " + out.string() + " --set model.kappa=-1", dir);
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_NE(r.err.find("model.kappa"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out)) << "a rejected run left an output directory behind";
}

TEST(CliTheory, BadFbSettingExitsWith78NamingTheField) {
  const fs::path dir = scratch_directory("theory_fb");
  const fs::path out = dir / "out";
  const auto r = run_kernelmc("theory -q --out " + out.string() + " --set theory.fb.damping=0", dir);
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_NE(r.err.find("theory.fb.damping"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}
