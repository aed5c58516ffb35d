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

// A figure: <base>.dat (whitespace data) and <base>.gp (a script run in their directory).
struct GnuplotFigure {
  std::string base;  // file name without extension
  std::string data;
  std::string script;
};

// The frame of every script: `comment`, then `body` run twice, once per terminal (pngcairo,
// svg, width_px × height_px, font size `font_size`), so that <base>.png and <base>.svg show
// the same plot (a multiplot cannot be replotted).
std::string gnuplot_script_frame(const std::string& base, const std::string& comment, int width_px, int height_px,
                                 const std::string& body, int font_size = 10);

// Writes each figure's .dat and .gp into `directory` (atomically) and, when gnuplot is on
// PATH, renders each script (run_gnuplot). Returns the scripts NOT rendered (all of them
// without gnuplot, none otherwise).
std::vector<std::filesystem::path> write_and_render(const std::filesystem::path& directory,
                                                    const std::vector<GnuplotFigure>& figures);

// Runs `gnuplot <script>` with `directory` as the working directory (scripts name their
// data and output files relative to it). On a non-zero exit, removes `outputs` (the files
// the script writes, relative to `directory`) so that no partial figure is left, and
// throws kernelmc::Error naming the script, the exit status and gnuplot's stderr.
void run_gnuplot(const std::filesystem::path& directory, const std::string& script,
                 const std::vector<std::string>& outputs);

}  // namespace kernelmc::validation::detail
