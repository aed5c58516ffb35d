#include "validation/theory_report.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/activation.hpp"
#include "core/json_io.hpp"
#include "core/npy.hpp"
#include "validation/detail/report_json.hpp"

namespace kernelmc::validation {

namespace {

using nlohmann::ordered_json;

std::string fmt(const char* format, double value) {
  return std::isfinite(value) ? detail::printf_number(format, value) : "n/a";
}

using detail::matrix_json;
using detail::number_or_null;

ordered_json vector_json(const std::vector<double>& v) {
  ordered_json out = ordered_json::array();
  for (double x : v) out.push_back(number_or_null(x));
  return out;
}

std::vector<double> row_major(const Eigen::MatrixXd& m) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(m.size()));
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) out.push_back(m(i, j));
  return out;
}

std::string layer_file(const std::string& stem, Eigen::Index l) {
  return "theory_arrays/" + stem + "_layer" + std::to_string(l) + ".npy";
}

ordered_json covariance_json(const CovarianceSummary& s) {
  return {{"diagonal_variance", number_or_null(s.diagonal_variance)},
          {"diagonal_variance_se_bound", number_or_null(s.diagonal_variance_se)},
          {"off_diagonal_variance", number_or_null(s.off_diagonal_variance)},
          {"off_diagonal_variance_se_bound", number_or_null(s.off_diagonal_variance_se)},
          {"trace_variance", number_or_null(s.trace_variance)},
          {"trace_variance_se_bound", number_or_null(s.trace_variance_se)},
          {"target_variance", number_or_null(s.target_variance)},
          {"target_variance_se_bound", number_or_null(s.target_variance_se)},
          {"target_relative_variance", number_or_null(s.target_relative_variance)},
          {"frobenius", number_or_null(s.frobenius)}};
}

ordered_json prediction_json(const PredictionSet& p) {
  return {{"mean", matrix_json(p.mean)},
          {"variance", matrix_json(p.variance)},
          {"mean_se", matrix_json(p.mean_se)},
          {"variance_se", matrix_json(p.variance_se)}};
}

std::string width_text(const core::ModelSpec& spec) {
  bool equal = true;
  for (Eigen::Index l = 2; l <= spec.depth(); ++l) equal = equal && spec.width(l) == spec.width(1);
  if (equal) return std::to_string(spec.width(1));
  std::string out = "[";
  for (Eigen::Index l = 1; l <= spec.depth(); ++l) {
    if (l > 1) out += ',';
    out += std::to_string(spec.width(l));
  }
  out += ']';
  return out;
}

}  // namespace

