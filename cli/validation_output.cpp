#include "cli/validation_output.hpp"

#include <ostream>

#include "validation/route_cross_check.hpp"
#include "validation/validation_figures.hpp"
#include "validation/validation_report.hpp"

namespace kernelmc::cli {

int finish_validation(const validation::ValidationResult& result, const std::string& preface, std::ostream& out) {
  const std::filesystem::path directory = result.config.run.output_dir;
  std::string figures_note;
  if (result.config.validation.figures) {
    const std::vector<std::filesystem::path> unrendered = validation::write_validation_figures(result, directory);
    figures_note = "figures: " + (directory / "figures").string() + "\n";
    for (const auto& script : unrendered)
      figures_note += "gnuplot not found; to render, run: cd " + script.parent_path().string() + " && gnuplot " +
                      script.filename().string() + "\n";
  }
  const std::filesystem::path report = validation::write_validation_report(result, directory);
  out << preface << validation::format_validation_table(result) << "\n" << figures_note << "report: " << report.string()
      << "\n";
  return 0;
}

std::string cross_check_output(const validation::ValidationResult& result, const core::Dataset& data,
                               validation::Observer& observer) {
  if (result.config.posterior.cross_check == core::CrossCheckRoute::none) return "";
  const validation::CrossCheck check = validation::run_cross_check(result, data, observer);
  return validation::format_cross_check(result, check) + "cross-check report: " +
         validation::write_cross_check(check, result.config.run.output_dir).string() + "\n";
}

}  // namespace kernelmc::cli
