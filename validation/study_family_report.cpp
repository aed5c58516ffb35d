#include "validation/study_family_report.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/csv.hpp"
#include "core/json_io.hpp"
#include "validation/detail/gnuplot.hpp"
#include "validation/detail/report_json.hpp"
#include "validation/validation_report.hpp"

namespace kernelmc::validation {

namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;
using detail::gnuplot_number;
using detail::number_or_null;
using detail::printf_number;

const FamilyMember& member_of(const FamilyResult& r, const FamilyPoint& p) {
  return r.members[static_cast<std::size_t>(p.member)];
}

Json layer_json(const FamilyLayer& f) {
  Json theories = Json::object();
  for (std::size_t t = 0; t < f.theories.size(); ++t)
    theories[f.theories[t]] = {{"predicted", number_or_null(f.predicted[t])},
                               {"z", number_or_null(f.z[t])},
                               {"adaptation_consistent", static_cast<bool>(f.consistent[t])}};
  return {{"layer", f.layer},
          {"compared", f.compared},
          {"measured", number_or_null(f.measured)},
          {"measured_se", number_or_null(f.measured_se)},
          {"prior_fluctuation", number_or_null(f.prior_fluctuation)},
          {"prior_fluctuation_se", number_or_null(f.prior_fluctuation_se)},
          {"theories", theories}};
}

Json point_json(const FamilyResult& r, const FamilyPoint& p) {
  const FamilyMember& m = member_of(r, p);
  Json layers = Json::array();
  for (const FamilyLayer& f : p.layers) layers.push_back(layer_json(f));
  return {{"member", p.member + 1},       {"label", m.label},
          {"alpha", number_or_null(m.alpha)}, {"g_ratio", number_or_null(m.g_ratio)},
          {"bias_variance", m.bias_variance}, {"g", m.g},
          {"width", p.width},                 {"points", p.points},
          {"layers", layers}};
}

Json scaling_json(const DiscrepancyScaling& s) {
  Json fit = {{"valid", s.fit.valid()},
              {"exponent", number_or_null(s.fit.exponent)},
              {"exponent_se", number_or_null(s.fit.exponent_se)},
              {"exponent_low", number_or_null(s.fit.exponent_low)},
              {"exponent_high", number_or_null(s.fit.exponent_high)}};
  Json rows = Json::array();
  for (std::size_t i = 0; i < s.widths.size(); ++i)
    rows.push_back({{"width", s.widths[i]},
                    {"relative", number_or_null(s.relative[i])},
                    {"relative_se", number_or_null(s.relative_se[i])},
                    {"z", number_or_null(s.z[i])}});
  return {{"alpha", s.alpha}, {"theory", s.theory}, {"widths", rows}, {"fit", fit}, {"verdict", s.verdict}};
}

// ------------------------------------------------------------------ figures

using Figure = detail::GnuplotFigure;
using detail::gnuplot_script_frame;

std::string model_line(const FamilyResult& r) {
  const core::ModelSettings& m = r.config.model;
  return r.dataset_name + ", " + std::string(core::activation_name(m.activation)) + ", L = " +
         std::to_string(m.depth) + ", kappa = " + printf_number("%.3g", m.kappa);
}

Figure proportional_figure(const FamilyResult& r) {
  Figure f{"proportional_discrepancy", "", ""};
  std::ostringstream data, plots;
  data << "# One block per alpha and theory (gnuplot index 0, 1, ...): 1 N, 2 relative discrepancy along the\n"
          "# target (measured - predicted)/|predicted| of N y^T Delta C y/|y|^2 (top layer), 3 its SE, 4 z\n";
  for (std::size_t b = 0; b < r.scaling.size(); ++b) {
    const DiscrepancyScaling& s = r.scaling[b];
    data << "# alpha = " << gnuplot_number(s.alpha) << ", " << s.theory << "\n";
    for (std::size_t i = 0; i < s.widths.size(); ++i)
      data << gnuplot_number(s.widths[i]) << " " << gnuplot_number(s.relative[i]) << " "
           << gnuplot_number(s.relative_se[i]) << " " << gnuplot_number(s.z[i]) << "\n";
    if (s.widths.empty()) data << "NaN NaN NaN NaN\n";
    data << "\n\n";
    const std::string style = s.theory == "fb" ? " dt 1 pt 7" : s.theory == "exact_linear" ? " dt 2 pt 6" : " dt 3 pt 4";
    plots << (b == 0 ? "  plot " : ", \\\n       ") << "'" << f.base << ".dat' index " << b
          << " using 1:2:3 with yerrorlines lw 2 ps 1.2" << style << " lc " << b % 8 + 1 << " title "
          << detail::gnuplot_quoted("alpha = " + printf_number("%.3g", s.alpha) + ", " + s.theory);
  }
  plots << ", \\\n       0 with lines lc 'black' dt 4 notitle\n";
  const auto widths = std::minmax_element(r.config.validation.widths.begin(), r.config.validation.widths.end());
  std::ostringstream body;
  body << "  set title " << detail::gnuplot_quoted("Proportional limit P = alpha N: " + model_line(r)) << "\n"
       << "  set logscale x 2\n  set xrange [" << gnuplot_number(static_cast<double>(*widths.first) / 1.25) << ":"
       << gnuplot_number(static_cast<double>(*widths.second) * 1.25) << "]\n  set xlabel 'width N'\n"
       << "  set ylabel '(measured - predicted) / |predicted|, along the target'\n"
       << "  set key outside right top\n  set grid\n"
       << plots.str();
  f.data = data.str();
  f.script = gnuplot_script_frame(f.base,
                   "# kernelmc validate, validation.study = proportional: relative discrepancy of each theory's\n"
                   "# adaptation along the target from the Monte Carlo, against N at fixed alpha.\n",
                   980, 560, body.str(), 11);
  return f;
}

Figure criticality_figure(const FamilyResult& r, std::size_t bias_index) {
  const double bias = r.config.criticality.bias_variances[bias_index];
  const Eigen::Index width = r.config.validation.widths.front();
  Figure f{"criticality_adaptation_sb" + std::to_string(bias_index + 1), "", ""};
  std::ostringstream data;
  data << "# sigma_b^2 = " << gnuplot_number(bias) << ", N = " << width << ". One block per layer l = 2.. (index l-2),\n"
       << "# one row per g/g_c: 1 g/g_c, 2 measured N y^T Delta C y/|y|^2, 3 SE, 4 one loop, 5 FB (NaN where\n"
       << "# the convergence gate failed), 6 prior fluctuation N Var<T, C>, 7 its SE\n";
  std::size_t layers = 0;
  for (std::size_t li = 0;; ++li) {
    bool any = false;
    for (const FamilyPoint& p : r.points) {
      const FamilyMember& m = member_of(r, p);
      if (m.bias_variance != bias || p.width != width || li >= p.layers.size()) continue;
      const FamilyLayer& l = p.layers[li];
      data << gnuplot_number(m.g_ratio) << " " << gnuplot_number(l.measured) << " " << gnuplot_number(l.measured_se)
           << " " << gnuplot_number(l.predicted_by("one_loop")) << " " << gnuplot_number(l.predicted_by("fb")) << " "
           << gnuplot_number(l.prior_fluctuation) << " " << gnuplot_number(l.prior_fluctuation_se) << "\n";
      any = true;
    }
    if (!any) break;
    data << "\n\n";
    layers = li + 1;
  }
  const std::string file = "'" + f.base + ".dat'";
  const std::string last = std::to_string(layers - 1);
  std::ostringstream body;
  body << "  set multiplot layout 1,2 title "
       << detail::gnuplot_quoted(model_line(r) + ", sigma_b^2 = " + printf_number("%.3g", bias) +
                                 ", N = " + std::to_string(width))
       << "\n  set logscale x\n  set xlabel 'g / g_c'\n  set grid\n  set key top left font ',9'\n"
       << "  set ylabel 'adaptation N y^T dC y / |y|^2'\n"
       << "  plot for [b=0:" << last << "] " << file
       << " index b using 1:2:3 with yerrorbars pt 7 ps 1 lc b+1 title sprintf('layer %d MC', b+2), \\\n"
       << "       for [b=0:" << last << "] " << file
       << " index b using 1:5 with lines lw 2 lc b+1 title sprintf('layer %d FB', b+2), \\\n"
       << "       for [b=0:" << last << "] " << file
       << " index b using 1:4 with lines lw 2 dt 2 lc b+1 title sprintf('layer %d one loop', b+2), \\\n"
       << "       0 with lines lc 'black' dt 4 notitle\n"
       << "  set logscale y\n  set ylabel 'prior fluctuation N Var<T, C>'\n"
       << "  plot for [b=0:" << last << "] " << file
       << " index b using 1:6:7 with yerrorlines pt 7 lc b+1 title sprintf('layer %d', b+2)\n"
       << "  unset logscale y\n";
  f.data = data.str();
  f.script = gnuplot_script_frame(f.base,
                   "# kernelmc validate, validation.study = criticality: measured adaptation along the target per\n"
                   "# layer against g/g_c with one loop and FB, and the prior fluctuation that drives it.\n",
                   1280, 540, body.str(), 11);
  return f;
}

std::vector<fs::path> write_figures(const FamilyResult& r, const fs::path& directory) {
  std::vector<Figure> figures;
  if (r.study == "proportional") figures.push_back(proportional_figure(r));
  else
    for (std::size_t b = 0; b < r.config.criticality.bias_variances.size(); ++b)
      figures.push_back(criticality_figure(r, b));
  return detail::write_and_render(directory / "figures", figures);
}

}  // namespace

