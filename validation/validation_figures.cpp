#include "validation/validation_figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>

#include "core/activation.hpp"
#include "core/json_io.hpp"
#include "validation/detail/gnuplot.hpp"

namespace kernelmc::validation {

namespace {

namespace fs = std::filesystem;
using detail::gnuplot_number;
using detail::gnuplot_quoted;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A number for a title or label: three significant digits.
std::string short_number(double v, const char* format = "%.3g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// What each theory predicts, as a figure label (THEORY.md §2, §4.3, §4.6, §4.7, §7.2).
std::string theory_label(const std::string& theory, const std::string& quantity) {
  const bool mean = quantity == "posterior_mean";
  if (theory == "nngp") return mean ? "C_GP (NNGP)" : "0 (NNGP)";
  if (theory == "one_loop") return mean ? "C_GP + mu + dC (one loop)" : "dC (one loop)";
  if (theory == "fb") return mean ? "C_FB + mu" : "C_FB - C_GP";
  if (theory == "exact_linear") return mean ? "exact linear (7.2)" : "exact linear - C_GP";
  return theory;
}

// One colour per theory in every figure (gnuplot's default line colours).
int theory_colour(const std::string& theory) {
  if (theory == "nngp") return 1;
  if (theory == "one_loop") return 2;
  if (theory == "fb") return 3;
  if (theory == "exact_linear") return 4;
  return 7;
}

const TheoryComparison* find_comparison(const LayerValidation& layer, const std::string& theory,
                                        const std::string& quantity) {
  return validation::find_comparison(layer.comparisons, theory, quantity);
}

const TheoryScaling* find_scaling(const ValidationResult& r, Eigen::Index layer, const std::string& theory,
                                  const std::string& quantity) {
  for (const TheoryScaling& s : r.scaling)
    if (s.layer == layer && s.theory == theory && s.quantity == quantity) return &s;
  return nullptr;
}

// The theories compared for `quantity` in layer slot `li`, in the order of the analysis,
// over all compared widths.
std::vector<std::string> theories_of(const ValidationResult& r, std::size_t li, const std::string& quantity) {
  std::vector<std::string> names;
  for (const WidthValidation& w : r.widths) {
    if (!w.compared || li >= w.layers.size()) continue;
    for (const TheoryComparison& tc : w.layers[li].comparisons)
      if (tc.quantity == quantity && std::find(names.begin(), names.end(), tc.theory) == names.end())
        names.push_back(tc.theory);
  }
  return names;
}

// The widths in increasing N (indices into r.widths), all or only the compared ones.
std::vector<std::size_t> widths_by_size(const ValidationResult& r, bool compared_only) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < r.widths.size(); ++i)
    if (!compared_only || r.widths[i].compared) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return r.widths[a].width < r.widths[b].width; });
  return order;
}

std::string row_text(const std::vector<double>& values) {
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) line += ' ';
    line += gnuplot_number(values[i]);
  }
  return line + "\n";
}

void write_matrix_block(std::ostringstream& out, const Eigen::MatrixXd& M) {
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    std::vector<double> row;
    for (Eigen::Index j = 0; j < M.cols(); ++j) row.push_back(M(i, j));
    out << row_text(row);
  }
}

// "# columns: 1:a 2:b ..." wrapped every eight names.
std::string column_header(const std::vector<std::string>& names) {
  std::string text = "# columns:";
  for (std::size_t i = 0; i < names.size(); ++i)
    text += (i % 8 == 0 && i ? "\n#         " : " ") + std::to_string(i + 1) + ":" + names[i];
  return text + "\n";
}

std::string setting_summary(const ValidationResult& r) {
  const auto& m = r.config.model;
  std::ostringstream out;
  out << r.dataset_name << " (P = " << r.points << "), " << core::activation_name(m.activation)
      << ", L = " << m.depth << ", kappa = " << short_number(m.kappa);
  return out.str();
}

using detail::gnuplot_script_frame;

// ------------------------------------------------------------------ figure 1: heatmaps

using Figure = detail::GnuplotFigure;

