#include "validation/prior_report.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/activation.hpp"
#include "core/csv.hpp"
#include "core/json_io.hpp"
#include "validation/detail/report_json.hpp"

namespace kernelmc::validation {

namespace {

using nlohmann::json;
using detail::printf_number;

json finite_or_null(double v) { return detail::number_or_null<json>(v); }
json matrix_json(const Eigen::MatrixXd& m) { return detail::matrix_json<json>(m); }
std::string fmt(const char* format, double value) { return printf_number(format, value); }


// "0.0123 ± 0.0004"
std::string value_pm(double value, double se) { return fmt("%.4f", value) + " +- " + fmt("%.4f", se); }

std::string p_value(double p) {
  if (!std::isfinite(p)) return "n/a";
  if (p < 1e-4) return "<1e-4";
  return fmt("%.3f", p);
}



json discrepancy_json(const TheoryComparison& d) {
  return {{"frobenius", finite_or_null(d.frobenius)},
          {"frobenius_se", finite_or_null(d.frobenius_se)},
          {"relative", finite_or_null(d.relative)},
          {"relative_se", finite_or_null(d.relative_se)},
          {"noise_frobenius", finite_or_null(d.noise_frobenius)},
          {"excess_frobenius", finite_or_null(d.excess_frobenius)},
          {"max_abs_z", finite_or_null(d.max_abs_z)},
          {"bonferroni_threshold_z", finite_or_null(d.bonferroni_z)},
          {"entries", d.entries}};
}

json chi_square_json(const ChiSquareTest& t) {
  return {{"statistic", finite_or_null(t.statistic)}, {"dof", t.dof}, {"p_value", finite_or_null(t.p_value)}};
}

json fit_json(const PowerLawFit& f) {
  return {{"exponent", finite_or_null(f.exponent)},     {"exponent_se", finite_or_null(f.exponent_se)},
          {"exponent_ci95", {finite_or_null(f.exponent_low), finite_or_null(f.exponent_high)}},
          {"amplitude", finite_or_null(f.amplitude)}, {"reduced_chi_square", finite_or_null(f.reduced_chi_square)},
          {"points", f.points}};
}

}  // namespace

std::string format_prior_table(const PriorStudyResult& r) {
  const auto& m = r.config.model;
  std::ostringstream out;
  out << "kernelmc prior study: " << r.dataset_name << " (P = " << r.points << "), "
      << core::activation_name(m.activation) << ", L = " << m.depth << ", g = " << m.g.front()
      << (m.g.size() > 1 ? " ..." : "") << ", sigma_b^2 = " << m.bias_variance << ", "
      << r.config.prior.networks << " networks per width\n";
  out << "theory: NNGP C_GP, N*mu and N*Sigma (4-point functions by " << r.four_point_method << ", "
      << fmt("%.2f", r.theory_seconds) << " s)\n\n";
  out << "layer     N  |E-C_GP|/|C_GP|      p(GP)  |E-C_GP-mu|/|C_GP|   p(GP+mu)  shift/mu         |NCov-NSig|/|NSig|  max|z|\n";
  for (const auto& w : r.widths) {
    for (const auto& c : w.layers) {
      char line[512];
      std::snprintf(line, sizeof line, "%5lld %5lld  %-19s %7s  %-19s %8s  %-16s %-19s %6s\n",
                    static_cast<long long>(c.layer), static_cast<long long>(w.width),
                    value_pm(c.mean_vs_nngp.relative, c.mean_vs_nngp.relative_se).c_str(),
                    p_value(c.chi_square_nngp.p_value).c_str(),
                    value_pm(c.mean_vs_corrected.relative, c.mean_vs_corrected.relative_se).c_str(),
                    p_value(c.chi_square_corrected.p_value).c_str(),
                    (c.shift_predicted ? fmt("%.2f", c.shift_ratio) + " +- " + fmt("%.2f", c.shift_ratio_se)
                                       : std::string("mu = 0"))
                        .c_str(),
                    r.covariance_tracked
                        ? value_pm(c.covariance_vs_theory.relative, c.covariance_vs_theory.relative_se).c_str()
                        : "not tracked",
                    r.covariance_tracked ? fmt("%.1f", c.covariance_vs_theory.max_abs_z).c_str() : "-");
      out << line;
    }
  }
  out << "\nwidth scaling (discrepancy ~ N^b, 95 % interval):\n";
  for (const auto& s : r.scaling) out << "  " << s.verdict << "\n";
  return out.str();
}

std::string prior_report_json(const PriorStudyResult& r) {
  json j;
  j["provenance"] = json::parse(core::provenance_json(r.config));
  j["study"] = "prior";
  j["dataset"] = r.dataset_name;
  j["points"] = r.points;
  j["covariance_tracked"] = r.covariance_tracked;
  j["theory"]["four_point_method"] = r.four_point_method;
  j["theory"]["seconds"] = r.theory_seconds;
  for (Eigen::Index l = 1; l <= r.nngp.top_layer(); ++l) {
    json layer{{"layer", l},
               {"nngp", matrix_json(r.nngp.layer(l))},
               {"scaled_mean_shift", matrix_json(r.scaled_mean_shift.layer(l))}};
    if (r.covariance_tracked) layer["scaled_covariance"] = matrix_json(r.scaled_covariance[static_cast<std::size_t>(l - 1)]);
    j["theory"]["layers"].push_back(layer);
  }
  for (const auto& w : r.widths) {
    json jw{{"width", w.width}, {"networks", w.networks}, {"seconds", w.seconds}};
    for (const auto& c : w.layers) {
      json jc{{"layer", c.layer},
              {"mean", matrix_json(c.mean)},
              {"mean_se", matrix_json(c.mean_se)},
              {"mean_vs_nngp", discrepancy_json(c.mean_vs_nngp)},
              {"mean_vs_nngp_plus_shift", discrepancy_json(c.mean_vs_corrected)},
              {"chi_square_nngp", chi_square_json(c.chi_square_nngp)},
              {"chi_square_nngp_plus_shift", chi_square_json(c.chi_square_corrected)},
              {"shift_predicted", c.shift_predicted},
              {"shift_ratio", c.shift_predicted ? json(c.shift_ratio) : json(nullptr)},
              {"shift_ratio_se", c.shift_predicted ? json(c.shift_ratio_se) : json(nullptr)}};
      if (r.covariance_tracked) {
        jc["scaled_covariance"] = matrix_json(c.scaled_covariance);
        jc["scaled_covariance_se"] = matrix_json(c.scaled_covariance_se);
        jc["covariance_vs_theory"] = discrepancy_json(c.covariance_vs_theory);
      }
      jw["layers"].push_back(jc);
    }
    j["widths"].push_back(jw);
  }
  for (const auto& s : r.scaling) {
    json js{{"layer", s.layer},
            {"nngp_mean", fit_json(s.nngp_mean)},
            {"nngp_plus_shift_mean", fit_json(s.corrected_mean)},
            {"nngp_slope_within_0.15_of_minus_1", s.nngp_slope_ok},
            {"nngp_plus_shift_consistent", s.corrected_consistent},
            {"nngp_plus_shift_falls_faster_than_1_over_N", s.corrected_faster},
            {"verdict", s.verdict}};
    if (r.covariance_tracked) {
      js["covariance"] = fit_json(s.covariance);
      js["covariance_consistent_at_largest_width"] = s.covariance_consistent;
      js["covariance_allowance"] = s.covariance_allowance;
    }
    j["scaling"].push_back(js);
  }
  return j.dump(2) + "\n";
}

std::string prior_report_csv(const PriorStudyResult& r) {
  const std::vector<std::string> header = {
      "width", "layer", "networks", "rel_mean_vs_nngp", "rel_mean_vs_nngp_se", "p_nngp",
      "rel_mean_vs_nngp_plus_shift", "rel_mean_vs_nngp_plus_shift_se", "p_nngp_plus_shift", "shift_ratio",
      "shift_ratio_se", "rel_cov_vs_sigma", "rel_cov_vs_sigma_se", "cov_max_abs_z"};
  std::vector<std::vector<std::string>> rows;
  // Non-finite values (a quantity that does not apply) are left empty, never "nan".
  auto num = [](double v) { return std::isfinite(v) ? core::format_double(v) : std::string(); };
  for (const auto& w : r.widths) {
    for (const auto& c : w.layers) {
      rows.push_back({std::to_string(w.width), std::to_string(c.layer), std::to_string(w.networks),
                      num(c.mean_vs_nngp.relative), num(c.mean_vs_nngp.relative_se),
                      num(c.chi_square_nngp.p_value), num(c.mean_vs_corrected.relative),
                      num(c.mean_vs_corrected.relative_se), num(c.chi_square_corrected.p_value),
                      c.shift_predicted ? num(c.shift_ratio) : "", c.shift_predicted ? num(c.shift_ratio_se) : "",
                      num(r.covariance_tracked ? c.covariance_vs_theory.relative : NAN),
                      num(r.covariance_tracked ? c.covariance_vs_theory.relative_se : NAN),
                      num(r.covariance_tracked ? c.covariance_vs_theory.max_abs_z : NAN)});
    }
  }
  return core::format_csv(header, rows);
}

std::filesystem::path write_prior_report(const PriorStudyResult& result,
                                         const std::filesystem::path& directory) {
  const std::string json_text = prior_report_json(result);
  const std::string csv_text = prior_report_csv(result);
  core::write_file_atomic(directory / "prior_study.csv", csv_text);
  core::write_file_atomic(directory / "prior_study.json", json_text);
  return directory / "prior_study.json";
}

}  // namespace kernelmc::validation
