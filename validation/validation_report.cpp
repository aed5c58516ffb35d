#include "validation/validation_report.hpp"

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

std::string fmt(const char* format, double value) { return detail::printf_number(format, value); }
json num(double v) { return detail::number_or_null<json>(v); }
json matrix_json(const Eigen::MatrixXd& m) { return detail::matrix_json<json>(m); }

// CSV field: shortest exact decimal, empty for a value that does not apply (never "nan").
std::string cell(double v) { return std::isfinite(v) ? core::format_double(v) : std::string(); }

std::string p_text(double p) {
  if (!std::isfinite(p)) return "n/a";
  if (p < 1e-4) return "<1e-4";
  return fmt("%.3f", p);
}

std::string pm(double v, double se, const char* f = "%.4f") {
  return fmt(f, v) + " +- " + fmt(f, se);
}

const TheoryComparison* find(const LayerValidation& l, const std::string& theory, const std::string& quantity) {
  return find_comparison(l.comparisons, theory, quantity);
}

std::string failure_text(const TheoryFailure& f) { return "failed: " + f.reason; }

// A CSV field in double quotes (RFC 4180: inner quotes doubled).
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (const char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// How the posterior and prior were computed, for the header.
std::string route_description(const core::Config& c) {
  const auto& p = c.posterior;
  std::ostringstream out;
  if (p.route == core::PosteriorRoute::chains) {
    out << p.chains << " chains x (" << p.warmup << " warmup + " << p.draws << " draws), "
        << c.validation.prior_networks << " prior networks per width";
  } else if (p.route == core::PosteriorRoute::smc) {
    out << "posterior route smc: " << p.smc_replicates << " tempered SMC runs of " << p.smc_particles
        << " particles per width (E_prior from the exact prior particles, dC from same-draw differences at every "
           "tempering step, errors over the runs)";
  } else {
    out << "posterior route " << core::posterior_route_name(p.route) << ": " << p.importance_networks
        << " exact prior networks per width weighted by the evidence of their output kernel (E_prior, E_post and dC "
           "from the same draws, errors over "
        << p.importance_batches << " batches)";
    if (p.route != core::PosteriorRoute::importance)
      out << "; SMC when k-hat > 0.7: " << p.smc_replicates << " tempered SMC runs of " << p.smc_particles
          << " particles";
  }
  return out.str();
}

std::string header_line(const ValidationResult& r) {
  const auto& m = r.config.model;
  std::ostringstream out;
  out << "kernelmc validation: " << r.dataset_name << " (P = " << r.points << "), "
      << core::activation_name(m.activation) << ", L = " << m.depth << ", g = " << m.g.front()
      << (m.g.size() > 1 ? " ..." : "") << ", sigma_b^2 = " << m.bias_variance << ", kappa = " << m.kappa << "; "
      << route_description(r.config);
  return out.str();
}

// "relative +- SE" and the p-value of a comparison, "failed" for a missing one.
std::string relative_text(const TheoryComparison* c) { return c ? pm(c->relative, c->relative_se) : "failed"; }
std::string p_value_text(const TheoryComparison* c) { return c ? p_text(c->p_value) : ""; }
std::string target_text(const TheoryComparison* c, const char* format) {
  return c ? fmt(format, c->target_adaptation) : "failed";
}

// The evidence of every width of a route study (empty for chains): the route's log Z beside
// the NNGP's, and importance sampling's k-hat and ESS where it ran.
std::string evidence_lines(const ValidationResult& r) {
  if (r.config.posterior.route == core::PosteriorRoute::chains) return "";
  std::ostringstream out;
  out << "\nevidence: log Z of the route vs the NNGP's log N(y; 0, C_GP + kappa I)\n";
  for (const auto& w : r.widths) {
    out << fmt("%5.0f", static_cast<double>(w.width)) << "  " << w.route << ": log Z = "
        << pm(w.log_evidence, w.log_evidence_error, "%.5f") << ", NNGP " << fmt("%.5f", w.nngp_log_evidence)
        << ", difference " << fmt("%+.5f", w.log_evidence - w.nngp_log_evidence);
    if (std::isfinite(w.pareto_k))
      out << "; k-hat " << fmt("%.3f", w.pareto_k) << ", ESS " << fmt("%.0f", w.effective_sample_size);
    out << "\n";
  }
  return out.str();
}

std::string table_row(const WidthValidation& w, const LayerValidation& l) {
  const TheoryComparison* gp = find(l, "nngp", "posterior_mean");
  const TheoryComparison* ol = find(l, "one_loop", "posterior_mean");
  const TheoryComparison* fb = find(l, "fb", "posterior_mean");
  char line[512];
  std::snprintf(line, sizeof line, "%5lld %5lld  %-21s %-7s %-21s %-7s %-21s %-7s %-19s %-8s %-8s\n",
                static_cast<long long>(w.width), static_cast<long long>(l.layer), relative_text(gp).c_str(),
                p_value_text(gp).c_str(), relative_text(ol).c_str(), p_value_text(ol).c_str(),
                relative_text(fb).c_str(), p_value_text(fb).c_str(),
                pm(l.target_adaptation, l.target_adaptation_se, "%.4f").c_str(),
                target_text(find(l, "fb", "adaptation"), "%.3f").c_str(),
                target_text(find(l, "one_loop", "adaptation"), "%.3f").c_str());
  return line;
}

// The section of failed predictions; empty when every prediction succeeded.
std::string markdown_failures(const ValidationResult& r) {
  std::ostringstream md;
  for (const auto& w : r.widths) {
    for (const TheoryFailure& f : w.theory_failures)
      md << "| " << w.width << " | " << f.theory << " | " << failure_text(f) << " |\n";
  }
  if (md.str().empty()) return {};
  return "\n## Failed predictions\n\nThese theories have no comparison at these widths; their width-scaling "
         "fits use the other widths.\n\n| N | theory | status |\n|---|---|---|\n" +
         md.str();
}

json gate_json(const ConvergenceGate& g) {
  return {{"passed", g.passed},
          {"failures", g.failures},
          {"worst_rhat", num(g.worst_rhat)},
          {"min_ess_bulk", num(g.min_ess_bulk)},
          {"suggested_draws", g.suggested_draws},
          {"suggested_warmup", g.suggested_warmup},
          {"advice", g.advice}};
}

json comparison_json(const TheoryComparison& c) {
  json jc{{"theory", c.theory},
          {"quantity", c.quantity},
          {"prediction", matrix_json(c.prediction)},
          {"prediction_se", matrix_json(c.prediction_se)},
          {"z", matrix_json(c.z)},
          {"frobenius", num(c.frobenius)},
          {"frobenius_se", num(c.frobenius_se)},
          {"noise_frobenius", num(c.noise_frobenius)},
          {"excess_frobenius", num(c.excess_frobenius)},
          {"relative", num(c.relative)},
          {"relative_se", num(c.relative_se)},
          {"max_abs_z", num(c.max_abs_z)},
          {"target_z", num(c.target_z)},
          {"target_threshold", num(c.target_threshold)},
          {"bonferroni_z", num(c.bonferroni_z)},
          {"entries", c.entries},
          {"hotelling_t2", num(c.chi_square)},
          {"rank", num(c.chi_square_rank)},
          {"p_value", num(c.p_value)},
          {"test_defined", c.test_defined},
          {"consistent", c.consistent}};
  if (c.quantity == "adaptation")
    jc["target_adaptation_scaled"] = num(c.target_adaptation);
  else
    jc["cka"] = num(c.cka);
  return jc;
}

json layer_json(const LayerValidation& l) {
  json jl{{"layer", l.layer},
          {"posterior_mean", matrix_json(l.posterior_mean)},
          {"posterior_mean_se", matrix_json(l.posterior_mean_se)},
          {"prior_mean", matrix_json(l.prior_mean)},
          {"prior_mean_se", matrix_json(l.prior_mean_se)},
          {"adaptation", matrix_json(l.adaptation)},
          {"adaptation_se", matrix_json(l.adaptation_se)},
          {"target_adaptation_scaled", num(l.target_adaptation)},
          {"target_adaptation_scaled_se", num(l.target_adaptation_se)},
          {"cka", num(l.cka)},
          {"cka_se", num(l.cka_se)}};
  jl["comparisons"] = json::array();
  for (const auto& c : l.comparisons) jl["comparisons"].push_back(comparison_json(c));
  return jl;
}

json width_json(const WidthValidation& w) {
  json jw{{"width", w.width},
          {"compared", w.compared},
          {"gate", gate_json(w.gate)},
          {"sampler",
           {{"mean_accept_stat", num(w.mean_accept_stat)},
            {"divergences", w.divergences},
            {"min_e_bfmi", num(w.min_e_bfmi)},
            {"max_tree_depth_hits", w.max_tree_depth_hits},
            {"gradient_evaluations", num(w.gradient_evaluations)}}},
          {"fb_method", w.fb_method},
          {"route",
           {{"name", w.route},
            {"log_evidence", num(w.log_evidence)},
            {"log_evidence_error", num(w.log_evidence_error)},
            {"nngp_log_evidence", num(w.nngp_log_evidence)},
            {"pareto_k", num(w.pareto_k)},
            {"effective_sample_size", num(w.effective_sample_size)},
            {"warning", w.route_warning}}},
          {"seconds",
           {{"chains_summed", w.sampling_seconds}, {"prior", w.prior_seconds}, {"theory", w.theory_seconds}}}};
  // Only a study with a failed prediction has the key (a complete study's report is unchanged).
  if (!w.theory_failures.empty()) {
    jw["theory_failures"] = json::array();
    for (const TheoryFailure& f : w.theory_failures)
      jw["theory_failures"].push_back({{"theory", f.theory}, {"status", failure_text(f)}});
  }
  jw["layers"] = json::array();
  for (const auto& l : w.layers) jw["layers"].push_back(layer_json(l));
  return jw;
}

json scaling_json(const TheoryScaling& s, double confidence_level) {
  return {{"layer", s.layer},
          {"theory", s.theory},
          {"quantity", s.quantity},
          {"exponent", num(s.fit.exponent)},
          {"exponent_se", num(s.fit.exponent_se)},
          {"exponent_ci95", {num(s.fit.exponent_low), num(s.fit.exponent_high)}},
          {"amplitude", num(s.fit.amplitude)},
          {"points", s.fit.points},
          {"bootstrap_interval", {num(s.bootstrap_low), num(s.bootstrap_high)}},
          {"bootstrap_valid", s.bootstrap_valid},
          {"confidence_level", confidence_level},
          {"consistent_from", s.consistent_from},
          {"unresolved_widths", s.unresolved_widths},
          {"verdict", s.verdict}};
}

}  // namespace

