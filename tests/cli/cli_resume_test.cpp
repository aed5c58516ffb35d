// Checkpoint and resume of `kernelmc validate` (validation/study_checkpoint.hpp) and
// `kernelmc sample` (validation/posterior_checkpoint.hpp): a run SIGKILLed at several points
// (after its k-th unit reached the checkpoint), continued with --resume, writes the
// uninterrupted run's result byte for byte (validate: the tables and the records' arrays,
// for a chain study and an SMC route study; sample: the draws' arrays and posterior.json
// without its wall-clock fields); a checkpoint of another config, of another kernelmc version,
// or with a corrupted or truncated unit file is refused, naming why, and nothing is mixed.
// Inside a unit: a chain (`sample`, `validate`), an SMC or an importance route unit that saves its partial
// state (the test hook KERNELMC_CHECKPOINT_EVERY=k: every k-th safe point) and is SIGKILLed
// after its j-th save continues from it and again writes the uninterrupted result byte for
// byte; a corrupt partial state is refused naming its file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_run.hpp"

namespace fs = std::filesystem;
using kernelmc::test::CliRun;
using kernelmc::test::read_all;
using kernelmc::test::run_kernelmc;
using kernelmc::test::scratch_directory;

namespace {

// Config B, two widths, 2 chains each: 2 prior + 4 chain units, each long enough (about
// 0.1 s) that the test sees the checkpoint grow unit by unit.
const std::string kChains =
    " --set data.kind=config_b --set model.depth=2 --set model.g=[2.0] --set validation.widths=[8,16]"
    " --set validation.prior_networks=5000 --set validation.bootstrap_resamples=50 --set posterior.warmup=500"
    " --set posterior.draws=600 --set posterior.chains=2 --set posterior.batches=5 --set run.seed=11"
    " --set posterior.route=chains --set validation.figures=false";
// The same model by tempered SMC: an exact prior unit and a route unit per width, three widths.
const std::string kSmc =
    " --set data.kind=config_b --set model.depth=2 --set model.g=[2.0] --set validation.widths=[8,12,16]"
    " --set validation.prior_networks=2000 --set validation.bootstrap_resamples=50 --set run.seed=11"
    " --set validation.figures=false --set posterior.route=smc --set posterior.smc_particles=32"
    " --set posterior.smc_replicates=2";

// A longer SMC route study (more particles, three runs, a sharper likelihood: several
// tempering steps per run) whose route units save between steps and between runs.
const std::string kSmcInside =
    " --set data.kind=config_b --set model.depth=2 --set model.g=[2.0] --set validation.widths=[8,16]"
    " --set validation.prior_networks=2000 --set validation.bootstrap_resamples=50 --set run.seed=11"
    " --set validation.figures=false --set posterior.route=smc --set posterior.smc_particles=256"
    " --set posterior.smc_replicates=3 --set model.kappa=0.05";

// An importance route study whose route units save their finished blocks of networks
// (20 blocks of 10 000 networks per width).
const std::string kImportanceInside =
    " --set data.kind=config_b --set model.depth=2 --set model.g=[2.0] --set validation.widths=[8,16]"
    " --set validation.prior_networks=2000 --set validation.bootstrap_resamples=50 --set run.seed=11"
    " --set validation.figures=false --set posterior.route=importance --set posterior.importance_networks=200000";

// A proportional study family (linear L = 1, α = 0.5 and 1, N = 4 and 8, 2 chains per width):
// 2 members × 2 widths × (a prior unit and 2 chains) = 12 units in one checkpoint folder.
const std::string kFamily =
    " --set validation.study=proportional --set validation.alphas=[0.5,1.0] --set validation.widths=[4,8]"
    " --set data.kind=teacher --set data.points=8 --set data.input_dim=8 --set data.teacher_activation=linear"
    " --set model.depth=1 --set model.activation=linear --set model.g=[1.0] --set model.kappa=0.5"
    " --set posterior.route=chains --set posterior.chains=2 --set posterior.warmup=3000 --set posterior.draws=4000"
    " --set validation.prior_networks=2000 --set validation.figures=false --set run.seed=3";

// The files of a family run that must agree: study.csv and every record array.
std::vector<fs::path> family_files(const fs::path& out) {
  std::vector<fs::path> files = {"study.csv"};
  for (const auto& e : fs::recursive_directory_iterator(out / "records"))
    if (e.path().extension() == ".npy") files.push_back(fs::relative(e.path(), out));
  return files;
}

// `kernelmc sample`, Config B at N = 8, 4 chains, every draw written.
const std::string kSample =
    " --set data.kind=config_b --set model.depth=2 --set model.widths=8 --set model.g=2 --set posterior.chains=4"
    " --set posterior.warmup=1000 --set posterior.draws=1500 --set posterior.batches=5 --set posterior.write_draws=true"
    " --set run.seed=5";

// Files that must agree byte for byte: the tables, and (chain studies) the records' arrays.
std::vector<fs::path> result_files(const fs::path& out) {
  std::vector<fs::path> files;
  for (const char* name : {"validation_comparisons.csv", "validation_widths.csv", "validation_scaling.csv"})
    files.push_back(name);
  if (fs::is_directory(out / "records"))
    for (const auto& e : fs::directory_iterator(out / "records"))
      if (e.path().extension() == ".npy") files.push_back(fs::path("records") / e.path().filename());
  return files;
}

// posterior.json without what depends on the wall clock (the provenance's time, any
// *seconds field).
std::string without_wall_clock(const fs::path& file) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(read_all(file));
  const auto strip = [](auto& self, nlohmann::ordered_json& node) -> void {
    if (node.is_array())
      for (auto& item : node) self(self, item);
    if (!node.is_object()) return;
    for (auto it = node.begin(); it != node.end();) {
      const std::string& key = it.key();
      if (key == "provenance" || (key.size() >= 7 && key.compare(key.size() - 7, 7, "seconds") == 0)) {
        it = node.erase(it);
      } else {
        self(self, it.value());
        ++it;
      }
    }
  };
  strip(strip, j);
  return j.dump(1);
}

