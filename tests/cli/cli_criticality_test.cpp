// `kernelmc criticality`: exit codes, the files it writes, the documented columns of
// criticality.dat, and that a failed run leaves nothing behind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_run.hpp"

namespace fs = std::filesystem;

namespace {

using RunResult = kernelmc::test::CliRun;
fs::path scratch(const std::string& name) { return kernelmc::test::scratch_directory("criticality_" + name); }
std::string slurp(const fs::path& p) { return kernelmc::test::read_all(p); }
int shell(const std::string& command) { return kernelmc::test::shell_exit_code(command); }
RunResult run(const std::string& args, const fs::path& dir) { return kernelmc::test::run_kernelmc(args, dir); }

// The data blocks of a gnuplot file: '#' lines skipped, blocks separated by two blank lines.
std::vector<std::vector<std::vector<double>>> parse_blocks(const std::string& text) {
  std::vector<std::vector<std::vector<double>>> blocks(1);
  std::istringstream in(text);
  std::string line;
  int blank = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') continue;
    if (line.empty()) {
      if (++blank == 2 && !blocks.back().empty()) blocks.emplace_back();
      continue;
    }
    blank = 0;
    std::istringstream fields(line);
    std::vector<double> row;
    std::string field;
    // strtod reads "NaN" and "Inf", as gnuplot does.
    while (fields >> field) row.push_back(std::strtod(field.c_str(), nullptr));
    blocks.back().push_back(row);
  }
  return blocks;
}

// A small grid (5 values of g/g_c: 0.5, 0.71, 1, 1.41, 2) on the default model and data
// (erf, L = 3, XOR P = 8), so a run takes well under a second.
const std::string kSmallGrid = "--set criticality.g_points=5 --set criticality.bias_variances=[0.0,0.1]";

}  // namespace

TEST(CliCriticality, WritesJsonDataFileAndScriptWithDocumentedColumns) {
  const fs::path dir = scratch("ok");
  const fs::path out = dir / "out";
  const RunResult r = run("criticality -q --out " + out.string() + " " + kSmallGrid, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("chi_perp"), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(out / "criticality.json"));
  ASSERT_TRUE(fs::exists(out / "criticality.gp"));
  ASSERT_TRUE(fs::exists(out / "criticality.dat"));
  EXPECT_NE(slurp(out / "criticality.json").find("\"provenance\""), std::string::npos);

  const std::string dat = slurp(out / "criticality.dat");
  // The header names the columns validation/criticality_report.hpp documents.
  for (const char* name : {"1:g", "2:g_over_gc", "5:chi_perp", "6:chi_par", "9:C_aa_2", "11:N_v_2", "13:N_target_adapt_2",
                           "23:N_target_adapt_4"})
    EXPECT_NE(dat.find(name), std::string::npos) << name;
  const auto blocks = parse_blocks(dat);
  ASSERT_EQ(blocks.size(), 2u);  // one per sigma_b^2
  const double bias[] = {0.0, 0.1};
  for (std::size_t b = 0; b < 2; ++b) {
    ASSERT_EQ(blocks[b].size(), 5u);  // one row per g
    for (const auto& row : blocks[b]) {
      ASSERT_EQ(row.size(), 8u + 5u * 3u);  // 8 + 5 per layer l = 2..4; erf: quadrature, no SE columns
      EXPECT_EQ(row[2], bias[b]);
      EXPECT_NEAR(row[0] / row[1], blocks[b][2][0], 1e-12 * row[0]);  // g/(g/g_c) = g_c
    }
    // Column 5 is χ_⊥: 1 at g = g_c (TOMS 748 root, 1e-12), below in the ordered, above in
    // the chaotic phase; column 2 is g/g_c.
    EXPECT_NEAR(blocks[b][2][1], 1.0, 1e-15);
    EXPECT_NEAR(blocks[b][2][4], 1.0, 1e-12);
    EXPECT_LT(blocks[b][0][4], 1.0);
    EXPECT_GT(blocks[b][4][4], 1.0);
    // ξ_⊥ (column 7) is defined in the ordered phase only.
    EXPECT_TRUE(std::isfinite(blocks[b][0][6]));
    EXPECT_TRUE(std::isnan(blocks[b][4][6]));
  }
}

TEST(CliCriticality, GnuplotScriptRendersThePng) {
  if (shell("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot not installed";
  const fs::path dir = scratch("gnuplot");
  const fs::path out = dir / "out";
  ASSERT_EQ(run("criticality -q --out " + out.string() + " " + kSmallGrid, dir).exit_code, 0);
  const int code = shell("cd " + out.string() + " && gnuplot criticality.gp >" + (dir / "gp.log").string() + " 2>&1");
  EXPECT_EQ(code, 0) << slurp(dir / "gp.log");
  EXPECT_TRUE(fs::exists(out / "criticality.png"));
  // No warnings: every column the script plots exists.
  EXPECT_EQ(slurp(dir / "gp.log").find("warning"), std::string::npos) << slurp(dir / "gp.log");
}

TEST(CliCriticality, BadGridOrWidthsExitWith78NamingTheFieldAndWriteNothing) {
  const struct {
    const char* name;
    const char* args;
    const char* field;
  } cases[] = {{"points", "--set criticality.g_points=1", "criticality.g_points"},
               {"ratios", "--set criticality.g_min_ratio=2 --set criticality.g_max_ratio=1", "criticality.g_max_ratio"},
               {"bias", "--set criticality.bias_variances=[-0.1]", "criticality.bias_variances"},
               {"widths", "--set model.depth=2 --set model.widths=[16,32]", "model.widths"}};
  for (const auto& c : cases) {
    const fs::path dir = scratch(c.name);
    const fs::path out = dir / "out";
    const RunResult r = run(std::string("criticality -q --out ") + out.string() + " " + c.args, dir);
    EXPECT_EQ(r.exit_code, 78) << c.args << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(c.field), std::string::npos) << "stderr should name " << c.field << ": " << r.err;
    EXPECT_FALSE(fs::exists(out / "criticality.json")) << "a failed run left a result behind";
    EXPECT_FALSE(fs::exists(out / "criticality.dat"));
    EXPECT_FALSE(fs::exists(out / "criticality.gp"));
  }
}