std::string validation_report_json(const ValidationResult& r) {
  json j;
  j["provenance"] = json::parse(core::provenance_json(r.config));
  j["study"] = "validation";
  j["dataset"] = r.dataset_name;
  j["points"] = r.points;
  j["exact_linear_available"] = r.exact_linear_available;
  j["gate"] = {{"max_rhat", 1.01}, {"min_ess_bulk", 400}};
  j["timings"]["analysis_seconds"] = r.analysis_seconds;
  j["widths"] = json::array();
  for (const auto& w : r.widths) j["widths"].push_back(width_json(w));
  j["scaling"] = json::array();
  for (const auto& s : r.scaling) j["scaling"].push_back(scaling_json(s, r.config.validation.confidence_level));
  return j.dump(2) + "\n";
}

std::string validation_comparisons_csv(const ValidationResult& r) {
  const std::vector<std::string> header = {
      "width", "layer", "theory", "quantity", "frobenius", "frobenius_se", "relative", "relative_se",
      "excess_frobenius", "noise_frobenius", "max_abs_z", "bonferroni_z", "hotelling_t2", "rank", "p_value",
      "consistent", "measured_target_adaptation_scaled", "measured_target_adaptation_scaled_se",
      "predicted_target_adaptation_scaled", "measured_cka", "measured_cka_se", "predicted_cka"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : r.widths) {
    for (const auto& l : w.layers) {
      for (const auto& c : l.comparisons) {
        const bool adaptation = c.quantity == "adaptation";
        rows.push_back({std::to_string(w.width), std::to_string(l.layer), c.theory, c.quantity, cell(c.frobenius),
                        cell(c.frobenius_se), cell(c.relative), cell(c.relative_se), cell(c.excess_frobenius),
                        cell(c.noise_frobenius), cell(c.max_abs_z), cell(c.bonferroni_z), cell(c.chi_square),
                        cell(c.chi_square_rank), cell(c.p_value), c.consistent ? "1" : "0",
                        adaptation ? cell(l.target_adaptation) : "", adaptation ? cell(l.target_adaptation_se) : "",
                        adaptation ? cell(c.target_adaptation) : "", adaptation ? "" : cell(l.cka),
                        adaptation ? "" : cell(l.cka_se), adaptation ? "" : cell(c.cka)});
      }
    }
  }
  return core::format_csv(header, rows);
}