bool is_partial_state(const fs::path& file) {
  const std::string name = file.filename().string();
  return name.size() > 12 && name.compare(name.size() - 12, 12, ".partial.bin") == 0;
}

std::size_t units_done(const fs::path& out) {
  std::error_code ec;
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(out / "checkpoint" / "units", ec))
    if (e.path().extension() == ".bin" && !is_partial_state(e.path())) ++n;
  return n;
}

// The contents of every partial-state file in the checkpoint, concatenated ("" if none).
std::string partial_states(const fs::path& out) {
  std::error_code ec;
  std::string all;
  for (const auto& e : fs::directory_iterator(out / "checkpoint" / "units", ec))
    if (is_partial_state(e.path())) all += read_all(e.path());
  return all;
}

// Starts `kernelmc <command> <args>` (the shell execs it: the pid is kernelmc's) on one thread,
// so that units finish one at a time (results never depend on the thread count), with
// KERNELMC_CHECKPOINT_EVERY=`every` unless 0, and SIGKILLs it as soon as `done(out)` holds.
// Returns false if it ended first.
template <typename Done>
bool run_and_kill_when(const std::string& command, const std::string& args, const fs::path& out,
                       std::int64_t every, const fs::path& dir, Done done) {
  const std::string env = every > 0 ? "export KERNELMC_CHECKPOINT_EVERY=" + std::to_string(every) + "; " : "";
  const std::string cmd = env + "exec " + std::string(KERNELMC_CLI_PATH) + " " + command + " -q --out " +
                          out.string() + args + " --set run.threads=1 >" + (dir / "killed_stdout").string() +
                          " 2>&1 </dev/null";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (!done(out)) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// Killed as soon as `units` unit files are in its checkpoint.
bool run_and_kill_after(const std::string& command, const std::string& args, const fs::path& out, std::size_t units,
                        const fs::path& dir) {
  return run_and_kill_when(command, args, out, 0, dir, [units](const fs::path& o) { return units_done(o) >= units; });
}

// Saving its partial state at every `every`-th safe point, killed once the partial-state
// files have been seen with `saves` different contents (at least that many saves), no unit
// having finished.
bool run_and_kill_after_saves(const std::string& command, const std::string& args, const fs::path& out,
                              std::int64_t every, int saves, const fs::path& dir) {
  std::string last;
  int seen = 0;
  return run_and_kill_when(command, args, out, every, dir, [&](const fs::path& o) {
    const std::string now = partial_states(o);
    if (!now.empty() && now != last) {
      ++seen;
      last = now;
    }
    return seen >= saves;
  });
}

// An uninterrupted run of a study of `units` units, then one killed after each of
// `kill_points` units and resumed: every result file equal, the checkpoint gone after the
// resumed run.
void expect_resume_is_bit_identical(
    const std::string& name, const std::string& args, std::size_t units, const std::vector<std::size_t>& kill_points,
    const std::function<std::vector<fs::path>(const fs::path&)>& result = result_files) {
  const fs::path dir = scratch_directory("resume_" + name);
  const CliRun whole = run_kernelmc("validate -q --out " + (dir / "whole").string() + args, dir);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_FALSE(fs::exists(dir / "whole" / "checkpoint")) << "a finished run keeps no checkpoint";
  for (const std::size_t k : kill_points) {
    const fs::path out = dir / ("killed_after_" + std::to_string(k));
    ASSERT_TRUE(run_and_kill_after("validate", args, out, k, dir))
        << "the run ended before its unit " << k << " was kept";
    ASSERT_FALSE(fs::exists(out / result(dir / "whole").front())) << "killed before its analysis";
    const std::size_t kept = units_done(out);
    EXPECT_LT(kept, units) << "the resumed run computes a unit";
    const CliRun resumed = run_kernelmc("validate -q --resume " + out.string() + args, dir);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("resumed: " + std::to_string(kept) + " of"), std::string::npos) << resumed.out;
    for (const fs::path& file : result(dir / "whole")) {
      ASSERT_TRUE(fs::exists(out / file)) << file;
      EXPECT_TRUE(read_all(out / file) == read_all(dir / "whole" / file))
          << name << ", killed after " << k << ": " << file;
    }
    EXPECT_FALSE(fs::exists(out / "checkpoint"));
  }
  fs::remove_all(dir);
}

