// The kernelmc executable under bad input and hostile environments: an output directory
// that cannot be written, a disk that fills during the run, a config from a newer
// version, a CSV with 10⁶ columns, NaN and Inf in every kind of input, runs too large for
// the machine. Each must exit non-zero with a message naming what is wrong and leave no
// partial result. Also: criticality warns about the model fields it ignores.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/cli_run.hpp"

namespace fs = std::filesystem;

namespace {

using kernelmc::test::CliRun;

fs::path scratch(const std::string& name) { return kernelmc::test::scratch_directory("hostile_" + name); }
CliRun run(const std::string& args, const fs::path& dir) { return kernelmc::test::run_kernelmc(args, dir); }

// A small, fast prior study (two widths, 2000 networks).
const std::string kSmallPrior = "prior -q --set prior.widths=[4,8] --set prior.networks=2000";

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// Exit code `code`, every string of `named` in stderr, and `out` absent afterwards.
void expect_refused(const CliRun& r, int code, const std::vector<std::string>& named, const fs::path& out) {
  EXPECT_EQ(r.exit_code, code) << "stderr: " << r.err;
  for (const std::string& s : named) EXPECT_NE(r.err.find(s), std::string::npos) << "stderr should name " << s << ": " << r.err;
  EXPECT_FALSE(fs::exists(out)) << "a failed run left " << out << " behind";
}

TEST(CliHostile, OutputDirectoryBelowAFileIsRefusedBeforeTheRun) {
  const fs::path dir = scratch("below_file");
  write_text(dir / "file", "x");
  const fs::path out = dir / "file" / "out";
  expect_refused(run(kSmallPrior + " --out " + out.string(), dir), 78, {"run.output_dir = " + out.string(), "cannot create"},
                 out);
}

TEST(CliHostile, OutputOnADeviceIsRefused) {
  const fs::path dir = scratch("dev_full");
  const CliRun r = run(kSmallPrior + " --out /dev/full", dir);
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_NE(r.err.find("run.output_dir = /dev/full: exists and is not a directory"), std::string::npos) << r.err;
}

TEST(CliHostile, UnwritableOutputDirectoryIsRefusedAndLeftUntouched) {
  const fs::path dir = scratch("unwritable");
  // /proc admits no new directories, even for root.
  expect_refused(run(kSmallPrior + " --out /proc/kernelmc-out", dir), 78, {"run.output_dir = /proc/kernelmc-out"},
                 "/proc/kernelmc-out");
  if (::geteuid() != 0) {  // permissions do not stop root
    const fs::path locked = dir / "locked";
    fs::create_directories(locked);
    fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
    const CliRun r = run(kSmallPrior + " --out " + locked.string(), dir);
    fs::permissions(locked, fs::perms::owner_all);
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_NE(r.err.find("cannot write a file in it"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::is_empty(locked));
  }
}

TEST(CliHostile, DiskFullDuringTheRunLeavesNoPartialResult) {
  // A file-size limit of 1 KiB (ulimit -f 2, in 512-byte blocks) with SIGXFSZ ignored makes
  // every write past 1 KiB fail with EFBIG, as on a full disk: the write probe passes, the
  // report files do not.
  const fs::path dir = scratch("disk_full");
  const fs::path out = dir / "out";
  const int code = kernelmc::test::shell_exit_code("ulimit -f 2 && trap '' XFSZ && " + std::string(KERNELMC_CLI_PATH) +
                                                    " " + kSmallPrior + " --out " + out.string() + " >/dev/null 2>" +
                                                    (dir / "stderr").string() + " </dev/null");
  const std::string err = kernelmc::test::read_all(dir / "stderr");
  EXPECT_EQ(code, 1) << err;
  EXPECT_NE(err.find("cannot write " + out.string()), std::string::npos) << err;
  EXPECT_NE(err.find("disk full"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out)) << "partial output left behind";
}

TEST(CliHostile, FailedRunKeepsWhatWasAlreadyInTheOutputDirectory) {
  const fs::path dir = scratch("keep_existing");
  const fs::path out = dir / "out";
  fs::create_directories(out);
  write_text(out / "notes.txt", "mine");
  const int code = kernelmc::test::shell_exit_code("ulimit -f 2 && trap '' XFSZ && " + std::string(KERNELMC_CLI_PATH) +
                                                    " " + kSmallPrior + " --out " + out.string() +
                                                    " >/dev/null 2>/dev/null </dev/null");
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(fs::exists(out / "notes.txt"));
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 1) << "the run's files were kept";
}

// Configs carry no version field: a config written for a newer kernelmc is recognised by
// a section or key this version does not know, and refused naming it (never ignored).
TEST(CliHostile, ConfigWithFieldsFromANewerVersionIsRefusedNamingThem) {
  const fs::path dir = scratch("newer");
  write_text(dir / "new_key.toml", "[model]\ndepth = 2\nlayer_norm = true\n");
  write_text(dir / "new_section.toml", "[checkpoint]\nevery = 100\n");
  const fs::path out = dir / "out";
  expect_refused(run(kSmallPrior + " --out " + out.string() + " --config " + (dir / "new_key.toml").string(), dir), 78,
                 {"layer_norm"}, out);
  expect_refused(run(kSmallPrior + " --out " + out.string() + " --config " + (dir / "new_section.toml").string(), dir),
                 78, {"checkpoint"}, out);
}

TEST(CliHostile, CsvWithAMillionColumnsIsRefusedBeforeLoading) {
  const fs::path dir = scratch("wide_csv");
  {
    std::ofstream x(dir / "x.csv");
    for (int row = 0; row < 4; ++row) {
      for (int c = 0; c < 1000000; ++c) x << (c ? ",0.5" : "0.5");
      x << "\n";
    }
    write_text(dir / "y.csv", "1\n-1\n1\n-1\n");
  }
  const fs::path out = dir / "out";
  const std::string data = " --set data.kind=csv --set data.inputs_csv=\"" + (dir / "x.csv").string() +
                           "\" --set data.targets_csv=\"" + (dir / "y.csv").string() + "\"";
  expect_refused(run(kSmallPrior + " --set prior.widths=[256] --out " + out.string() + data, dir), 78,
                 {"data.inputs_csv", "1000000 columns", "--force"}, out);
}

TEST(CliHostile, NanAndInfAreRefusedInEveryKindOfInput) {
  const fs::path dir = scratch("nan_inf");
  const fs::path out = dir / "out";
  // Every floating-point field of the config (core/config.hpp).
  for (const std::string field :
       {"model.kappa", "model.bias_variance", "data.noise", "theory.quadrature_tolerance", "sampler.step_size",
        "sampler.integration_time", "sampler.friction", "sampler.target_accept", "sampler.adapt_gamma",
        "sampler.adapt_kappa", "sampler.adapt_t0", "posterior.max_entry_draw_values", "theory.fb.damping",
        "theory.fb.tolerance", "theory.fb.pair_tolerance", "criticality.g_min_ratio", "criticality.g_max_ratio",
        "validation.confidence_level", "validation.false_alarm_rate"}) {
    for (const std::string value : {"nan", "inf", "-inf"}) {
      SCOPED_TRACE(field + "=" + value);
      expect_refused(run(kSmallPrior + " --out " + out.string() + " --set " + field + "=" + value, dir), 78, {field},
                     out);
    }
  }
  expect_refused(run(kSmallPrior + " --out " + out.string() + " --set sampler.max_energy_error=nan", dir), 78,
                 {"sampler.max_energy_error"}, out);  // +inf is allowed: it disables the threshold
  for (const std::string list : {"model.g", "criticality.bias_variances"})
    expect_refused(run(kSmallPrior + " --out " + out.string() + " --set " + list + "=[1.0,nan]", dir), 78, {list}, out);
  write_text(dir / "inf.toml", "[model]\nkappa = inf\n");
  expect_refused(run(kSmallPrior + " --out " + out.string() + " --config " + (dir / "inf.toml").string(), dir), 78,
                 {"model.kappa"}, out);
  write_text(dir / "x.csv", "1,2\n3,4\n");
  write_text(dir / "y.csv", "1\ninf\n");
  expect_refused(run(kSmallPrior + " --out " + out.string() + " --set data.kind=csv --set data.inputs_csv=\"" +
                         (dir / "x.csv").string() + "\" --set data.targets_csv=\"" + (dir / "y.csv").string() + "\"",
                     dir),
                 65, {"y.csv", "line 2"}, out);
}

// Runs that would exhaust the machine are refused at once, naming the fields that drive
// the estimate; --force is the way around.
TEST(CliHostile, RunsBeyondTheMachinesMemoryAreRefusedUnlessForced) {
  const fs::path dir = scratch("memory");
  const fs::path out = dir / "out";
  expect_refused(run("sample -q --set model.widths=[100000000] --out " + out.string(), dir), 78,
                 {"model.depth, model.widths = 3, [100000000]", "--force"}, out);
  expect_refused(run("sample -q --set model.depth=1000 --set model.widths=[2048] --out " + out.string(), dir), 78,
                 {"model.depth, model.widths = 1000, [2048]"}, out);
  expect_refused(run("prior -q --set prior.widths=[1000000] --out " + out.string(), dir), 78,
                 {"model.depth, prior.widths = 3, [1000000]"}, out);
}

TEST(CliHostile, CriticalityWarnsAboutTheModelFieldsItIgnores) {
  const fs::path dir = scratch("criticality_warning");
  const std::string grid = "criticality -q --set criticality.g_points=3 --set criticality.bias_variances=[0.0] --out " +
                           (dir / "out").string();
  const CliRun plain = run(grid, dir);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.err.find("warning"), std::string::npos) << plain.err;
  const CliRun r = run(grid + " --set model.g=[1.5] --set model.bias_variance=0.2", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: model.g = [1.5] is ignored by criticality"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: model.bias_variance = 0.2 is ignored by criticality"), std::string::npos) << r.err;
}

}  // namespace