std::vector<TheoryArray> theory_arrays(const TheoryRunResult& r) {
  std::vector<TheoryArray> out;
  // Empty matrices (not computed) and standard errors of deterministic routes (all zero) are not written.
  auto add = [&](const std::string& file, const std::string& quantity, Eigen::Index l, const Eigen::MatrixXd& m) {
    const bool zero_error = quantity.find("SE of") != std::string::npos && m.size() > 0 && m.isZero(0.0);
    if (m.size() > 0 && !zero_error) out.push_back({file, quantity, l, m});
  };
  add("theory_arrays/targets.npy", "training targets Y (P x D)", 0, r.targets);
  for (const TheoryLayer& L : r.layers) {
    const Eigen::Index l = L.layer;
    add(layer_file("nngp", l), "C_GP^(l), NNGP kernel (THEORY.md §2)", l, L.nngp);
    if (l == 1) continue;  // C^(1) is fixed: every other layer-1 quantity is C^(1) or zero
    add(layer_file("mean_shift", l), "mu^(l), prior mean shift O(1/N) (§3.4)", l, L.mean_shift);
    add(layer_file("mean_shift_se", l), "Monte Carlo SE of mu^(l) (Monte Carlo 4-point functions only)", l, L.mean_shift_se);
    add(layer_file("covariance", l), "Sigma^(l), K x K over the upper-triangle entries (a <= b, row-major)", l,
        L.covariance_matrix);
    add(layer_file("one_loop_tilt", l), "first-order tilt G^(l)/N_(l-1) (§4.6)", l, L.one_loop_tilt);
    add(layer_file("adaptation", l), "one-loop adaptation delta C^(l) = Sigma^(l)[G^(l)] (§4.6)", l, L.adaptation);
    add(layer_file("adaptation_se", l), "Monte Carlo SE of delta C^(l) (Monte Carlo 4-point functions only)", l, L.adaptation_se);
    add(layer_file("one_loop_mean", l), "C_GP + mu + delta C, one-loop posterior mean (§5.1)", l, L.one_loop_mean);
    add(layer_file("fb_tilt", l), "FB tilt C~^(l) (§4.3)", l, L.fb_tilt);
    add(layer_file("fb_kernel", l), "C_FB^(l), FB kernel (§4.3)", l, L.fb_kernel);
    add(layer_file("fb_kernel_error", l), "error estimate of C_FB^(l), entrywise", l, L.fb_kernel_error);
  }
  add("theory_arrays/test_inputs.npy", "test inputs (T x d)", 0, r.test.inputs);
  add("theory_arrays/test_targets.npy", "test targets (T x D)", 0, r.test.targets);
  const std::pair<const char*, const PredictionSet*> sets[] = {
      {"nngp", &r.nngp_prediction}, {"fb", &r.fb_prediction}, {"one_loop", &r.one_loop_prediction}};
  for (const auto& [name, p] : sets) {
    const std::string stem = std::string("theory_arrays/prediction_") + name;
    add(stem + "_mean.npy", std::string("predictive mean, ") + name + " (T x D)", 0, p->mean);
    add(stem + "_variance.npy", std::string("predictive variance of the latent f, ") + name + " (T x D)", 0,
        p->variance);
  }
  add("theory_arrays/prediction_one_loop_mean_se.npy", "Monte Carlo SE of the one-loop mean", 0,
      r.one_loop_prediction.mean_se);
  add("theory_arrays/prediction_one_loop_variance_se.npy", "Monte Carlo SE of the one-loop variance", 0,
      r.one_loop_prediction.variance_se);
  if (r.linear.applicable) {
    for (Eigen::Index l = 2; l <= r.linear.fb_kernels.top_layer(); ++l) {
      add(layer_file("linear_first_order_adaptation", l), "deep linear closed-form delta C^(l) (§4.6)", l,
          r.linear.first_order_adaptation.layer(l));
      add(layer_file("linear_fb_kernel", l), "linear FB equations solved in closed form (§4.3, §7.3)", l,
          r.linear.fb_kernels.layer(l));
    }
    if (r.linear.has_exact_hidden_kernel)
      add("theory_arrays/exact_hidden_kernel_layer2.npy", "exact E[C^(2) | y], L = 1 (§7.2)", 2,
          r.linear.exact_hidden_kernel);
  }
  return out;
}

