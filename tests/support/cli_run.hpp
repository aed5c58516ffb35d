#pragma once
// Running the kernelmc executable from a test: a scratch directory per case, the exit code
// (sysexits) and both output streams.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kernelmc::test {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// An empty directory of its own under the system temp directory. The process id is part of
// the name, so test runs from several checkouts on one machine never share a directory.
inline std::filesystem::path scratch_directory(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kernelmc_cli_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The shell's exit status of `command` (−1 if it did not exit normally).
inline int shell_exit_code(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// `kernelmc <args>` with stdin from /dev/null (not a terminal: no progress bar) and its
// streams captured in files of `dir`.
inline CliRun run_kernelmc(const std::string& args, const std::filesystem::path& dir) {
  CliRun r;
  r.exit_code = shell_exit_code(std::string(KERNELMC_CLI_PATH) + " " + args + " >" + (dir / "stdout").string() +
                                " 2>" + (dir / "stderr").string() + " </dev/null");
  r.out = read_all(dir / "stdout");
  r.err = read_all(dir / "stderr");
  return r;
}

}  // namespace kernelmc::test