// The prediction closest to E_post[C] (smallest Frobenius discrepancy; all share ‖C_GP‖_F).
const TheoryComparison* closest_prediction(const LayerValidation& lv) {
  const TheoryComparison* best = nullptr;
  for (const TheoryComparison& tc : lv.comparisons)
    if (tc.quantity == "posterior_mean" && (!best || tc.frobenius < best->frobenius)) best = &tc;
  return best;
}

// The heatmaps' .dat: E_post, the closest prediction and the z-scores as three P×P blocks.
std::string heatmap_data(const ValidationResult& r, const WidthValidation& w, const LayerValidation& lv,
                         const TheoryComparison* best) {
  const Eigen::Index P = lv.posterior_mean.rows();
  const std::string l = std::to_string(lv.layer);
  const std::string label = theory_label(best->theory, best->quantity);
  std::ostringstream data;
  data << "# kernelmc validate: layer l = " << l << " kernels at N = " << w.width
       << " (the largest width that passed the convergence gate); " << setting_summary(r) << ", seed "
       << r.config.run.seed << "\n"
       << "# Three P x P matrices (gnuplot `index b ... matrix`), row i and column j = entry (i, j):\n"
       << "# index 0: E_post[C^(" << l << ")], Monte Carlo posterior mean\n"
       << "# index 1: " << best->theory << " prediction " << label
       << " (the smallest Frobenius discrepancy from E_post)\n"
       << "# index 2: z-scores (E_post - prediction)/SE, Bonferroni threshold |z| = "
       << gnuplot_number(best->bonferroni_z) << " over " << best->entries << " entries\n";
  std::vector<std::string> columns;
  for (Eigen::Index j = 1; j <= P; ++j) columns.push_back("input_" + std::to_string(j));
  data << column_header(columns);
  const Eigen::MatrixXd* blocks[] = {&lv.posterior_mean, &best->prediction, &best->z};
  const char* names[] = {"E_post", best->theory.c_str(), "z"};
  for (int b = 0; b < 3; ++b) {
    if (b) data << "\n\n";
    data << "# index " << b << ": " << names[b] << "\n";
    write_matrix_block(data, *blocks[b]);
  }
  return data.str();
}

// The gnuplot body drawing the three panels from `file`.
std::string heatmap_body(const ValidationResult& r, const WidthValidation& w, const LayerValidation& lv,
                         const TheoryComparison* best, const std::string& file) {
  const Eigen::Index P = lv.posterior_mean.rows();
  const std::string l = std::to_string(lv.layer);
  const std::string label = theory_label(best->theory, best->quantity);
  // Kernel panels share one colour scale; z uses a symmetric diverging one.
  const double lo = std::min(lv.posterior_mean.minCoeff(), best->prediction.minCoeff());
  const double hi = std::max(lv.posterior_mean.maxCoeff(), best->prediction.maxCoeff());
  const double zmax = std::max(best->z.cwiseAbs().maxCoeff(), best->bonferroni_z);
  // Inputs numbered 1..P as in the .dat header; about eight tics per axis.
  const std::string image = " matrix using ($1 + 1):($2 + 1):3 with image notitle\n";
  const Eigen::Index tic_step = std::max<Eigen::Index>(1, (P + 7) / 8);
  std::ostringstream body;
  body << "  set multiplot layout 1,3 title "
       << gnuplot_quoted("kernelmc validate: layer " + l + " kernels at N = " + std::to_string(w.width) + "; " +
                         setting_summary(r))
       << "\n"
       << "  set size ratio -1\n"
       << "  set xrange [0.5:" << P + 0.5 << "]\n  set yrange [" << P + 0.5 << ":0.5]\n"
       << "  set xtics " << tic_step << "\n  set ytics " << tic_step << "\n"
       << "  set xlabel 'input j'\n  set ylabel 'input i'\n"
       << "  set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')\n";
  if (hi > lo) body << "  set cbrange [" << gnuplot_number(lo) << ":" << gnuplot_number(hi) << "]\n";
  else body << "  set autoscale cb\n";
  body << "  set title " << gnuplot_quoted("Monte Carlo E_post[C^(" + l + ")]") << "\n"
       << "  plot " << file << " index 0" << image
       << "  set title " << gnuplot_quoted("theory: " + label) << "\n"
       << "  plot " << file << " index 1" << image
       << "  set palette defined (-1 '#2166ac', 0 '#f7f7f7', 1 '#b2182b')\n";
  if (zmax > 0.0) body << "  set cbrange [" << gnuplot_number(-zmax) << ":" << gnuplot_number(zmax) << "]\n";
  else body << "  set autoscale cb\n";
  body << "  set title " << gnuplot_quoted("z = (E_post - theory)/SE; Bonferroni |z| = " + short_number(best->bonferroni_z) +
                                           ", max |z| = " + short_number(best->max_abs_z))
       << "\n"
       << "  plot " << file << " index 2" << image;
  return body.str();
}