namespace {

// The first lines of the table: data set, architecture and routes.
void append_title(std::ostringstream& out, const TheoryRunResult& r) {
  const core::ModelSpec& s = r.spec;
  out << "kernelmc theory: " << r.dataset_name << " (P = " << r.points << ", " << r.test.inputs.rows()
      << " test points), " << core::activation_name(s.activation) << ", L = " << s.depth()
      << ", N = " << width_text(s) << ", g = " << s.g(1) << (s.weight_variances.size() > 1 &&
                                                                     s.g(2) != s.g(1) ? " ..." : "")
      << ", sigma_b^2 = " << s.bias_variance << ", kappa = " << s.kappa << "\n";
  out << "routes:\n";
  for (const std::string& route : r.routes) out << "  - " << route << "\n";
}

// One line per layer l = 1..L+1: prior moments, one-loop and FB adaptations.
void append_layer_table(std::ostringstream& out, const TheoryRunResult& r) {
  const std::string n = r.scale != 1.0 ? "N*" : "";
  out << "\nper layer (" << (r.scale != 1.0 ? "N-scaled, N = " + fmt("%.0f", r.scale) : "unscaled: widths differ")
      << "; T = YY'/|YY'|, the target direction; dC = one-loop adaptation):\n";
  out << "layer  mean C_GP_aa  " << n << "Var(C_aa)  " << n << "Var<T,C>  " << n << "Var<T,C>/<T,C_GP>^2  "
      << n << "max|mu|   " << n << "<T,dC> (1-loop)      " << n << "<T,C_FB-C_GP>        |FB-GP-dC|/|dC|  ESS\n";
  for (const TheoryLayer& L : r.layers) {
    const bool first = L.layer == 1;
    const Eigen::MatrixXd fb_delta = L.fb_kernel - L.nngp;
    const double rel = (!first && r.one_loop_computed && L.adaptation.norm() > 0.0)
                           ? (fb_delta - L.adaptation).norm() / L.adaptation.norm()
                           : NAN;
    char line[512];
    std::snprintf(
        line, sizeof line, "%5lld  %12s  %12s  %11s  %22s  %10s  %-20s %-20s %15s  %s\n",
        static_cast<long long>(L.layer), fmt("%.5f", L.nngp.diagonal().mean()).c_str(),
        r.one_loop_computed ? fmt("%.5f", L.covariance.diagonal_variance).c_str() : "n/a",
        r.one_loop_computed ? fmt("%.5f", L.covariance.target_variance).c_str() : "n/a",
        r.one_loop_computed ? fmt("%.5f", L.covariance.target_relative_variance).c_str() : "n/a",
        r.one_loop_computed && !first ? fmt("%.5f", r.scale * L.mean_shift.cwiseAbs().maxCoeff()).c_str() : "-",
        first ? "-" : !r.one_loop_computed ? "n/a" : fmt("%.5f", L.one_loop_target_adaptation).c_str(),
        first ? "-" : fmt("%.5f", L.fb_target_adaptation).c_str(),
        fmt("%.4f", rel).c_str(), first ? "-" : fmt("%.0f", L.fb_effective_sample_size).c_str());
    out << line;
  }
  if (!r.one_loop_computed) out << "one loop not computed: " << r.one_loop_skipped << "\n";
}

// The FB solve: method, iterations, residual and the largest kernel error.
void append_fb_summary(std::ostringstream& out, const TheoryRunResult& r) {
  out << "\nFB: " << core::tilt_method_name(r.fb.method) << ", " << r.fb.iterations << " iterations, residual "
      << fmt("%.2e", r.fb.residual);
  if (!r.fb.homotopy_steps.empty()) out << ", homotopy in " << r.fb.homotopy_steps.size() << " steps";
  if (r.fb.method == core::TiltMethod::importance_sampling)
    out << ", " << r.fb.settings.importance_samples << " draws per layer (ESS in the table)";
  double max_error = 0.0;
  for (const TheoryLayer& L : r.layers) max_error = std::max(max_error, L.fb_kernel_error.cwiseAbs().maxCoeff());
  out << ", max kernel error " << fmt("%.2e", max_error)
      << (r.fb.truncation_order > 0 ? " (plus the neglected O(C~^2) terms)" : "") << "\n";
}

// One line per test point: the NNGP, FB and one-loop predictions of output 1.
void append_prediction_table(std::ostringstream& out, const TheoryRunResult& r) {
  const Eigen::Index T = r.test.inputs.rows();
  out << "\npredictions at the test points (" << r.test.source << "; output 1; variance of the latent f):\n";
  out << "point  target    NNGP mean   NNGP var    FB mean     FB var      1-loop mean         1-loop var\n";
  for (Eigen::Index t = 0; t < T; ++t) {
    const PredictionSet& o = r.one_loop_prediction;
    const bool one = r.one_loop_computed;
    auto pm = [&](double v, double se) {
      return fmt("%.5f", v) + (se > 0 ? " +- " + fmt("%.5f", se) : std::string());
    };
    char line[512];
    std::snprintf(line, sizeof line, "%5lld  %7s  %10s  %10s  %10s  %10s  %-19s %-19s\n", static_cast<long long>(t),
                  r.test.targets.size() > 0 ? fmt("%.3f", r.test.targets(t, 0)).c_str() : "-",
                  fmt("%.5f", r.nngp_prediction.mean(t, 0)).c_str(),
                  fmt("%.5f", r.nngp_prediction.variance(t, 0)).c_str(),
                  fmt("%.5f", r.fb_prediction.mean(t, 0)).c_str(), fmt("%.5f", r.fb_prediction.variance(t, 0)).c_str(),
                  one ? pm(o.mean(t, 0), o.mean_se(t, 0)).c_str() : "n/a",
                  one ? pm(o.variance(t, 0), o.variance_se(t, 0)).c_str() : "n/a");
    out << line;
  }
}

// The closed forms of a deep linear network (THEORY.md §7), when they apply.
void append_linear_oracles(std::ostringstream& out, const TheoryRunResult& r) {
  if (r.linear.applicable) {
    const LinearOracles& o = r.linear;
    out << "\ndeep linear oracles (THEORY.md §7):\n";
    out << "  E[s | y] = " << fmt("%.6f", o.scale_mean) << " (exact at this N, error " << fmt("%.1e", o.scale_mean_error)
        << "; prior mean G = " << fmt("%.6f", o.scale_prior_mean) << "), Var[s | y] = " << fmt("%.6g", o.scale_variance)
        << "; BPKR saddle s* = " << fmt("%.6f", o.saddle_scale) << " (u = " << fmt("%.6f", o.saddle_u) << ")\n";
    out << "  max |one-loop dC - closed form| = "
        << (r.one_loop_computed ? fmt("%.2e", o.first_order_adaptation_max_difference) : std::string("n/a"))
        << "; max |C_FB(solver) - C_FB(closed form)| = " << fmt("%.2e", o.fb_max_difference) << "\n";
    if (o.has_exact_hidden_kernel) {
      const TheoryLayer& L2 = r.layers.layer(2);
      out << "  L = 1: exact E[C^(2) | y] vs one loop: max diff "
          << (r.one_loop_computed ? fmt("%.2e", (o.exact_hidden_kernel - L2.one_loop_mean).cwiseAbs().maxCoeff())
                                  : std::string("n/a"))
          << ", vs FB: " << fmt("%.2e", (o.exact_hidden_kernel - L2.fb_kernel).cwiseAbs().maxCoeff())
          << " (integration error " << fmt("%.1e", o.exact_hidden_kernel_error) << ")\n";
    }
  }
}

}  // namespace

