// The kernelmc command tree, and the single place where errors become exit codes
// (sysexits values, STYLE.md §4).
#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <iostream>
#include <vector>

#include "cli/commands.hpp"
#include "cli/run_setup.hpp"
#include "core/error.hpp"
#include "core/version.hpp"

namespace {

// sysexits.h
constexpr int kExitUsage = 64;
constexpr int kExitDataError = 65;
constexpr int kExitNoInput = 66;
constexpr int kExitSoftware = 70;
constexpr int kExitConfig = 78;

// --resume DIR of the long commands (sample, validate): their checkpoints.
constexpr const char* kResumeHelp =
    "Continue the killed run whose output directory is DIR from its checkpoint (same config and options)";

// --checkpoint-interval SECONDS of the same commands.
constexpr const char* kCheckpointIntervalHelp =
    "Save a running chain's, SMC or importance run's partial state every SECONDS of wall time (default 60; 0: only "
    "finished units), so that --resume continues inside it";

void add_common_options(CLI::App& command, kernelmc::cli::CommonOptions& options) {
  command.add_option("-c,--config", options.config_path, "TOML config file (default: built-in defaults)");
  command.add_option("--set", options.overrides, "Override a config value: section.key=value (repeatable)")
      ->take_all();
  command.add_option("-o,--out", options.output_dir, "Output directory (overrides run.output_dir)");
  command.add_flag("-q,--quiet", options.quiet, "No progress bar");
  command.add_flag("--force", options.force,
                   "Run even if the estimated memory exceeds 80 % of the available memory");
}

// A failed run leaves no partial result (run_setup.hpp), then exits with `code`.
int failed(int code) {
  kernelmc::cli::discard_partial_output();
  return code;
}

// Runs `command` and turns kernelmc's errors into exit codes (sysexits) with the message on
// stderr; a failed run leaves no partial result (run_setup.hpp).
int exit_code_of(const std::function<int()>& command) {
  try {
    return command();
  } catch (const kernelmc::ConfigError& e) {
    std::cerr << "kernelmc: config error: " << e.what() << "\n";
    return failed(kExitConfig);
  } catch (const kernelmc::DataError& e) {
    std::cerr << "kernelmc: data error: " << e.what() << "\n";
    return failed(kExitDataError);
  } catch (const kernelmc::InputFileError& e) {
    std::cerr << "kernelmc: " << e.what() << "\n";
    return failed(kExitNoInput);
  } catch (const kernelmc::Error& e) {
    std::cerr << "kernelmc: error: " << e.what() << "\n";
    return failed(1);
  } catch (const std::exception& e) {
    std::cerr << "kernelmc: internal error (a bug, please report it): " << e.what() << "\n";
    return failed(kExitSoftware);
  }
}

// One entry per subcommand with only the common options: its name, what it does, and its
// run function (commands.hpp). Subcommands with options of their own are added in main.
struct Command {
  const char* name;
  const char* description;
  int (*run)(const kernelmc::cli::CommonOptions&);
};
const Command kCommands[] = {
    {"prior", "Exact prior sampling over widths vs NNGP and O(1/N) prior theory", kernelmc::cli::run_prior},
    {"sample", "Posterior chains (HMC, NUTS, Langevin): every layer's mean kernel with MCSE, R-hat, ESS",
     kernelmc::cli::run_sample},
    {"criticality", "q*, chi's, prior fluctuations and adaptation by layer over g across the edge of chaos",
     kernelmc::cli::run_criticality},
    {"theory", "Every analytic prediction for every layer (NNGP, mu, Sigma, FB, one loop, test points) as JSON and NPY",
     kernelmc::cli::run_theory},
    {"demo", "The main job: a built-in validation study (also what kernelmc runs without a subcommand)",
     kernelmc::cli::run_demo},
};

// --resume and --checkpoint-interval, for the commands that keep a checkpoint.
void add_checkpoint_options(CLI::App& command, kernelmc::cli::CommonOptions& options) {
  command.add_option("--resume", options.resume_dir, kResumeHelp);
  command.add_option("--checkpoint-interval", options.checkpoint_interval, kCheckpointIntervalHelp);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kernelmc: Monte Carlo referee for finite-width kernel theories of deep networks"};
  app.set_version_flag("--version", std::string("kernelmc ") + kernelmc::kVersion);
  app.require_subcommand(0, 1);
  kernelmc::cli::CommonOptions options;

  std::vector<CLI::App*> subcommands;
  for (const Command& command : kCommands) {
    subcommands.push_back(app.add_subcommand(command.name, command.description));
    add_common_options(*subcommands.back(), options);
  }
  add_checkpoint_options(*app.get_subcommand("sample"), options);
  std::string shard;
  CLI::App* validate = app.add_subcommand(
      "validate", "Posterior and exact prior Monte Carlo over widths against every finite-width theory");
  add_common_options(*validate, options);
  validate->add_option("--shard", shard, "Compute only part k of K of the study's units (k/K) and write its records");
  add_checkpoint_options(*validate, options);
  std::vector<std::string> merge_directories;
  CLI::App* merge = app.add_subcommand("merge", "Merge the record directories of validate --shard and analyse them");
  add_common_options(*merge, options);
  merge->add_option("directories", merge_directories, "Record directories written by validate --shard")->required();
  // Without a subcommand kernelmc runs its main job (demo) on the built-in default; the
  // options apply to it as well.
  add_common_options(app, options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  return exit_code_of([&] {
    if (validate->parsed()) {
      options.command = "validate";
      return kernelmc::cli::run_validate(options, shard);
    }
    if (merge->parsed()) {
      options.command = "merge";
      return kernelmc::cli::run_merge(options, merge_directories);
    }
    for (std::size_t i = 0; i < subcommands.size(); ++i) {
      if (!subcommands[i]->parsed()) continue;
      options.command = kCommands[i].name;
      return kCommands[i].run(options);
    }
    return kernelmc::cli::run_demo(options);
  });
}