Figure kernel_heatmap(const ValidationResult& r, const WidthValidation& w, const LayerValidation& lv) {
  const TheoryComparison* best = closest_prediction(lv);
  Figure f;
  f.base = "kernel_heatmap_layer" + std::to_string(lv.layer);
  const std::string l = std::to_string(lv.layer);
  const std::string label = theory_label(best->theory, best->quantity);
  f.data = heatmap_data(r, w, lv, best);
  const std::string comment =
      "# kernelmc validate: heatmaps of the layer " + l + " kernel at N = " + std::to_string(w.width) +
      ": Monte Carlo E_post[C], the closest theory (" + label + ") on the same colour scale, and the per-entry\n"
      "# z-scores (blue negative, red positive; |z| above the Bonferroni threshold is significant).\n";
  f.script =
      gnuplot_script_frame(f.base, comment, 1500, 520, heatmap_body(r, w, lv, best, gnuplot_quoted(f.base + ".dat")));
  return f;
}

// -------------------------------------------------- figure 2: discrepancy against N

// The x range and tics of a log-N axis through `widths`.
std::string width_axis(const std::vector<double>& widths, bool log2) {
  std::ostringstream out;
  const double lo = *std::min_element(widths.begin(), widths.end());
  const double hi = *std::max_element(widths.begin(), widths.end());
  out << "  set logscale x" << (log2 ? " 2" : "") << "\n  set xrange [" << gnuplot_number(lo / 1.25) << ":"
      << gnuplot_number(hi * 1.25) << "]\n  set xtics (";
  for (std::size_t i = 0; i < widths.size(); ++i) out << (i ? ", " : "") << gnuplot_number(widths[i]);
  out << ")\n  set xlabel 'width N'\n";
  return out.str();
}