std::string format_theory_table(const TheoryRunResult& r) {
  std::ostringstream out;
  append_title(out, r);
  append_layer_table(out, r);
  append_fb_summary(out, r);
  append_prediction_table(out, r);
  append_linear_oracles(out, r);
  out << "\nexact for this configuration?\n";
  for (const ExactnessStatement& e : r.exactness)
    out << "  " << (e.exact ? "exact  " : "approx ") << e.theory << ": " << e.statement << "\n";
  out << "\ntime: " << fmt("%.2f", r.seconds) << " s (";
  for (std::size_t i = 0; i < r.stage_seconds.size(); ++i)
    out << (i ? ", " : "") << r.stage_seconds[i].first << " " << fmt("%.2f", r.stage_seconds[i].second);
  out << ")\n";
  return out.str();
}

namespace {

// The JSON record of layer l: the NNGP kernel, and for l ≥ 2 the one-loop and FB results.
ordered_json layer_json(const TheoryLayer& L, bool one_loop_computed) {
  ordered_json jl;
  jl["layer"] = L.layer;
  jl["nngp"] = matrix_json(L.nngp);
  if (L.layer >= 2) {
    if (one_loop_computed) {
      jl["mean_shift"] = matrix_json(L.mean_shift);
      jl["mean_shift_se"] = matrix_json(L.mean_shift_se);
      jl["covariance_summary"] = covariance_json(L.covariance);
      jl["covariance_written"] = L.covariance_matrix.size() > 0;
      jl["one_loop_tilt"] = matrix_json(L.one_loop_tilt);
      jl["adaptation"] = matrix_json(L.adaptation);
      jl["adaptation_se"] = matrix_json(L.adaptation_se);
      jl["one_loop_mean"] = matrix_json(L.one_loop_mean);
      jl["one_loop_target_adaptation"] = number_or_null(L.one_loop_target_adaptation);
      jl["one_loop_target_adaptation_se_bound"] = number_or_null(L.one_loop_target_adaptation_se);
    }
    jl["fb_tilt"] = matrix_json(L.fb_tilt);
    jl["fb_kernel"] = matrix_json(L.fb_kernel);
    jl["fb_kernel_error"] = matrix_json(L.fb_kernel_error);
    jl["fb_effective_sample_size"] = number_or_null(L.fb_effective_sample_size);
    jl["fb_target_adaptation"] = number_or_null(L.fb_target_adaptation);
    jl["fb_target_adaptation_error_bound"] = number_or_null(L.fb_target_adaptation_error);
  }
  return jl;
}

// The FB solve and the settings it used.
ordered_json fb_json(const FbRunSummary& fb) {
  const theory::FbSettings& fs = fb.settings;
  return {{"method", core::tilt_method_name(fb.method)},
          {"iterations", fb.iterations},
          {"residual", number_or_null(fb.residual)},
          {"residual_history", vector_json(fb.residual_history)},
          {"homotopy_steps", vector_json(fb.homotopy_steps)},
          {"truncation_order", fb.truncation_order},
          {"settings_used",
           {{"method", core::tilt_method_name(fs.method)},
            {"damping", fs.damping},
            {"tolerance", fs.tolerance},
            {"max_iterations", fs.max_iterations},
            {"newton", fs.newton},
            {"homotopy", fs.homotopy},
            {"importance_samples", fs.importance_samples},
            {"quadrature_nodes", fs.quadrature_nodes},
            {"seed", fs.seed},
            {"gradient_form", core::tilt_gradient_form_name(fs.gradient_form)},
            {"exact_first_order", fs.exact_first_order},
            {"estimate_errors", fs.estimate_errors}}}};
}

// The deep linear oracles (THEORY.md §7), or why they do not apply.
ordered_json linear_oracles_json(const TheoryRunResult& r) {
  const LinearOracles& o = r.linear;
  ordered_json out = {{"applicable", o.applicable}};
  if (!o.applicable) {
    out["reason"] = o.reason;
  } else {
    out["scale_posterior"] = {{"mean", o.scale_mean},
                              {"mean_error", o.scale_mean_error},
                              {"variance", o.scale_variance},
                              {"variance_error", o.scale_variance_error},
                              {"prior_mean", o.scale_prior_mean}};
    out["bpkr_saddle"] = {{"u", o.saddle_u}, {"scale", o.saddle_scale}};
    out["first_order_adaptation_max_difference"] =
        r.one_loop_computed ? number_or_null(o.first_order_adaptation_max_difference) : ordered_json(nullptr);
    out["fb_max_difference"] = number_or_null(o.fb_max_difference);
    for (Eigen::Index l = 2; l <= o.fb_kernels.top_layer(); ++l)
      out["layers"].push_back({{"layer", l},
                               {"first_order_adaptation", matrix_json(o.first_order_adaptation.layer(l))},
                               {"fb_kernel", matrix_json(o.fb_kernels.layer(l))}});
    if (o.has_exact_hidden_kernel)
      out["exact_hidden_kernel"] = {{"layer", 2},
                                    {"mean_kernel", matrix_json(o.exact_hidden_kernel)},
                                    {"error", o.exact_hidden_kernel_error}};
  }
  return out;
}

}  // namespace

