// The kernelmc executable: exit codes (sysexits), messages that name the field, and no
// result files left behind by a failed run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/cli_run.hpp"

namespace fs = std::filesystem;
using kernelmc::test::run_kernelmc;

namespace {

fs::path scratch(const std::string& name) { return kernelmc::test::scratch_directory("test_" + name); }
std::string slurp(const fs::path& p) { return kernelmc::test::read_all(p); }
kernelmc::test::CliRun run(const std::string& args, const fs::path& dir) { return run_kernelmc(args, dir); }

// A run that should fail before writing anything: exit code, field named, no output.
void expect_rejected(const std::string& name, const std::string& args, int code, const std::string& field) {
  const fs::path dir = scratch(name);
  const fs::path out = dir / "out";
  const kernelmc::test::CliRun r = run("prior -q --out " + out.string() + " " + args, dir);
  EXPECT_EQ(r.exit_code, code) << args << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(field), std::string::npos) << "stderr should name " << field << ": " << r.err;
  EXPECT_FALSE(fs::exists(out / "prior_study.json")) << "a failed run left a result behind";
  EXPECT_FALSE(fs::exists(out / "prior_study.csv"));
}

}  // namespace

TEST(Cli, UnknownOptionIsAUsageError) {
  const fs::path dir = scratch("usage");
  const kernelmc::test::CliRun r = run("prior --no-such-option", dir);
  EXPECT_EQ(r.exit_code, 64);
}

TEST(Cli, BadConfigValuesExitWith78AndNameTheField) {
  expect_rejected("depth", "--set model.depth=0", 78, "model.depth");
  expect_rejected("width", "--set model.widths=[-3]", 78, "model.widths");
  expect_rejected("kappa", "--set model.kappa=0", 78, "model.kappa");
  expect_rejected("kappa_neg", "--set model.kappa=-1", 78, "model.kappa");
  expect_rejected("activation", "--set model.activation=sigmoid", 78, "model.activation");
  expect_rejected("unknown_key", "--set model.widht=3", 78, "widht");
  expect_rejected("networks", "--set prior.networks=1", 78, "prior.networks");
}

TEST(Cli, MissingConfigFileExitsWith66) {
  const fs::path dir = scratch("missing");
  const kernelmc::test::CliRun r = run("prior -q --config " + (dir / "nope.toml").string(), dir);
  EXPECT_EQ(r.exit_code, 66);
  EXPECT_NE(r.err.find("nope.toml"), std::string::npos);
}

TEST(Cli, NanInACsvExitsWith65AndNamesLineAndColumn) {
  const fs::path dir = scratch("nan");
  {
    std::ofstream x(dir / "x.csv");
    x << "1,2\n3,nan\n";
    std::ofstream y(dir / "y.csv");
    y << "1\n-1\n";
  }
  expect_rejected("nan_run",
                  "--set data.kind=csv --set data.inputs_csv=\"" + (dir / "x.csv").string() +
                      "\" --set data.targets_csv=\"" + (dir / "y.csv").string() + "\"",
                  65, "line 2");
}

TEST(Cli, WrongColumnCountExitsWith65) {
  const fs::path dir = scratch("columns");
  {
    std::ofstream x(dir / "x.csv");
    x << "1,2\n3\n";
    std::ofstream y(dir / "y.csv");
    y << "1\n-1\n";
  }
  expect_rejected("columns_run",
                  "--set data.kind=csv --set data.inputs_csv=\"" + (dir / "x.csv").string() +
                      "\" --set data.targets_csv=\"" + (dir / "y.csv").string() + "\"",
                  65, "x.csv");
}

TEST(Cli, SmallPriorStudyWritesJsonAndCsvWithProvenance) {
  const fs::path dir = scratch("ok");
  const fs::path out = dir / "out";
  const kernelmc::test::CliRun r = run("prior -q --out " + out.string() +
                              " --set prior.widths=[4,8,16] --set prior.networks=256 --set model.depth=2",
                          dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << "quiet, non-TTY run must print nothing on stderr: " << r.err;
  ASSERT_TRUE(fs::exists(out / "prior_study.json"));
  ASSERT_TRUE(fs::exists(out / "prior_study.csv"));
  const std::string json = slurp(out / "prior_study.json");
  EXPECT_NE(json.find("\"seed\""), std::string::npos);
  EXPECT_NE(json.find("\"version\""), std::string::npos);
  EXPECT_NE(json.find("\"networks\": 256"), std::string::npos);
  EXPECT_NE(r.out.find("width scaling"), std::string::npos);
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << "temporary file left: " << entry.path();
}
