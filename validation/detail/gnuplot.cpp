#include "validation/detail/gnuplot.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>
#include <sys/wait.h>
#include <unistd.h>

#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/json_io.hpp"

namespace kernelmc::validation::detail {

namespace {

// `text` quoted for /bin/sh: inside single quotes only the quote itself needs care.
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char ch : text) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

}  // namespace

std::string gnuplot_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Inf" : "-Inf";
  return core::format_double(value);
}

std::string gnuplot_quoted(const std::string& text) {
  std::string out = "'";
  for (char ch : text) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

void run_gnuplot(const std::filesystem::path& directory, const std::string& script,
                 const std::vector<std::string>& outputs) {
  namespace fs = std::filesystem;
  // gnuplot's stderr goes to a file of this process (pid) next to the script, removed after;
  // an absolute path, because the shell has changed into `directory` when it opens it.
  const fs::path log = fs::absolute(directory) / (script + ".stderr-" + std::to_string(::getpid()));
  const std::string command = "cd " + shell_quoted(directory.string()) + " && gnuplot " + shell_quoted(script) +
                              " >/dev/null 2>" + shell_quoted(log.string());
  const int status = std::system(command.c_str());
  std::string stderr_text;
  {
    std::ifstream in(log);
    std::ostringstream text;
    text << in.rdbuf();
    stderr_text = text.str();
  }
  std::error_code ignored;
  fs::remove(log, ignored);
  if (status == 0) return;
  for (const std::string& output : outputs) fs::remove(directory / output, ignored);
  const int exit_code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!stderr_text.empty() && (stderr_text.back() == '\n' || stderr_text.back() == ' ')) stderr_text.pop_back();
  throw Error("gnuplot " + (directory / script).string() + ": exit status " + std::to_string(exit_code) +
              (stderr_text.empty() ? std::string(", no message") : ":\n" + stderr_text));
}

std::string gnuplot_script_frame(const std::string& base, const std::string& comment, int width_px, int height_px,
                                 const std::string& body, int font_size) {
  std::ostringstream out;
  out << comment << "# Run `gnuplot " << base << ".gp` in this directory: writes " << base << ".png and " << base
      << ".svg.\n"
      << "set datafile commentschars '#'\n"
      << "do for [fmt in \"png svg\"] {\n"
      << "  if (fmt eq \"png\") { set terminal pngcairo noenhanced size " << width_px << "," << height_px
      << " font '," << font_size << "' } else { set terminal svg noenhanced size " << width_px << "," << height_px
      << " font 'sans," << font_size << "' background '#ffffff' }\n"
      << "  set output '" << base << ".'.fmt\n"
      << body << "  unset multiplot\n  unset output\n}\n";
  return out.str();
}

std::vector<std::filesystem::path> write_and_render(const std::filesystem::path& directory,
                                                    const std::vector<GnuplotFigure>& figures) {
  for (const GnuplotFigure& f : figures) {
    core::write_file_atomic(directory / (f.base + ".dat"), f.data);
    core::write_file_atomic(directory / (f.base + ".gp"), f.script);
  }
  std::vector<std::filesystem::path> not_rendered;
  const bool gnuplot = gnuplot_available();
  for (const GnuplotFigure& f : figures) {
    if (gnuplot) run_gnuplot(directory, f.base + ".gp", {f.base + ".png", f.base + ".svg"});
    else not_rendered.push_back(directory / (f.base + ".gp"));
  }
  return not_rendered;
}

}  // namespace kernelmc::validation::detail