// An uninterrupted `validate` (or `sample`), then runs saving their partial state every
// `every` safe points, killed after their `saves`-th save, inside their first unit (none
// finished), and resumed (without the test hook: results never depend on the schedule):
// `files` equal byte for byte, the checkpoint gone.
struct KillInside {
  std::int64_t every;
  int saves;
};
void expect_resume_inside_is_bit_identical(const std::string& name, const std::string& command,
                                           const std::string& args, const std::vector<KillInside>& kills,
                                           const std::function<std::vector<fs::path>(const fs::path&)>& result) {
  const fs::path dir = scratch_directory("resume_inside_" + name);
  const CliRun whole = run_kernelmc(command + " -q --out " + (dir / "whole").string() + args, dir);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const std::vector<fs::path> files = result(dir / "whole");
  for (const KillInside& kill : kills) {
    const fs::path out = dir / ("every_" + std::to_string(kill.every) + "_save_" + std::to_string(kill.saves));
    ASSERT_TRUE(run_and_kill_after_saves(command, args, out, kill.every, kill.saves, dir))
        << name << ": the run ended before its save " << kill.saves << " (every " << kill.every << ")";
    ASSERT_FALSE(partial_states(out).empty());
    const CliRun resumed = run_kernelmc(command + " -q --resume " + out.string() + args, dir);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    for (const fs::path& file : files) {
      ASSERT_TRUE(fs::exists(out / file)) << file;
      const bool json = file.extension() == ".json";
      EXPECT_TRUE(json ? without_wall_clock(out / file) == without_wall_clock(dir / "whole" / file)
                       : read_all(out / file) == read_all(dir / "whole" / file))
          << name << ", every " << kill.every << ", killed after save " << kill.saves << ": " << file;
    }
    EXPECT_FALSE(fs::exists(out / "checkpoint"));
  }
  fs::remove_all(dir);
}

// The files of a `sample` run that must agree: posterior.json (wall clock aside) and the draws.
std::vector<fs::path> sample_files(const fs::path& out) {
  std::vector<fs::path> files = {"posterior.json"};
  for (const auto& e : fs::directory_iterator(out / "draws")) files.push_back(fs::path("draws") / e.path().filename());
  return files;
}

}  // namespace

TEST(CliResume, ChainKilledInsideItResumesBitIdentically) {
  // One chain of 1000 warmup transitions and 1500 draws: 2500 safe points. Saves every 300
  // (first inside warmup), every 1000 (after the last warmup transition, before warmup ends),
  // every 700 (the second save in sampling), every 150 (the fourth, inside warmup).
  const std::string one_chain = kSample + " --set posterior.chains=1";
  expect_resume_inside_is_bit_identical("sample", "sample", one_chain, {{300, 1}, {1000, 1}, {700, 2}, {150, 4}},
                                        sample_files);
}

TEST(CliResume, ChainUnitOfAStudyKilledInsideItResumesBitIdentically) {
  // One chain per width; the N = 16 chain runs first (the longest unit) and saves.
  const std::string one_chain = kChains + " --set posterior.chains=1 --set posterior.warmup=1500 --set posterior.draws=2000";
  expect_resume_inside_is_bit_identical("validate_chain", "validate", one_chain, {{400, 1}, {1500, 1}, {900, 3}},
                                        result_files);
}

TEST(CliResume, SmcUnitKilledInsideItResumesBitIdentically) {
  // Each save is after a tempering step or after a finished run (of the first route unit).
  expect_resume_inside_is_bit_identical("smc", "validate", kSmcInside, {{1, 1}, {2, 2}, {1, 6}}, result_files);
}