std::string validation_widths_csv(const ValidationResult& r) {
  const std::vector<std::string> header = {"width", "gate_passed", "worst_rhat", "min_ess_bulk", "suggested_draws",
                                           "suggested_warmup", "mean_accept_stat", "divergences", "min_e_bfmi",
                                           "max_tree_depth_hits", "gradient_evaluations"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : r.widths) {
    rows.push_back({std::to_string(w.width), w.gate.passed ? "1" : "0", cell(w.gate.worst_rhat),
                    cell(w.gate.min_ess_bulk), std::to_string(w.gate.suggested_draws),
                    std::to_string(w.gate.suggested_warmup), cell(w.mean_accept_stat), std::to_string(w.divergences),
                    cell(w.min_e_bfmi), std::to_string(w.max_tree_depth_hits), cell(w.gradient_evaluations)});
  }
  return core::format_csv(header, rows);
}

std::string validation_scaling_csv(const ValidationResult& r) {
  const std::vector<std::string> header = {"layer", "theory", "quantity", "exponent", "exponent_se",
                                           "exponent_low", "exponent_high", "bootstrap_low", "bootstrap_high",
                                           "bootstrap_valid", "points", "consistent_from", "verdict"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.scaling) {
    const bool fit = s.fit.valid();
    const bool boot = s.bootstrap_valid > 0;
    rows.push_back({std::to_string(s.layer), s.theory, s.quantity, fit ? cell(s.fit.exponent) : "",
                    fit ? cell(s.fit.exponent_se) : "", fit ? cell(s.fit.exponent_low) : "",
                    fit ? cell(s.fit.exponent_high) : "", boot ? cell(s.bootstrap_low) : "",
                    boot ? cell(s.bootstrap_high) : "", std::to_string(s.bootstrap_valid),
                    std::to_string(s.fit.points), std::to_string(s.consistent_from), quoted(s.verdict)});
  }
  return core::format_csv(header, rows);
}