std::string family_report_json(const FamilyResult& r) {
  Json points = Json::array();
  for (const FamilyPoint& p : r.points) points.push_back(point_json(r, p));
  Json scaling = Json::array();
  for (const DiscrepancyScaling& s : r.scaling) scaling.push_back(scaling_json(s));
  Json out;
  out["provenance"] = Json::parse(core::provenance_json(r.config));
  out["study"] = r.study;
  out["dataset"] = r.dataset_name;
  out["quantity"] = "N <Delta C^(l), T>, T = Y Y^T/|Y|_F^2 (N y^T Delta C y/|y|^2 for one output)";
  out["points"] = points;
  out["scaling"] = scaling;
  out["verdicts"] = r.verdicts;
  return out.dump(1) + "\n";
}

std::string family_csv(const FamilyResult& r) {
  std::vector<std::vector<std::string>> rows;
  const auto num = [](double v) { return std::isfinite(v) ? core::format_double(v) : std::string("NaN"); };
  for (const FamilyPoint& p : r.points) {
    const FamilyMember& m = member_of(r, p);
    for (const FamilyLayer& l : p.layers) {
      for (std::size_t t = 0; t < l.theories.size(); ++t)
        rows.push_back({std::to_string(p.member + 1), num(m.alpha), num(m.g_ratio), num(m.bias_variance), num(m.g),
                        std::to_string(p.width), std::to_string(p.points), std::to_string(l.layer),
                        l.compared ? "1" : "0", num(l.measured), num(l.measured_se), num(l.prior_fluctuation),
                        num(l.prior_fluctuation_se), l.theories[t], num(l.predicted[t]), num(l.z[t]),
                        l.consistent[t] ? "1" : "0"});
    }
  }
  return core::format_csv({"member", "alpha", "g_ratio", "bias_variance", "g", "width", "points", "layer",
                           "compared", "measured", "measured_se", "prior_fluctuation", "prior_fluctuation_se",
                           "theory", "predicted", "z", "adaptation_consistent"},
                          rows);
}

