#pragma once
// Shared by the gnuplot outputs of validation/ (criticality_report, validation_figures):
// numbers for whitespace data files, and running a script with the `gnuplot` program
// (Debian gnuplot-nox) when it is installed.
#include <filesystem>
#include <string>
#include <vector>

namespace kernelmc::validation::detail {

// A number for a gnuplot data file: the shortest round-trip text (core::format_double),
// NaN and ±Inf spelled as gnuplot reads them ("NaN", "Inf", "-Inf"; it skips such points).
std::string gnuplot_number(double value);

// `text` as a gnuplot single-quoted string literal (a quote is doubled).
std::string gnuplot_quoted(const std::string& text);

// Whether a `gnuplot` program is on PATH.
bool gnuplot_available();

// Runs `gnuplot <script>` with `directory` as the working directory (scripts name their
// data and output files relative to it). On a non-zero exit, removes `outputs` (the files
// the script writes, relative to `directory`) so that no partial figure is left, and
// throws kernelmc::Error naming the script, the exit status and gnuplot's stderr.
void run_gnuplot(const std::filesystem::path& directory, const std::string& script,
                 const std::vector<std::string>& outputs);

}  // namespace kernelmc::validation::detail
