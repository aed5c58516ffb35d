// The kernelmc command tree, and the single place where errors become exit codes
// (sysexits values, STYLE.md §4).
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/version.hpp"

namespace {

// sysexits.h
constexpr int kExitUsage = 64;
constexpr int kExitDataError = 65;
constexpr int kExitNoInput = 66;
constexpr int kExitSoftware = 70;
constexpr int kExitConfig = 78;

void add_common_options(CLI::App& command, kernelmc::cli::CommonOptions& options) {
  command.add_option("-c,--config", options.config_path, "TOML config file (default: built-in defaults)");
  command.add_option("--set", options.overrides, "Override a config value: section.key=value (repeatable)")
      ->take_all();
  command.add_option("-o,--out", options.output_dir, "Output directory (overrides run.output_dir)");
  command.add_flag("-q,--quiet", options.quiet, "No progress bar");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kernelmc: Monte Carlo referee for finite-width kernel theories of deep networks"};
  app.set_version_flag("--version", std::string("kernelmc ") + kernelmc::kVersion);
  app.require_subcommand(0, 1);
  kernelmc::cli::CommonOptions options;

  CLI::App* prior = app.add_subcommand(
      "prior", "Exact prior sampling over widths vs NNGP and O(1/N) prior theory");
  add_common_options(*prior, options);
  // Without a subcommand kernelmc runs its main job on the built-in default; the
  // options apply to it as well.
  add_common_options(app, options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  try {
    // The main job, until the validation study exists, is the prior study.
    return kernelmc::cli::run_prior(options);
  } catch (const kernelmc::ConfigError& e) {
    std::cerr << "kernelmc: config error: " << e.what() << "\n";
    return kExitConfig;
  } catch (const kernelmc::DataError& e) {
    std::cerr << "kernelmc: data error: " << e.what() << "\n";
    return kExitDataError;
  } catch (const kernelmc::InputFileError& e) {
    std::cerr << "kernelmc: " << e.what() << "\n";
    return kExitNoInput;
  } catch (const kernelmc::Error& e) {
    std::cerr << "kernelmc: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kernelmc: internal error (a bug, please report it): " << e.what() << "\n";
    return kExitSoftware;
  }
}