std::string validation_failures_csv(const ValidationResult& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : r.widths) {
    for (const TheoryFailure& f : w.theory_failures) rows.push_back({std::to_string(w.width), f.theory, quoted(failure_text(f))});
  }
  return core::format_csv({"width", "theory", "status"}, rows);
}

std::string format_validation_table(const ValidationResult& r) {
  std::ostringstream out;
  out << header_line(r) << "\n\n";
  out << "E_post[C] vs theory: |E_post - prediction|_F / |C_GP|_F +- MC error, p-value of the Hotelling test;\n"
      << "N*<dC, yy^T>/|y|^2: measured adaptation (E_post - E_prior) along the target vs FB and one loop\n\n";
  out << "    N layer  vs C_GP                p       vs one loop            p       vs C_FB + mu           p       "
         "N*yT.dC.y measured  FB       1-loop\n";
  for (const auto& w : r.widths) {
    if (!w.compared) {
      out << fmt("%5.0f", static_cast<double>(w.width)) << "  not compared (convergence gate failed): " << w.gate.advice
          << "\n";
      continue;
    }
    for (const auto& l : w.layers) out << table_row(w, l);
    for (const TheoryFailure& f : w.theory_failures)
      out << fmt("%5.0f", static_cast<double>(w.width)) << "  " << f.theory << " " << failure_text(f) << "\n";
  }
  out << evidence_lines(r);
  out << "\nverdicts (excess discrepancy ~ N^b; " << fmt("%.0f", 100.0 * r.config.validation.confidence_level)
      << " % bootstrap interval over " << (r.config.posterior.route == core::PosteriorRoute::chains ? "chains" : "replicates")
      << "):\n";
  for (const auto& s : r.scaling) {
    const std::string what = (s.quantity == "adaptation" ? "dC vs " : "E_post vs ") + s.theory;
    out << "  layer " << s.layer << " " << what << ": " << s.verdict << "\n";
  }
  return out.str();
}