std::string theory_report_json(const TheoryRunResult& r) {
  ordered_json j;
  j["provenance"] = ordered_json::parse(core::provenance_json(r.config));
  j["study"] = "theory";
  j["dataset"] = r.dataset_name;
  j["points"] = r.points;
  j["scale"] = r.scale;
  j["scale_meaning"] = r.scale != 1.0 ? "N: summaries and target adaptations are multiplied by the hidden width"
                                      : "1: hidden widths differ, values are unscaled";
  j["routes"] = r.routes;
  j["seconds"] = r.seconds;
  for (const auto& [name, seconds] : r.stage_seconds) j["stage_seconds"].push_back({{"stage", name}, {"seconds", seconds}});
  j["targets"] = matrix_json(r.targets);
  j["test_points"] = {{"source", r.test.source},
                      {"inputs", matrix_json(r.test.inputs)},
                      {"targets", r.test.targets.size() > 0 ? matrix_json(r.test.targets) : ordered_json(nullptr)}};
  j["four_point_method"] = core::four_point_method_name(r.four_point_method);
  j["one_loop_computed"] = r.one_loop_computed;
  if (!r.one_loop_computed) j["one_loop_skipped"] = r.one_loop_skipped;
  for (const TheoryLayer& L : r.layers) j["layers"].push_back(layer_json(L, r.one_loop_computed));
  j["fb"] = fb_json(r.fb);
  j["predictions"] = {{"nngp", prediction_json(r.nngp_prediction)}, {"fb", prediction_json(r.fb_prediction)}};
  if (r.one_loop_computed) j["predictions"]["one_loop"] = prediction_json(r.one_loop_prediction);
  j["linear_oracles"] = linear_oracles_json(r);
  for (const ExactnessStatement& e : r.exactness)
    j["exactness"].push_back({{"theory", e.theory}, {"exact", e.exact}, {"statement", e.statement}});
  for (const TheoryArray& a : theory_arrays(r))
    j["arrays"].push_back({{"file", a.file},
                           {"quantity", a.quantity},
                           {"layer", a.layer},
                           {"shape", {a.values.rows(), a.values.cols()}},
                           {"order", "C (row-major), float64"}});
  return j.dump(2) + "\n";
}

std::filesystem::path write_theory_report(const TheoryRunResult& result, const std::filesystem::path& directory) {
  const std::string json_text = theory_report_json(result);
  for (const TheoryArray& a : theory_arrays(result))
    core::write_npy(directory / a.file, row_major(a.values), {a.values.rows(), a.values.cols()});
  core::write_file_atomic(directory / "theory.json", json_text);
  return directory / "theory.json";
}

}  // namespace kernelmc::validation