std::string format_family_table(const FamilyResult& r) {
  std::ostringstream out;
  out << "study: " << r.study << " on " << model_line(r) << "\n"
      << "adaptation along the target N y^T dC y/|y|^2: measured +- SE | prior N Var<T,C> | predicted (z)\n";
  for (const FamilyPoint& p : r.points) {
    for (const FamilyLayer& l : p.layers) {
      std::string label = member_of(r, p).label;
      label.resize(std::max<std::size_t>(label.size(), 26), ' ');
      out << label << " P=" << printf_number("%-4.0f", static_cast<double>(p.points))
          << " l=" << l.layer << printf_number(" %10.4g", l.measured) << " +- " << printf_number("%-9.2g", l.measured_se)
          << " | " << printf_number("%9.4g", l.prior_fluctuation) << " |";
      if (!l.compared) out << " not compared (convergence gate failed)";
      for (std::size_t t = 0; t < l.theories.size(); ++t)
        out << " " << l.theories[t] << printf_number(" %.4g", l.predicted[t]) << printf_number(" (%+.1f)", l.z[t]);
      out << "\n";
    }
  }
  out << "\n";
  for (const std::string& v : r.verdicts) out << v << "\n";
  return out.str();
}

std::vector<fs::path> write_family_report(const FamilyResult& r, const fs::path& directory) {
  std::vector<fs::path> unrendered;
  if (r.config.validation.figures) unrendered = write_figures(r, directory);
  for (std::size_t m = 0; m < r.results.size(); ++m) {
    char name[32];
    std::snprintf(name, sizeof name, "member_%03zu", m + 1);
    write_validation_report(r.results[m], directory / "members" / name);
  }
  core::write_file_atomic(directory / "study.csv", family_csv(r));
  core::write_file_atomic(directory / "study.json", family_report_json(r));
  return unrendered;
}

}  // namespace kernelmc::validation