std::string validation_markdown(const ValidationResult& r) {
  std::ostringstream md;
  md << "# kernelmc validation report\n\n" << header_line(r) << ".\n\n";
  md << "Seed " << r.config.run.seed << ". Convergence gate per width: split R-hat < 1.01 and bulk ESS >= 400 "
     << "for the trace, KTA and CKA of every layer; widths that fail are not compared.\n\n";
  md << "## Convergence and sampler health\n\n| N | gate | worst R-hat | min bulk ESS | accept | divergences | min "
        "E-BFMI |\n|---|---|---|---|---|---|---|\n";
  for (const auto& w : r.widths) {
    md << "| " << w.width << " | " << (w.gate.passed ? "passed" : "FAILED: " + w.gate.advice) << " | "
       << fmt("%.4f", w.gate.worst_rhat) << " | " << fmt("%.0f", w.gate.min_ess_bulk) << " | "
       << fmt("%.3f", w.mean_accept_stat) << " | " << w.divergences << " | " << fmt("%.2f", w.min_e_bfmi) << " |\n";
  }
  md << "\n## Discrepancies\n\nRelative Frobenius discrepancy |estimate - prediction|_F / reference (C_GP for "
        "E_post[C], the one-loop dC for the adaptation dC_MC = E_post[C] - E_prior[C]) with its Monte Carlo "
        "error, max |z| over the P(P+1)/2 entries against the Bonferroni threshold at family-wise alpha = "
     << r.config.validation.false_alarm_rate << ", and the p-value of the Hotelling T^2 test.\n\n";
  md << "| N | layer | theory | quantity | relative | max abs z (threshold) | p | consistent |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const auto& w : r.widths) {
    for (const auto& l : w.layers) {
      for (const auto& c : l.comparisons) {
        md << "| " << w.width << " | " << l.layer << " | " << c.theory << " | " << c.quantity << " | "
           << pm(c.relative, c.relative_se) << " | " << fmt("%.2f", c.max_abs_z) << " (" << fmt("%.2f", c.bonferroni_z)
           << ") | " << p_text(c.p_value) << " | " << (c.consistent ? "yes" : "no") << " |\n";
      }
    }
  }
  md << "\n## Adaptation along the target\n\n| N | layer | measured N<dC, yy^T>/|y|^2 | FB | one loop |\n"
        "|---|---|---|---|---|\n";
  for (const auto& w : r.widths) {
    if (!w.compared) continue;
    for (const auto& l : w.layers) {
      md << "| " << w.width << " | " << l.layer << " | " << pm(l.target_adaptation, l.target_adaptation_se) << " | "
         << target_text(find(l, "fb", "adaptation"), "%.4f") << " | "
         << target_text(find(l, "one_loop", "adaptation"), "%.4f") << " |\n";
    }
  }
  md << markdown_failures(r) << "\n## Verdicts\n\n";
  for (const auto& s : r.scaling)
    md << "- layer " << s.layer << ", " << (s.quantity == "adaptation" ? "dC vs " : "E_post[C] vs ") << s.theory
       << ": " << s.verdict << "\n";
  md << "\nFiles: validation.json (everything), validation_comparisons.csv, validation_widths.csv, "
        "validation_scaling.csv.\n";
  return md.str();
}

std::filesystem::path write_validation_report(const ValidationResult& result, const std::filesystem::path& directory) {
  const std::string json_text = validation_report_json(result);
  const std::string comparisons = validation_comparisons_csv(result);
  const std::string widths = validation_widths_csv(result);
  const std::string scaling = validation_scaling_csv(result);
  const std::string failures = validation_failures_csv(result);
  const std::string markdown = validation_markdown(result);
  core::write_file_atomic(directory / "validation_comparisons.csv", comparisons);
  core::write_file_atomic(directory / "validation_widths.csv", widths);
  core::write_file_atomic(directory / "validation_scaling.csv", scaling);
  core::write_file_atomic(directory / "validation_failures.csv", failures);
  core::write_file_atomic(directory / "validation.md", markdown);
  core::write_file_atomic(directory / "validation.json", json_text);
  return directory / "validation.json";
}

}  // namespace kernelmc::validation
