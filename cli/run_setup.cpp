#include "cli/run_setup.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "sampling/detail/threads.hpp"

namespace kernelmc::cli {

namespace fs = std::filesystem;

namespace {

// The output directory of the current run, and what was in it before the run.
struct OutputDirectoryState {
  fs::path directory;
  bool existed = false;
  std::set<fs::path> entries_before;
};
OutputDirectoryState& output_state() {
  static OutputDirectoryState state;
  return state;
}

[[noreturn]] void output_error(const fs::path& dir, const std::string& rule) {
  throw ConfigError("run.output_dir = " + dir.string() + ": " + rule);
}

// run.output_dir must be (or become) a writable directory. Checked by creating it and a
// small probe file before any computation, so an unwritable target fails at once instead
// of after the run; whatever the check created is removed again.
void check_output_directory(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) output_error(dir, "exists and is not a directory");
  fs::path first_created;
  for (fs::path p = fs::absolute(dir, ec); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    first_created = p;
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    const std::string reason = ec.message();
    if (!first_created.empty()) fs::remove_all(first_created, ec);
    output_error(dir, "cannot create the directory (" + reason + ")");
  }
  const fs::path probe = dir / (".kernelmc-write-probe-" + std::to_string(::getpid()));
  bool written = false;
  {
    std::ofstream out(probe, std::ios::binary | std::ios::trunc);
    out << "kernelmc checks that it can write here\n";
    out.close();
    written = static_cast<bool>(out);
  }
  fs::remove(probe, ec);
  if (!first_created.empty()) fs::remove_all(first_created, ec);
  if (!written) output_error(dir, "cannot write a file in it (read-only, no permission, or the disk is full)");
}

void remember_output_directory(const fs::path& dir) {
  OutputDirectoryState state;
  state.directory = dir;
  std::error_code ec;
  state.existed = fs::is_directory(dir, ec);
  if (state.existed)
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) state.entries_before.insert(e.path());
  output_state() = state;
}

// Bytes the machine can give this run: MemAvailable (/proc/meminfo), or the cgroup's
// memory.max if lower; 0 if neither can be read.
double available_memory_bytes() {
  double available = 0.0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0.0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") available = kib * 1024.0;
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  double limit = 0.0;
  if (cgroup >> limit && limit > 0.0) available = available > 0.0 ? std::min(available, limit) : limit;
  return available;
}

std::string gigabytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g GB", bytes / 1e9);
  return text;
}

// Refuses a run whose estimated memory exceeds 80 % of what is available.
void check_memory(const core::Config& config, const std::string& command) {
  const double available = available_memory_bytes();
  if (available <= 0.0) return;  // nothing to compare with: the guard cannot judge
  const MemoryEstimate need = estimate_memory(config, command);
  if (need.bytes <= 0.8 * available) return;
  throw ConfigError(need.field + " = " + need.value + ": the run needs about " + gigabytes(need.bytes) +
                    " of memory (estimated before starting), more than 80 % of the " + gigabytes(available) +
                    " available; make it smaller, or pass --force to run anyway");
}

// The input dimension d without building the data: the generators' sizes, or the number of
// fields on the first data line of data.inputs_csv (0 if it cannot be read; the run then
// fails on the file with its own error).
double input_dimension(const core::DataSettings& data) {
  if (data.kind == "config_a" || data.kind == "config_b") return 3.0;
  if (data.kind != "csv") return static_cast<double>(data.input_dim);
  std::ifstream in(data.inputs_csv);
  std::string line;
  bool skip_header = data.csv_header;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!skip_header) return 1.0 + static_cast<double>(std::count(line.begin(), line.end(), ','));
    skip_header = false;
  }
  return 0.0;
}

std::string widths_text(const std::vector<Eigen::Index>& widths) {
  std::ostringstream text;
  for (std::size_t i = 0; i < widths.size(); ++i) text << (i ? ", " : "[") << widths[i];
  return text.str() + "]";
}

}  // namespace

core::Config resolve_config(const CommonOptions& options) {
  std::vector<std::string> overrides = options.overrides;
  if (!options.output_dir.empty()) overrides.push_back("run.output_dir=" + options.output_dir);  // string fields take raw text
  if (!options.resume_dir.empty()) {
    if (!options.output_dir.empty() && fs::path(options.output_dir) != fs::path(options.resume_dir))
      throw ConfigError("--out " + options.output_dir + " --resume " + options.resume_dir +
                        ": a resumed run writes into the directory it resumes; give one of them");
    overrides.push_back("run.output_dir=" + options.resume_dir);
  }
  core::Config config = options.config_path.empty()
                            ? core::parse_config("", overrides, "<defaults>")
                            : core::load_config(options.config_path, overrides);
  if (config.run.threads > 0) omp_set_num_threads(config.run.threads);
  sampling::set_threads_per_chain(config.run.threads_per_chain);
  if (!options.force) check_memory(config, options.command);
  check_output_directory(config.run.output_dir);
  remember_output_directory(config.run.output_dir);
  return config;
}