TEST(CliResume, ImportanceUnitKilledInsideItResumesBitIdentically) {
  // Each save is after a finished block of networks (of a route unit).
  expect_resume_inside_is_bit_identical("importance", "validate", kImportanceInside, {{1, 1}, {2, 3}},
                                        result_files);
}

TEST(CliResume, SampleRouteKilledInsideItResumesBitIdentically) {
  // `sample` on the importance route (20 blocks of 10 000 networks at N = 16) and on SMC:
  // route.json (wall clock aside) after a kill after the 1st and the 3rd save.
  const auto route_file = [](const fs::path&) { return std::vector<fs::path>{"route.json"}; };
  const std::string route = " --set data.kind=config_b --set model.depth=2 --set model.widths=16 --set model.g=2"
                            " --set run.seed=5 --set posterior.route=";
  expect_resume_inside_is_bit_identical("sample_importance", "sample",
                                        route + "importance --set posterior.importance_networks=200000",
                                        {{1, 1}, {1, 3}}, route_file);
  expect_resume_inside_is_bit_identical(
      "sample_smc", "sample",
      route + "smc --set posterior.smc_particles=256 --set posterior.smc_replicates=3 --set model.kappa=0.05",
      {{1, 1}, {1, 3}}, route_file);
}

TEST(CliResume, CorruptPartialStateIsRefusedNamingItsFile) {
  const fs::path dir = scratch_directory("resume_corrupt_partial");
  const fs::path out = dir / "out";
  const std::string one_chain = kSample + " --set posterior.chains=1";
  ASSERT_TRUE(run_and_kill_after_saves("sample", one_chain, out, 300, 1, dir));
  const fs::path partial = out / "checkpoint" / "units" / "chain_c0.partial.bin";
  ASSERT_TRUE(fs::exists(partial));
  std::string bytes = read_all(partial);
  bytes[bytes.size() / 3] = static_cast<char>(bytes[bytes.size() / 3] ^ 0x04);
  std::ofstream(partial, std::ios::binary | std::ios::trunc) << bytes;
  const CliRun r = run_kernelmc("sample -q --resume " + out.string() + one_chain, dir);
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_NE(r.err.find("chain_c0.partial.bin"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "posterior.json"));
  EXPECT_TRUE(fs::exists(partial)) << "a refused resume removed the partial state";
  // A bad schedule is refused naming the option and its value.
  const CliRun bad = run_kernelmc("sample -q --out " + (dir / "bad").string() + one_chain + " --checkpoint-interval -1", dir);
  EXPECT_EQ(bad.exit_code, 78) << bad.err;
  EXPECT_NE(bad.err.find("--checkpoint-interval -1"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

TEST(CliResume, ChainStudyKilledAtSeveralPointsResumesBitIdentically) {
  expect_resume_is_bit_identical("chains", kChains, 6, {1, 3, 5});
}

TEST(CliResume, SmcStudyKilledAtSeveralPointsResumesBitIdentically) {
  expect_resume_is_bit_identical("smc", kSmc, 6, {1, 3, 5});
}

TEST(CliResume, StudyFamilyKilledAtSeveralPointsResumesBitIdentically) {
  expect_resume_is_bit_identical("family", kFamily, 12, {2, 7}, family_files);
  // The members share one checkpoint folder; run whole, each member's units must stay its
  // own: the whole run equals its four shards (one member each, own processes) merged.
  const fs::path dir = scratch_directory("family_shards");
  ASSERT_EQ(run_kernelmc("validate -q --out " + (dir / "whole").string() + kFamily, dir).exit_code, 0);
  std::string parts;
  for (const char* k : {"1", "2", "3", "4"}) {
    const fs::path part = dir / ("part" + std::string(k));
    ASSERT_EQ(run_kernelmc("validate -q --out " + part.string() + " --shard " + k + "/4" + kFamily, dir).exit_code, 0);
    parts += " " + part.string();
  }
  ASSERT_EQ(run_kernelmc("merge -q --out " + (dir / "merged").string() + parts, dir).exit_code, 0);
  EXPECT_TRUE(read_all(dir / "merged" / "study.csv") == read_all(dir / "whole" / "study.csv"));
  fs::remove_all(dir);
}

TEST(CliResume, SampleKilledAtSeveralPointsResumesBitIdentically) {
  const fs::path dir = scratch_directory("resume_sample");
  const CliRun whole = run_kernelmc("sample -q --out " + (dir / "whole").string() + kSample, dir);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_FALSE(fs::exists(dir / "whole" / "checkpoint")) << "a finished run keeps no checkpoint";
  for (const std::size_t k : {1, 3}) {
    const fs::path out = dir / ("killed_after_" + std::to_string(k));
    ASSERT_TRUE(run_and_kill_after("sample", kSample, out, k, dir))
        << "the run ended before chain " << k << " was kept";
    ASSERT_FALSE(fs::exists(out / "posterior.json")) << "killed before its report";
    const std::size_t kept = units_done(out);
    EXPECT_LT(kept, 4u) << "the resumed run runs a chain";
    const CliRun resumed = run_kernelmc("sample -q --resume " + out.string() + kSample, dir);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("resumed: " + std::to_string(kept) + " of 4 chains"), std::string::npos) << resumed.out;
    EXPECT_TRUE(without_wall_clock(out / "posterior.json") == without_wall_clock(dir / "whole" / "posterior.json"))
        << "killed after " << k << ": posterior.json";
    std::size_t arrays = 0;
    for (const auto& e : fs::directory_iterator(dir / "whole" / "draws")) {
      const fs::path mine = out / "draws" / e.path().filename();
      if (e.path().extension() == ".json")
        EXPECT_TRUE(without_wall_clock(mine) == without_wall_clock(e.path())) << e.path().filename();
      else
        EXPECT_TRUE(read_all(mine) == read_all(e.path())) << "killed after " << k << ": " << e.path().filename();
      ++arrays;
    }
    EXPECT_GE(arrays, 3u);
    EXPECT_FALSE(fs::exists(out / "checkpoint"));
  }
  fs::remove_all(dir);
}

TEST(CliResume, MismatchedOrCorruptCheckpointIsRefusedNamingWhy) {
  const fs::path dir = scratch_directory("resume_refused");
  const fs::path out = dir / "out";
  ASSERT_TRUE(run_and_kill_after("validate", kChains, out, 2, dir));
  const auto copy = [&](const std::string& name) {
    fs::copy(out, dir / name, fs::copy_options::recursive);
    return dir / name;
  };
  const auto refused = [&](const fs::path& at, const std::string& extra, int code, const std::string& says) {
    const CliRun r = run_kernelmc("validate -q --resume " + at.string() + kChains + extra, dir);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << "stderr should say " << says << ": " << r.err;
    EXPECT_FALSE(fs::exists(at / "validation_comparisons.csv")) << "a refused resume wrote a result";
    EXPECT_TRUE(fs::exists(at / "checkpoint" / "manifest.json")) << "a refused resume removed the checkpoint";
  };
  // Another config: the differing field is named, with both values.
  refused(copy("other_seed"), " --set run.seed=12", 78, "run.seed = 11 in the checkpoint, 12 now");
  // Another kernelmc version.
  const fs::path version = copy("other_version");
  std::string manifest = read_all(version / "checkpoint" / "manifest.json");
  const std::size_t at = manifest.find("\"kernelmc_version\": \"");
  ASSERT_NE(at, std::string::npos) << manifest;
  manifest.insert(at + 21, "0.0.0-other-");
  std::ofstream(version / "checkpoint" / "manifest.json", std::ios::trunc) << manifest;
  refused(version, "", 78, "kernelmc_version");
  // A unit file with one byte flipped, and one cut short: DataError naming the file.
  for (const bool truncate : {false, true}) {
    const fs::path bad = copy(truncate ? "truncated" : "flipped");
    fs::path unit;
    for (const auto& e : fs::directory_iterator(bad / "checkpoint" / "units"))
      if (e.path().extension() == ".bin") unit = e.path();  // not a temporary file the kill left
    ASSERT_FALSE(unit.empty());
    std::string bytes = read_all(unit);
    if (truncate)
      bytes.resize(bytes.size() / 2);
    else
      bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
    std::ofstream(unit, std::ios::binary | std::ios::trunc) << bytes;
    refused(bad, "", 65, unit.filename().string());
  }
  // Another command's checkpoint.
  const fs::path other_command = copy("other_command");
  const CliRun sample = run_kernelmc("sample -q --resume " + other_command.string() + kSample, dir);
  EXPECT_EQ(sample.exit_code, 78) << sample.err;
  EXPECT_NE(sample.err.find("command"), std::string::npos) << sample.err;
  // No checkpoint at all.
  const CliRun none = run_kernelmc("validate -q --resume " + (dir / "nowhere").string() + kChains, dir);
  EXPECT_EQ(none.exit_code, 66) << none.err;
  EXPECT_NE(none.err.find("no checkpoint"), std::string::npos) << none.err;
  fs::remove_all(dir);
}
