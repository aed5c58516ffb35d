// `kernelmc sample`: a small posterior run writes its report (and the draws when asked),
// bad settings exit 78 naming the field, bad data exit 65, and a failed run leaves nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/cli_run.hpp"

namespace fs = std::filesystem;
using kernelmc::test::CliRun;
using kernelmc::test::read_all;
using kernelmc::test::run_kernelmc;
using kernelmc::test::scratch_directory;

namespace {

// Config B (P = 4) at N = 8 with short chains: a run of well under a second.
const std::string kSmall =
    "--set data.kind=config_b --set model.depth=2 --set model.widths=8 --set model.g=2 "
    "--set posterior.chains=2 --set posterior.warmup=100 --set posterior.draws=100 --set posterior.batches=5";

void expect_rejected(const std::string& name, const std::string& args, int code, const std::string& field) {
  const fs::path dir = scratch_directory("sample_" + name);
  const fs::path out = dir / "out";
  const CliRun r = run_kernelmc("sample -q --out " + out.string() + " " + kSmall + " " + args, dir);
  EXPECT_EQ(r.exit_code, code) << args << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(field), std::string::npos) << "stderr should name " << field << ": " << r.err;
  EXPECT_FALSE(fs::exists(out / "posterior.json")) << "a failed run left a result behind";
  EXPECT_FALSE(fs::exists(out / "draws"));
}

}  // namespace

TEST(CliSample, SmallRunWritesReportAndDrawsWithManifest) {
  const fs::path dir = scratch_directory("sample_ok");
  const fs::path out = dir / "out";
  const CliRun r = run_kernelmc("sample -q --out " + out.string() + " " + kSmall +
                                    " --set sampler.kind=hmc --set posterior.write_draws=true",
                                dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << "quiet, non-TTY run must print nothing on stderr: " << r.err;
  EXPECT_NE(r.out.find("convergence:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hmc, 2 chains x 100 draws"), std::string::npos) << r.out;
  const std::string json = read_all(out / "posterior.json");
  EXPECT_NE(json.find("\"seed\""), std::string::npos);
  EXPECT_NE(json.find("\"convergence\""), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "draws" / "manifest.json"));
  EXPECT_TRUE(fs::exists(out / "draws" / "summaries.npy"));
  EXPECT_TRUE(fs::exists(out / "draws" / "kernel_layer2.npy"));
  EXPECT_TRUE(fs::exists(out / "draws" / "kernel_layer3.npy"));
  for (const auto& entry : fs::recursive_directory_iterator(out))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << "temporary file left: " << entry.path();
}

TEST(CliSample, BadSettingsExitWith78NamingTheField) {
  expect_rejected("chains", "--set posterior.chains=0", 78, "posterior.chains");
  expect_rejected("form", "--set posterior.form=marginal", 78, "posterior.form");
  expect_rejected("kind", "--set sampler.kind=gibbs", 78, "sampler.kind");
  expect_rejected("accept", "--set sampler.target_accept=1.5", 78, "sampler.target_accept");
  expect_rejected("kappa", "--set model.kappa=0", 78, "model.kappa");
  // Checked against the model when the run starts (L = 2: layers 2..3).
  expect_rejected("layers", "--set posterior.write_draws=true --set posterior.draw_layers=[5]", 78,
                  "posterior.draw_layers");
}

TEST(CliSample, NanInTheTargetsExitsWith65) {
  const fs::path dir = scratch_directory("sample_nan");
  {
    std::ofstream x(dir / "x.csv");
    x << "1,2\n3,4\n-1,0.5\n";
    std::ofstream y(dir / "y.csv");
    y << "1\nnan\n-1\n";
  }
  expect_rejected("nan_run",
                  "--set data.kind=csv --set data.inputs_csv=\"" + (dir / "x.csv").string() +
                      "\" --set data.targets_csv=\"" + (dir / "y.csv").string() + "\"",
                  65, "y.csv");
}

TEST(CliSample, ImportanceRouteWritesRouteReportWithEvidence) {
  const fs::path dir = scratch_directory("sample_importance");
  const fs::path out = dir / "out";
  const CliRun r = run_kernelmc(
      "sample -q --out " + out.string() + " " + kSmall + " --set posterior.route=importance --set posterior.importance_networks=2000",
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("posterior route: importance at N = 8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NNGP log Z"), std::string::npos) << r.out;
  const std::string json = read_all(out / "route.json");
  for (const char* key : {"\"log_evidence\"", "\"nngp_log_evidence\"", "\"pareto_k\"", "\"adaptation_error\"", "\"seed\""})
    EXPECT_NE(json.find(key), std::string::npos) << key;
  EXPECT_FALSE(fs::exists(out / "posterior.json"));
}

TEST(CliSample, BadRouteSettingsExitWith78NamingTheField) {
  expect_rejected("route", "--set posterior.route=exact", 78, "posterior.route");
  expect_rejected("importance_batches", "--set posterior.route=importance --set posterior.importance_batches=1", 78,
                  "posterior.importance_batches");
}
