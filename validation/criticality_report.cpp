#include "validation/criticality_report.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/activation.hpp"
#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/json_io.hpp"
#include "validation/detail/gnuplot.hpp"

namespace kernelmc::validation {

namespace {

using nlohmann::json;

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// A fixed-width table cell: "-" for an undefined value, "inf" for a diverging one.
std::string cell(double v, const char* format = "%9.4f") {
  char buf[64];
  if (v == 0.0) v = 0.0;  // no "-0.0000"
  if (std::isnan(v)) std::snprintf(buf, sizeof buf, "%9s", "-");
  else if (std::isinf(v)) std::snprintf(buf, sizeof buf, "%9s", "inf");
  else std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

bool any_monte_carlo(const theory::CriticalityStudy& study) {
  for (const auto& block : study.rows)
    for (const auto& row : block)
      if (row.method_used == core::FourPointMethod::monte_carlo) return true;
  return false;
}

// The per-layer column names of the .dat file, in order.
const char* const kLayerColumns[] = {"C_aa", "N_var_Caa", "N_v", "N_rel_adapt", "N_target_adapt"};
const char* const kLayerErrorColumns[] = {"N_var_Caa_se", "N_v_se", "N_rel_adapt_se", "N_target_adapt_se"};

}  // namespace

CriticalityResult run_criticality_study(const core::Config& config, const core::Dataset& data, Observer& observer) {
  core::validate(config);
  core::validate(data);
  const core::ModelSpec spec = core::resolve_model(config.model, data.input_dim(), data.output_dim());
  for (Eigen::Index w : spec.widths) {
    if (w != spec.widths.front()) {
      std::ostringstream list;
      for (std::size_t i = 0; i < config.model.widths.size(); ++i)
        list << (i ? ", " : "[") << config.model.widths[i];
      throw ConfigError("model.widths = " + list.str() +
                        "]: the criticality study reports N-scaled leading-order coefficients, which need one "
                        "width N for all hidden layers");
    }
  }
  CriticalityResult result;
  result.config = config;
  result.dataset_name = data.name;
  result.points = data.size();
  result.depth = spec.depth();
  const core::CriticalitySettings& grid = config.criticality;
  result.g_ratios = theory::log_spaced_ratios(grid.g_min_ratio, grid.g_max_ratio, grid.g_points);
  const auto total = static_cast<std::int64_t>(grid.bias_variances.size() * result.g_ratios.size());
  observer.begin_stage("criticality", total);
  const auto start = std::chrono::steady_clock::now();
  result.study = theory::criticality_study(spec, data, grid.bias_variances, result.g_ratios, config.theory,
                                           config.run.seed,
                                           [&](Eigen::Index done, Eigen::Index) { observer.advance(done); });
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  observer.end_stage();
  return result;
}

std::string format_criticality_table(const CriticalityResult& r) {
  const auto& m = r.config.model;
  const Eigen::Index top = r.depth + 1;
  std::ostringstream out;
  out << "kernelmc criticality: " << r.dataset_name << " (P = " << r.points << "), "
      << core::activation_name(m.activation) << ", L = " << r.depth << ", kappa = " << m.kappa << "; "
      << r.g_ratios.size() << " values of g/g_c in [" << r.g_ratios.front() << ", " << r.g_ratios.back()
      << "], g the same in every layer (";
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", r.seconds);
  out << seconds << " s)\n";
  out << "N-scaled columns are leading-order coefficients (N * quantity, independent of N): N*v_l = N Var(C_aa)/C_aa^2 "
         "(THEORY.md 6.3), N*yAy_l = N y^T dC^(l) y / |y|^2 (6.4)\n";
  for (std::size_t b = 0; b < r.study.rows.size(); ++b) {
    const auto& block = r.study.rows[b];
    out << "\nsigma_b^2 = " << block.front().bias_variance << ": edge of chaos g_c = " << r.study.edge_of_chaos[b];
    if (block.front().method_used == core::FourPointMethod::monte_carlo)
      out << " (4-point functions by Monte Carlo; SEs in criticality.dat/json)";
    out << "\n";
    out << "        g    g/g_c       q*    chi_perp   chi_par    xi_perp";
    for (Eigen::Index l = 2; l <= top; ++l) {
      char name[32];
      std::snprintf(name, sizeof name, "%9s", ("N*v_" + std::to_string(l)).c_str());
      out << name;
    }
    for (Eigen::Index l = 2; l <= top; ++l) {
      char name[32];
      std::snprintf(name, sizeof name, "%10s", ("N*yAy_" + std::to_string(l)).c_str());
      out << name;
    }
    out << "\n";
    for (const theory::CriticalityRow& row : block) {
      out << cell(row.g) << cell(row.g_ratio) << cell(row.q_star) << "  " << cell(row.chi_perpendicular) << " "
          << cell(row.chi_parallel) << "  " << cell(row.xi_perpendicular, "%9.2f");
      for (const auto& layer : row.layers) out << cell(layer.scaled_normalized_variance, "%9.3f");
      for (const auto& layer : row.layers) out << cell(layer.scaled_target_adaptation, "%10.2e");
      out << "\n";
    }
  }
  return out.str();
}

std::string criticality_report_json(const CriticalityResult& r) {
  json j;
  j["provenance"] = json::parse(core::provenance_json(r.config));
  j["study"] = "criticality";
  j["dataset"] = r.dataset_name;
  j["points"] = r.points;
  j["depth"] = r.depth;
  j["seconds"] = r.seconds;
  j["g_over_gc"] = r.g_ratios;
  j["scaling"] =
      "N-scaled quantities are leading-order coefficients for equal hidden widths N (THEORY.md 6.3, 6.4); "
      "g is the same in every layer, input layer included";
  for (std::size_t b = 0; b < r.study.rows.size(); ++b) {
    json block;
    block["bias_variance"] = r.study.rows[b].front().bias_variance;
    block["edge_of_chaos_g"] = r.study.edge_of_chaos[b];
    for (const theory::CriticalityRow& row : r.study.rows[b]) {
      json jr{{"g", row.g},
              {"g_over_gc", row.g_ratio},
              {"q_star", finite_or_null(row.q_star)},
              {"q_star_diverges", std::isinf(row.q_star)},
              {"chi_perpendicular", row.chi_perpendicular},
              {"chi_parallel", row.chi_parallel},
              {"xi_perpendicular", finite_or_null(row.xi_perpendicular)},
              {"xi_parallel", finite_or_null(row.xi_parallel)},
              {"four_point_method", std::string(core::four_point_method_name(row.method_used))}};
      for (const theory::CriticalityLayer& layer : row.layers) {
        jr["layers"].push_back({{"layer", layer.layer},
                                {"kernel_diagonal", layer.kernel_diagonal},
                                {"scaled_diagonal_variance", layer.scaled_diagonal_variance},
                                {"scaled_diagonal_variance_se", layer.scaled_diagonal_variance_se},
                                {"scaled_normalized_variance", layer.scaled_normalized_variance},
                                {"scaled_normalized_variance_se", layer.scaled_normalized_variance_se},
                                {"scaled_relative_adaptation", layer.scaled_relative_adaptation},
                                {"scaled_relative_adaptation_se", layer.scaled_relative_adaptation_se},
                                {"scaled_target_adaptation", layer.scaled_target_adaptation},
                                {"scaled_target_adaptation_se", layer.scaled_target_adaptation_se}});
      }
      block["rows"].push_back(jr);
    }
    j["blocks"].push_back(block);
  }
  return j.dump(2) + "\n";
}

std::string criticality_data_file(const CriticalityResult& r) {
  const Eigen::Index top = r.depth + 1;
  const bool errors = any_monte_carlo(r.study);
  std::ostringstream out;
  out << "# kernelmc criticality: " << r.dataset_name << " (P = " << r.points << "), "
      << core::activation_name(r.config.model.activation) << ", L = " << r.depth << ", kappa = " << r.config.model.kappa
      << ", seed = " << r.config.run.seed << "\n";
  out << "# One block per sigma_b^2 (gnuplot index 0, 1, ...), one row per g. N-scaled columns are leading-order\n"
         "# coefficients for equal hidden widths N (THEORY.md 6.3, 6.4). NaN: undefined; Inf: q* diverges.\n";
  out << "# columns:";
  std::vector<std::string> names = {"g", "g_over_gc", "sigma_b2", "q_star", "chi_perp", "chi_par", "xi_perp", "xi_par"};
  for (Eigen::Index l = 2; l <= top; ++l)
    for (const char* c : kLayerColumns) names.push_back(std::string(c) + "_" + std::to_string(l));
  if (errors)
    for (Eigen::Index l = 2; l <= top; ++l)
      for (const char* c : kLayerErrorColumns) names.push_back(std::string(c) + "_" + std::to_string(l));
  for (std::size_t i = 0; i < names.size(); ++i) out << (i % 8 == 0 && i ? "\n#         " : " ") << i + 1 << ":" << names[i];
  out << "\n";
  for (std::size_t b = 0; b < r.study.rows.size(); ++b) {
    if (b > 0) out << "\n\n";
    out << "# index " << b << ": sigma_b^2 = " << core::format_double(r.study.rows[b].front().bias_variance)
        << ", g_c = " << core::format_double(r.study.edge_of_chaos[b]) << "\n";
    for (const theory::CriticalityRow& row : r.study.rows[b]) {
      std::vector<double> v = {row.g,
                               row.g_ratio,
                               row.bias_variance,
                               row.q_star,
                               row.chi_perpendicular,
                               row.chi_parallel,
                               row.xi_perpendicular,
                               row.xi_parallel};
      for (const auto& layer : row.layers) {
        v.insert(v.end(), {layer.kernel_diagonal, layer.scaled_diagonal_variance, layer.scaled_normalized_variance,
                           layer.scaled_relative_adaptation, layer.scaled_target_adaptation});
      }
      if (errors) {
        for (const auto& layer : row.layers) {
          v.insert(v.end(), {layer.scaled_diagonal_variance_se, layer.scaled_normalized_variance_se,
                             layer.scaled_relative_adaptation_se, layer.scaled_target_adaptation_se});
        }
      }
      for (std::size_t i = 0; i < v.size(); ++i) out << (i ? " " : "") << detail::gnuplot_number(v[i]);
      out << "\n";
    }
  }
  return out.str();
}

std::string criticality_gnuplot_script(const CriticalityResult& r) {
  const Eigen::Index top = r.depth + 1;
  const std::size_t blocks = r.study.rows.size();
  std::ostringstream out;
  out << "# kernelmc criticality: plots criticality.dat (run `gnuplot criticality.gp` in its directory).\n"
         "# Left to right, top to bottom: chi_perp (solid) and chi_par (dashed); N*v_l, the normalised prior\n"
         "# fluctuation of the diagonal kernel entry by layer (THEORY.md 6.3); N*y^T dC^(l) y/|y|^2, the\n"
         "# adaptation along the target by layer (6.4); N|dC^(l)|/|C_GP^(l)|. Colour: layer; dash: sigma_b^2.\n"
         "set terminal pngcairo noenhanced size 1400,1000 font ',10'\n"
         "set output 'criticality.png'\n"
         "set datafile commentschars '#'\n"
         "set logscale x 2\n"
         "set xlabel 'g / g_c'\n"
         "set key top left font ',8'\n"
         "set grid\n"
         "set multiplot layout 2,2 title 'kernelmc criticality: "
      << core::activation_name(r.config.model.activation) << ", L = " << r.depth << ", " << r.dataset_name
      << " (P = " << r.points << ")'\n";
  auto bias_label = [&](std::size_t b) { return core::format_double(r.study.rows[b].front().bias_variance); };
  // χ's.
  out << "set title 'susceptibilities'\nset ylabel 'chi'\n"
         "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dashtype 3\n"
         "plot ";
  for (std::size_t b = 0; b < blocks; ++b) {
    out << (b ? ", \\\n     " : "") << "'criticality.dat' index " << b << " using 2:5 with linespoints pt 7 ps 0.5 lc "
        << b + 1 << " dt 1 title 'chi_perp, sigma_b^2 = " << bias_label(b) << "', \\\n     "
        << "'criticality.dat' index " << b << " using 2:6 with lines lc " << b + 1
        << " dt 2 title 'chi_par, sigma_b^2 = " << bias_label(b) << "'";
  }
  out << "\nunset arrow 1\n";
  // One panel per per-layer column: offset within the layer group (0-based) and title.
  struct Panel {
    int offset;
    const char* title;
    const char* ylabel;
  };
  const Panel panels[] = {{2, "prior fluctuation by layer (THEORY.md 6.3)", "N Var(C_aa)/C_aa^2"},
                          {4, "adaptation along the target by layer (6.4)", "N y^T dC y / |y|^2"},
                          {3, "relative adaptation by layer (6.4)", "N |dC|_F / |C_GP|_F"}};
  for (const Panel& p : panels) {
    out << "set title '" << p.title << "'\nset ylabel '" << p.ylabel << "'\nplot ";
    bool first = true;
    for (std::size_t b = 0; b < blocks; ++b) {
      for (Eigen::Index l = 2; l <= top; ++l) {
        const Eigen::Index column = 9 + 5 * (l - 2) + p.offset;
        out << (first ? "" : ", \\\n     ") << "'criticality.dat' index " << b << " using 2:" << column
            << " with linespoints pt 7 ps 0.4 lc " << l - 1 << " dt " << b + 1 << " title 'l = " << l
            << ", sigma_b^2 = " << bias_label(b) << "'";
        first = false;
      }
    }
    out << "\n";
  }
  out << "unset multiplot\n";
  return out.str();
}

std::filesystem::path write_criticality_report(const CriticalityResult& result, const std::filesystem::path& directory) {
  const std::string json_text = criticality_report_json(result);
  const std::string data_text = criticality_data_file(result);
  const std::string script_text = criticality_gnuplot_script(result);
  core::write_file_atomic(directory / "criticality.dat", data_text);
  core::write_file_atomic(directory / "criticality.gp", script_text);
  core::write_file_atomic(directory / "criticality.json", json_text);
  return directory / "criticality.dat";
}

}  // namespace kernelmc::validation