bool any_positive(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x) && x > 0.0; });
}
bool any_finite(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// A panel with nothing plottable: a note instead of a gnuplot error.
std::string empty_panel(const std::string& note) {
  return "  set label 1 " + gnuplot_quoted(note) +
         " at graph 0.5, graph 0.5 center\n  set yrange [1:10]\n  plot 1/0 notitle\n  unset label 1\n";
}

// One block of discrepancy_vs_width.dat: layer slot li, `quantity`, a row per compared
// width (`order`, widths N) with 8 columns per theory; returns values[t][column][width].
std::vector<std::vector<std::vector<double>>> discrepancy_rows(const ValidationResult& r,
                                                               const std::vector<std::size_t>& order,
                                                               const std::vector<double>& N, std::size_t li,
                                                               const char* quantity, int block,
                                                               std::ostringstream& data) {
  const Eigen::Index layer = r.widths[order.front()].layers[li].layer;
  const std::vector<std::string> theories = theories_of(r, li, quantity);
  const std::string l = std::to_string(layer);
  const bool mean = std::string(quantity) == "posterior_mean";
  if (block) data << "\n\n";
  data << "# index " << block << ": layer " << l << ", "
       << (mean ? "E_post[C] against the theory" : "Delta C_MC against the predicted adaptation") << "\n";
  std::vector<std::string> columns = {"N"};
  const char* suffixes[] = {"relative", "relative_se", "relative_excess", "relative_fit",
                            "frobenius", "frobenius_se", "excess", "fit"};
  for (const std::string& t : theories)
    for (const char* s : suffixes) columns.push_back(t + "_" + s);
  data << column_header(columns);
  // columns[t][k][width]
  std::vector<std::vector<std::vector<double>>> values(theories.size(), std::vector<std::vector<double>>(8));
  for (std::size_t wi = 0; wi < order.size(); ++wi) {
    const WidthValidation& w = r.widths[order[wi]];
    std::vector<double> row = {N[wi]};
    for (std::size_t t = 0; t < theories.size(); ++t) {
      const TheoryComparison* tc = find_comparison(w.layers[li], theories[t], quantity);
      const TheoryScaling* s = find_scaling(r, layer, theories[t], quantity);
      std::vector<double> v(8, kNaN);
      if (tc) {
        const double ref = tc->relative > 0.0 ? tc->frobenius / tc->relative : kNaN;
        const double fit = s && s->fit.valid() ? s->fit.amplitude * std::pow(N[wi], s->fit.exponent) : kNaN;
        v = {tc->relative, tc->relative_se, tc->excess_frobenius / ref, fit / ref,
             tc->frobenius, tc->frobenius_se, tc->excess_frobenius, fit};
      }
      for (int k = 0; k < 8; ++k) values[t][static_cast<std::size_t>(k)].push_back(v[static_cast<std::size_t>(k)]);
      row.insert(row.end(), v.begin(), v.end());
    }
    data << row_text(row);
  }
  return values;
}

// The panel of one block: D/ref with its error bars (filled), the excess (open) and the fit
// (dashed).
std::string discrepancy_panel(const ValidationResult& r, std::size_t li, const char* quantity, int block,
                              const std::vector<std::vector<std::vector<double>>>& values) {
  const Eigen::Index layer = r.widths[widths_by_size(r, true).front()].layers[li].layer;
  const std::vector<std::string> theories = theories_of(r, li, quantity);
  const std::string l = std::to_string(layer);
  const bool mean = std::string(quantity) == "posterior_mean";
  const std::string file = gnuplot_quoted("discrepancy_vs_width.dat");
  std::ostringstream body;
  body << "  set title " << gnuplot_quoted("layer " + l + ": " + (mean ? "E_post[C] vs theory" : "Delta C_MC vs theory"))
       << "\n  set ylabel "
       << gnuplot_quoted(mean ? "|E_post - theory|_F / |C_GP|_F" : "|Delta C_MC - theory|_F / |dC_1loop|_F") << "\n"
       << "  set autoscale y\n";
  std::vector<std::string> items;
  for (std::size_t t = 0; t < theories.size(); ++t) {
    const int c = 2 + 8 * static_cast<int>(t);
    const std::string lc = " lc " + std::to_string(theory_colour(theories[t]));
    const std::string name = theory_label(theories[t], quantity);
    if (any_positive(values[t][0]))
      items.push_back(file + " index " + std::to_string(block) + " using 1:" + std::to_string(c) + ":" +
                      std::to_string(c + 1) + " with yerrorbars pt 7 ps 0.8" + lc + " title " + gnuplot_quoted(name));
    if (any_positive(values[t][2]))
      items.push_back(file + " index " + std::to_string(block) + " using 1:" + std::to_string(c + 2) +
                      " with points pt 6 ps 1.2" + lc + " notitle");
    const TheoryScaling* s = find_scaling(r, layer, theories[t], quantity);
    if (s && s->fit.valid() && any_positive(values[t][3]))
      items.push_back(file + " index " + std::to_string(block) + " using 1:" + std::to_string(c + 3) +
                      " with lines dt 2" + lc + " title " +
                      gnuplot_quoted("fit of excess: b = " + short_number(s->fit.exponent, "%.2f") + " +- " +
                                     short_number(s->fit.exponent_se, "%.2f")));
  }
  if (items.empty()) {
    body << empty_panel("no positive discrepancy");
  } else {
    body << "  plot ";
    for (std::size_t i = 0; i < items.size(); ++i) body << (i ? ", " : "") << items[i];
    body << "\n";
  }
  return body.str();
}

Figure discrepancy_figure(const ValidationResult& r) {
  const std::vector<std::size_t> order = widths_by_size(r, true);
  std::vector<double> N;
  for (std::size_t i : order) N.push_back(static_cast<double>(r.widths[i].width));
  const std::size_t layers = r.widths[order.front()].layers.size();
  const char* quantities[] = {"posterior_mean", "adaptation"};
  Figure f;
  f.base = "discrepancy_vs_width";
  std::ostringstream data, body;
  data << "# kernelmc validate: relative Frobenius discrepancy against the width N; " << setting_summary(r)
       << ", seed " << r.config.run.seed << "\n"
       << "# One block per layer and quantity (gnuplot index 0, 1, ...): E_post[C^(l)] against each theory, then\n"
       << "# Delta C_MC = E_post - E_prior against each predicted adaptation; one row per width that passed the gate.\n"
       << "# Per theory: relative = D/|ref|_F (ref: C_GP for E_post, one-loop dC at that N for Delta C), its SE,\n"
       << "# relative excess sqrt(max(D^2 - noise^2, 0))/|ref|_F, the width-scaling fit a*N^b of the excess over\n"
       << "# |ref|_F (NaN: no valid fit), then D, SE(D), the excess and the fit unscaled. |ref|_F = D/relative.\n";
  body << "  set multiplot layout 2," << layers << " title "
       << gnuplot_quoted("kernelmc validate: discrepancy against N; " + setting_summary(r)) << "\n"
       << width_axis(N, false) << "  set logscale y\n  set key top right font ',8'\n  set grid\n"
       << "  set bars small\n  set format y '%g'\n";
  int block = 0;
  for (const char* quantity : quantities) {
    for (std::size_t li = 0; li < layers; ++li) {
      body << discrepancy_panel(r, li, quantity, block, discrepancy_rows(r, order, N, li, quantity, block, data));
      ++block;
    }
  }
  f.data = data.str();
  const std::string comment =
      "# kernelmc validate: relative Frobenius discrepancy of each theory against N (log-log), one column per layer;\n"
      "# top row E_post[C] against the predicted posterior means, bottom row Delta C_MC against the predicted\n"
      "# adaptations. Filled points: D/|ref|_F with its Monte Carlo error bar; open points: the excess over the\n"
      "# noise, to which the width-scaling fit a*N^b (dashed) is made.\n";
  f.script = gnuplot_script_frame(f.base, comment, 560 * static_cast<int>(layers), 900, body.str());
  return f;
}

// ------------------------------------------- figure 3: adaptation along the target

// Layer li's block of the .dat (one row per width) and its panel in the gnuplot body.
void add_adaptation_layer(const ValidationResult& r, const std::vector<std::size_t>& order,
                          const std::vector<double>& N, std::size_t li, const std::string& file,
                          std::ostringstream& data, std::ostringstream& body) {
  const Eigen::Index layer = r.widths[order.front()].layers[li].layer;
  const std::string l = std::to_string(layer);
  const std::vector<std::string> theories = theories_of(r, li, "adaptation");
  if (li) data << "\n\n";
  data << "# index " << li << ": layer " << l << "\n";
  std::vector<std::string> columns = {"N", "gate_passed", "measured", "measured_se"};
  for (const std::string& t : theories) columns.push_back(t);
  data << column_header(columns);
  bool any_passed = false, any_failed = false;
  std::vector<std::vector<double>> predicted(theories.size());
  for (std::size_t wi = 0; wi < order.size(); ++wi) {
    const WidthValidation& w = r.widths[order[wi]];
    const LayerValidation& lv = w.layers[li];
    std::vector<double> row = {N[wi], w.gate.passed ? 1.0 : 0.0, lv.target_adaptation, lv.target_adaptation_se};
    (w.gate.passed ? any_passed : any_failed) = true;
    for (std::size_t t = 0; t < theories.size(); ++t) {
      const TheoryComparison* tc = w.compared ? find_comparison(lv, theories[t], "adaptation") : nullptr;
      const double v = tc ? tc->target_adaptation : kNaN;
      predicted[t].push_back(v);
      row.push_back(v);
    }
    data << row_text(row);
  }
  const std::string index = " index " + std::to_string(li);
  std::vector<std::string> items;
  if (any_passed)
    items.push_back(file + index +
                    " using 1:($2 == 1 ? $3 : NaN):4 with yerrorbars pt 7 ps 0.9 lc rgb 'black' title 'Monte Carlo'");
  if (any_failed)
    items.push_back(file + index +
                    " using 1:($2 == 0 ? $3 : NaN):4 with yerrorbars pt 6 ps 0.9 lc rgb 'gray50' "
                    "title 'Monte Carlo (gate failed)'");
  for (std::size_t t = 0; t < theories.size(); ++t) {
    if (!any_finite(predicted[t])) continue;
    items.push_back(file + index + " using 1:" + std::to_string(5 + t) + " with linespoints pt 5 ps 0.6 lc " +
                    std::to_string(theory_colour(theories[t])) + " title " +
                    gnuplot_quoted(theory_label(theories[t], "adaptation")));
  }
  body << "  set title " << gnuplot_quoted("layer " + l) << "\n  plot ";
  for (std::size_t i = 0; i < items.size(); ++i) body << (i ? ", " : "") << items[i];
  body << "\n";
}

Figure target_adaptation_figure(const ValidationResult& r) {
  const std::vector<std::size_t> order = widths_by_size(r, false);
  std::vector<double> N;
  for (std::size_t i : order) N.push_back(static_cast<double>(r.widths[i].width));
  const std::size_t layers = r.widths[order.front()].layers.size();
  Figure f;
  f.base = "target_adaptation_vs_width";
  const std::string file = gnuplot_quoted(f.base + ".dat");
  std::ostringstream data, body;
  data << "# kernelmc validate: adaptation along the target N <Delta C, Y Y^T>/|Y|_F^2 (N y^T Delta C y for one\n"
       << "# output, THEORY.md 6.4) against N; " << setting_summary(r) << ", seed " << r.config.run.seed << "\n"
       << "# One block per layer (gnuplot index 0, 1, ...), one row per width; measured = Delta C_MC = E_post - E_prior\n"
       << "# with its SE; theory columns NaN where the width did not pass the convergence gate.\n";
  body << "  set multiplot layout 1," << layers << " title "
       << gnuplot_quoted("kernelmc validate: adaptation along the target; " + setting_summary(r)) << "\n"
       << width_axis(N, true) << "  set ylabel 'N y^T Delta C y / |y|^2'\n  set key top right font ',8'\n"
       << "  set grid\n  set xzeroaxis\n  set bars small\n";
  for (std::size_t li = 0; li < layers; ++li) add_adaptation_layer(r, order, N, li, file, data, body);
  f.data = data.str();
  const std::string comment =
      "# kernelmc validate: adaptation along the target N y^T Delta C y/|y|^2 per layer against N (log axis):\n"
      "# Monte Carlo Delta C_MC = E_post - E_prior with its error bar (open: the convergence gate failed at that\n"
      "# width) and each theory's prediction.\n";
  f.script = gnuplot_script_frame(f.base, comment, 520 * static_cast<int>(layers), 460, body.str());
  return f;
}

}  // namespace

std::vector<fs::path> write_validation_figures(const ValidationResult& result, const fs::path& directory) {
  std::vector<Figure> figures;
  if (!result.widths.empty()) {
    const std::vector<std::size_t> compared = widths_by_size(result, true);
    if (!compared.empty()) {
      const WidthValidation& largest = result.widths[compared.back()];
      for (const LayerValidation& lv : largest.layers)
        if (std::any_of(lv.comparisons.begin(), lv.comparisons.end(),
                        [](const TheoryComparison& tc) { return tc.quantity == "posterior_mean"; }))
          figures.push_back(kernel_heatmap(result, largest, lv));
      figures.push_back(discrepancy_figure(result));
    }
    figures.push_back(target_adaptation_figure(result));
  }
  return detail::write_and_render(directory / "figures", figures);
}

}  // namespace kernelmc::validation