// Peak resident memory of one replica (a chain or a prior sampling thread), in copies of the
// network's parameters (8 bytes each): weights, gradient, momentum, NUTS's workspace per tree
// depth and the backward pass's per-layer matrices. Measured: kernelmc sample with L = 1000,
// N = 64 (4.2·10⁶ parameters, 2 chains at once) held 6.3 GB after 45–60 s, ≈ 94 copies per
// chain; 112 leaves a margin (tests/README.md, "Resource guard").
constexpr double kCopiesPerReplica = 112.0;

MemoryEstimate estimate_memory(const core::Config& config, const std::string& command) {
  const double d = input_dimension(config.data);
  const core::ModelSettings& m = config.model;
  const auto L = static_cast<std::size_t>(std::max<Eigen::Index>(m.depth, 1));
  // prior and validate sweep their own widths (every hidden layer at N); sample uses model.widths.
  std::vector<Eigen::Index> widths = m.widths;
  std::string widths_field = "model.widths";
  const bool prior = command == "prior";
  const std::vector<Eigen::Index>& swept = prior ? config.prior.widths : config.validation.widths;
  if ((prior || command == "validate" || command.empty()) && !swept.empty()) {
    widths = {*std::max_element(swept.begin(), swept.end())};
    widths_field = prior ? "prior.widths" : "validation.widths";
  }
  double params = 0.0, previous = std::max(d, 1.0);
  for (std::size_t l = 0; l < L; ++l) {
    const double N = static_cast<double>(widths.size() == L ? widths[l] : widths.front());
    params += N * previous + N;
    previous = N;
  }
  params += previous;  // the readout
  const double threads = std::max(1, omp_get_max_threads());
  const bool samples_networks = command != "theory" && command != "criticality" && command != "merge";
  double replicas = threads;
  if (command == "sample" || command == "validate" || command.empty())
    replicas = std::min(threads, static_cast<double>(config.posterior.chains));
  MemoryEstimate estimate{samples_networks ? 8.0 * params * kCopiesPerReplica * replicas : 0.0,
                          "model.depth, " + widths_field, std::to_string(m.depth) + ", " + widths_text(widths)};
  if (d > 1e4) {
    estimate.field = "data.inputs_csv";
    estimate.value = config.data.inputs_csv + " (" + std::to_string(static_cast<long long>(d)) + " columns)";
  }
  return estimate;
}

void discard_partial_output() {
  const OutputDirectoryState state = output_state();
  output_state() = {};
  if (state.directory.empty()) return;
  std::error_code ec;
  if (!fs::is_directory(state.directory, ec)) return;
  std::uintmax_t removed = 0;  // files and directories, the run's directory included
  if (!state.existed) {
    removed = fs::remove_all(state.directory, ec);
  } else {
    std::vector<fs::path> added;
    for (const fs::directory_entry& e : fs::directory_iterator(state.directory, ec))
      if (!state.entries_before.count(e.path())) added.push_back(e.path());
    for (const fs::path& p : added) removed += fs::remove_all(p, ec);
  }
  // A run refused before it wrote anything (e.g. a --resume of another config) has nothing to remove.
  if (removed > 1 || (removed == 1 && state.existed))
    std::cerr << "kernelmc: removed the partial output of the failed run from " << state.directory.string() << "\n";
}

validation::CheckpointSchedule checkpoint_schedule(const CommonOptions& options) {
  validation::CheckpointSchedule schedule;
  if (!(std::isfinite(options.checkpoint_interval) && options.checkpoint_interval >= 0.0)) {
    std::ostringstream msg;
    msg << "--checkpoint-interval " << options.checkpoint_interval << ": must be a finite number of seconds >= 0";
    throw ConfigError(msg.str());
  }
  schedule.interval_seconds = options.checkpoint_interval;
  if (const char* every = std::getenv("KERNELMC_CHECKPOINT_EVERY")) {
    char* end = nullptr;
    const long long k = std::strtoll(every, &end, 10);
    if (end == every || *end != '\0' || k < 1)
      throw ConfigError(std::string("KERNELMC_CHECKPOINT_EVERY = ") + every + ": must be a positive integer");
    schedule.every_safe_points = k;
  }
  return schedule;
}

}  // namespace kernelmc::cli
