#include "validation/posterior_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "core/activation.hpp"
#include "core/json_io.hpp"
#include "core/kernel_stack.hpp"
#include "core/npy.hpp"
#include "validation/detail/report_json.hpp"

namespace kernelmc::validation {

namespace {

using nlohmann::ordered_json;
using sampling::KernelSummaryKind;
using sampling::ScalarSummary;

using detail::number_or_null;

template <class Vector>
ordered_json vector_json(const Vector& v) {
  ordered_json out = ordered_json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) out.push_back(number_or_null(static_cast<double>(v(i))));
  return out;
}

std::string format(const char* spec, double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, spec, v);
  return buf;
}

// "0.05598 +- 0.00026": the MCSE to two significant digits, the mean to the same decimal.
std::string value_pm(double mean, double se) {
  if (!std::isfinite(mean)) return "n/a";
  if (!std::isfinite(se) || se <= 0.0) return format("%.6g", mean) + " +- " + format("%.2g", se);
  const int decimals = std::clamp(1 - static_cast<int>(std::floor(std::log10(se))), 0, 15);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*f +- %.*f", decimals, mean, decimals, se);
  return buf;
}

// "64" when every entry is equal (one N or g for all layers), else "64, 32".
template <class T>
std::string per_layer_text(const std::vector<T>& values) {
  const bool uniform = std::all_of(values.begin(), values.end(), [&](const T& v) { return v == values.front(); });
  std::ostringstream out;
  for (std::size_t l = 0; l < (uniform ? 1 : values.size()); ++l) out << (l > 0 ? ", " : "") << values[l];
  return out.str();
}

std::string summary_label(const ScalarSummary& s, Eigen::Index layer) {
  return "layer" + std::to_string(layer) + "." + std::string(sampling::kernel_summary_name(s.kind));
}

// Why a summary is not defined (KernelObservables::summary_defined).
std::string undefined_reason(KernelSummaryKind kind, Eigen::Index points) {
  if (kind == KernelSummaryKind::cka && points <= 2) return "n/a (P <= 2: CKA = +-1 identically)";
  return kind == KernelSummaryKind::cka ? "n/a (centred target is zero)" : "n/a (target is zero)";
}

ordered_json posterior_settings_json(const PosteriorRunSettings& s) {
  return {{"chains", s.chains},
          {"warmup", s.warmup},
          {"draws", s.draws},
          {"thin", s.thin},
          {"form", std::string(sampling::posterior_form_name(s.form))},
          {"draw_readout", s.draw_readout},
          {"batches", s.batches},
          {"max_entry_draw_values", s.max_entry_draw_values},
          {"write_draws", s.write_draws},
          {"draw_layers", s.draw_layers}};
}

ordered_json summary_json(const ScalarSummary& s, Eigen::Index points) {
  if (!s.defined) return {{"defined", false}, {"reason", undefined_reason(s.kind, points)}};
  return {{"defined", true},
          {"mean", number_or_null(s.mean)},
          {"mcse", number_or_null(s.mcse)},
          {"sd", number_or_null(s.sd)},
          {"rhat", number_or_null(s.rhat)},
          {"rhat_bulk", number_or_null(s.rhat_bulk)},
          {"rhat_tail", number_or_null(s.rhat_tail)},
          {"ess_bulk", number_or_null(s.ess_bulk)},
          {"ess_tail", number_or_null(s.ess_tail)}};
}

ordered_json sampler_summary_json(const PosteriorRunResult& r) {
  const sampling::SamplerSummary& s = r.sampler_summary;
  ordered_json chains = ordered_json::array();
  for (std::size_t c = 0; c < r.chains.size(); ++c) {
    const sampling::ChainResult& chain = r.chains[c];
    const auto i = static_cast<Eigen::Index>(c);
    chains.push_back({{"chain", chain.chain},
                      {"step_size", number_or_null(chain.step_size)},
                      {"accept_stat", number_or_null(chain.mean_accept_stat)},
                      {"divergences", chain.sampling_divergences},
                      {"warmup_divergences", chain.warmup_divergences},
                      {"max_tree_depth_hits", chain.max_tree_depth_hits},
                      {"e_bfmi", number_or_null(s.e_bfmi(i))},
                      {"gradient_evaluations", chain.gradient_evaluations},
                      {"inverse_mass_min", number_or_null(chain.inverse_mass.minCoeff())},
                      {"inverse_mass_max", number_or_null(chain.inverse_mass.maxCoeff())},
                      {"warmup_seconds", chain.warmup_seconds},
                      {"sampling_seconds", chain.sampling_seconds}});
  }
  return {{"accept_stat", number_or_null(s.mean_accept_stat)},
          {"divergences", s.divergences},
          {"warmup_divergences", s.warmup_divergences},
          {"sampling_transitions", s.sampling_transitions},
          {"low_e_bfmi", s.low_e_bfmi},
          {"mean_tree_depth", number_or_null(s.mean_tree_depth)},
          {"max_tree_depth", s.max_tree_depth},
          {"max_tree_depth_hits", s.max_tree_depth_hits},
          {"gradient_evaluations_per_draw", number_or_null(s.mean_leapfrog)},
          {"gradient_evaluations", s.gradient_evaluations},
          {"chains", chains}};
}

ordered_json gate_json(const ConvergenceGate& g) {
  ordered_json j = {{"passed", g.passed},
                    {"rule", "every defined summary: R-hat < 1.01 and bulk ESS >= 400"},
                    {"failures", g.failures},
                    {"worst_rhat", number_or_null(g.worst_rhat)},
                    {"min_ess_bulk", number_or_null(g.min_ess_bulk)},
                    {"min_ess_tail", number_or_null(g.min_ess_tail)},
                    {"entries_checked", g.entries_checked}};
  if (g.entries_checked) {
    j["entries_passed"] = g.entries_passed;
    j["entries_failing"] = g.entries_failing;
    j["entries_worst_rhat"] = number_or_null(g.entries_worst_rhat);
    j["entries_min_ess_bulk"] = number_or_null(g.entries_min_ess_bulk);
  }
  return j;
}

// Names of the columns of summaries.npy: every defined summary of every layer.
std::vector<std::pair<std::string, const ScalarSummary*>> summary_columns(const PosteriorRunResult& r) {
  std::vector<std::pair<std::string, const ScalarSummary*>> columns;
  for (const auto& layer : r.kernels.layers) {
    for (const auto& s : layer.summaries) {
      if (s.defined) columns.emplace_back(summary_label(s, layer.layer), &s);
    }
  }
  return columns;
}

const std::vector<std::string> kSamplerColumns = {"energy", "accept_stat", "divergent", "tree_depth", "n_leapfrog"};

std::string kernel_file(Eigen::Index layer) { return "kernel_layer" + std::to_string(layer) + ".npy"; }

// Whether the kernel draws of layer l are written (posterior.draw_layers; empty: all).
bool layer_written(const PosteriorRunResult& r, Eigen::Index layer) {
  const auto& chosen = r.config.posterior.draw_layers;
  return chosen.empty() || std::find(chosen.begin(), chosen.end(), layer) != chosen.end();
}

// The table's sections, in order: the run, the sampler's health, the scalar summaries,
// the kernel entries, the convergence gate.
void write_run_header(std::ostream& out, const PosteriorRunResult& r) {
  const core::ModelSpec& m = r.spec;
  const PosteriorRunSettings& p = r.config.posterior;
  const sampling::KernelPosteriorSummary& k = r.kernels;
  out << "kernelmc sample: " << r.dataset_name << " (P = " << k.points << "), " << core::activation_name(m.activation)
      << ", L = " << m.depth() << ", N = " << per_layer_text(m.widths) << ", g = " << per_layer_text(m.weight_variances) << ", sigma_b^2 = " << m.bias_variance << ", kappa = " << m.kappa << "\n";
  out << "posterior: " << sampling::posterior_form_name(p.form)
      << (p.form == sampling::PosteriorForm::collapsed ? " (readout integrated out)" : " (all parameters)") << ", "
      << sampling::sampler_kind_name(r.config.sampler.kind) << ", " << p.chains << " chains x " << p.draws
      << " draws (warmup " << p.warmup << ", thin " << p.thin << "), seed " << r.config.run.seed << ", "
      << format("%.1f", r.seconds) << " s\n\n";

}

void write_sampler_health(std::ostream& out, const PosteriorRunResult& r) {
  const sampling::SamplerSummary& s = r.sampler_summary;
  out << "sampler: accept " << format("%.3f", s.mean_accept_stat) << " (target " << r.config.sampler.target_accept
      << "), step size " << format("%.3g", s.step_size.minCoeff()) << ".." << format("%.3g", s.step_size.maxCoeff())
      << ", divergences " << s.divergences << " of " << s.sampling_transitions << " (warmup " << s.warmup_divergences
      << "), E-BFMI min " << format("%.2f", s.e_bfmi.size() > 0 ? s.e_bfmi.minCoeff() : NAN)
      << (s.low_e_bfmi ? " (LOW: < 0.3 or undefined)" : "");
  if (r.config.sampler.kind == sampling::SamplerKind::nuts)
    out << ", tree depth mean " << format("%.1f", s.mean_tree_depth) << " max " << s.max_tree_depth << " (cap "
        << r.config.sampler.max_tree_depth << " hit " << s.max_tree_depth_hits << " times)";
  out << ", " << format("%.1f", s.mean_leapfrog) << " gradients/draw\n\n";

}

void write_summaries(std::ostream& out, const sampling::KernelPosteriorSummary& k) {
  out << "layer  summary      posterior mean +- MCSE        sd     R-hat  ESS bulk  ESS tail\n";
  for (const auto& layer : k.layers) {
    for (const auto& sum : layer.summaries) {
      char line[256];
      if (!sum.defined) {
        std::snprintf(line, sizeof line, "%5lld  %-7s    %s\n", static_cast<long long>(layer.layer),
                      std::string(sampling::kernel_summary_name(sum.kind)).c_str(),
                      undefined_reason(sum.kind, k.points).c_str());
      } else {
        std::snprintf(line, sizeof line, "%5lld  %-7s  %28s  %9s  %8s  %8s  %8s\n",
                      static_cast<long long>(layer.layer), std::string(sampling::kernel_summary_name(sum.kind)).c_str(),
                      value_pm(sum.mean, sum.mcse).c_str(), format("%.4g", sum.sd).c_str(),
                      format("%.4f", sum.rhat).c_str(), format("%.0f", sum.ess_bulk).c_str(),
                      format("%.0f", sum.ess_tail).c_str());
      }
      out << line;
    }
  }

}

void write_entries(std::ostream& out, const PosteriorRunResult& r) {
  const sampling::KernelPosteriorSummary& k = r.kernels;
  out << "\nkernel entries: MCSE by batch means (" << k.batches_per_chain << " batches per chain, "
      << k.batch_degrees_of_freedom << " degrees of freedom; batch length " << k.draws_per_chain / k.batches_per_chain
      << " draws)\n";
  for (const auto& layer : k.layers) {
    out << "  layer " << layer.layer << ": max MCSE " << format("%.3g", layer.mcse.maxCoeff()) << ", max tau "
        << format("%.1f", layer.autocorrelation_time.maxCoeff()) << " draws";
    if (k.entry_draws_kept)
      out << ", R-hat max " << format("%.4f", layer.rhat.maxCoeff()) << ", bulk ESS min "
          << format("%.0f", layer.ess_bulk.minCoeff());
    out << "\n";
    // The mean kernel itself, when it fits on a line.
    if (k.points <= 6) {
      for (Eigen::Index a = 0; a < k.points; ++a) {
        out << "    ";
        for (Eigen::Index b = 0; b < k.points; ++b) {
          char cell[64];
          std::snprintf(cell, sizeof cell, "%24s", value_pm(layer.mean(a, b), layer.mcse(a, b)).c_str());
          out << cell;
        }
        out << "\n";
      }
    }
  }
  if (!r.entry_draws_note.empty()) out << "  " << r.entry_draws_note << "\n";
  double max_tau = 0.0;
  for (const auto& layer : k.layers) max_tau = std::max(max_tau, layer.autocorrelation_time.maxCoeff());
  // Batch means are honest for batches ≥ 20 τ (bias of the SE ≲ 5 %, kernel_observables.hpp).
  if (static_cast<double>(k.draws_per_chain / k.batches_per_chain) < 20.0 * max_tau)
    out << "  WARNING: a batch is shorter than 20 tau: the batch-means MCSE may be too small\n";
  if (k.output_mean.size() > 0) {
    out << "network output F at the training inputs (mean +- MCSE):";
    for (Eigen::Index a = 0; a < k.output_mean.rows(); ++a)
      out << " " << format("%.4f", k.output_mean(a, 0)) << " +- " << format("%.4f", k.output_mcse(a, 0));
    out << (k.output_mean.cols() > 1 ? " (first output)" : "") << "\n";
  }

}

void write_gate(std::ostream& out, const PosteriorRunResult& r) {
  const sampling::SamplerSummary& s = r.sampler_summary;
  const ConvergenceGate& g = r.gate;
  out << "\nconvergence: " << (g.passed ? "PASSED" : "FAILED")
      << " (every summary R-hat < 1.01 and bulk ESS >= 400; worst R-hat " << format("%.4f", g.worst_rhat)
      << ", min bulk ESS " << format("%.0f", g.min_ess_bulk) << ", min tail ESS " << format("%.0f", g.min_ess_tail)
      << ")\n";
  for (const auto& f : g.failures) out << "  " << f << "\n";
  if (g.entries_checked)
    out << "entries: " << g.entries_failing << " kernel entries fail the same rule (worst R-hat "
        << format("%.4f", g.entries_worst_rhat) << ", min bulk ESS " << format("%.0f", g.entries_min_ess_bulk) << ")\n";
  if (s.divergences > 0) out << "WARNING: " << s.divergences << " divergent transitions after warmup\n";
}

}  // namespace

std::string format_posterior_table(const PosteriorRunResult& r) {
  std::ostringstream out;
  write_run_header(out, r);
  write_sampler_health(out, r);
  write_summaries(out, r.kernels);
  write_entries(out, r);
  write_gate(out, r);
  return out.str();
}

std::string posterior_report_json(const PosteriorRunResult& r) {
  ordered_json j;
  j["provenance"] = ordered_json::parse(core::provenance_json(r.config));
  j["study"] = "posterior";
  j["posterior_settings"] = posterior_settings_json(r.config.posterior);
  j["dataset"] = r.dataset_name;
  j["points"] = r.kernels.points;
  j["seconds"] = r.seconds;
  j["sampler"] = sampler_summary_json(r);
  const sampling::KernelPosteriorSummary& k = r.kernels;
  j["kernel_entries"] = {{"mcse_method", "batch means over each chain's consecutive draws, pooled over chains"},
                         {"batches_per_chain", k.batches_per_chain},
                         {"degrees_of_freedom", k.batch_degrees_of_freedom},
                         {"entry_draws_kept", k.entry_draws_kept},
                         {"note", r.entry_draws_note}};
  ordered_json layers = ordered_json::array();
  for (const auto& layer : k.layers) {
    ordered_json jl = {{"layer", layer.layer},
                       {"mean", detail::matrix_json(layer.mean)},
                       {"mcse", detail::matrix_json(layer.mcse)},
                       {"sd", detail::matrix_json(layer.sd)},
                       {"autocorrelation_time", detail::matrix_json(layer.autocorrelation_time)}};
    if (k.entry_draws_kept) {
      jl["rhat"] = detail::matrix_json(layer.rhat);
      jl["ess_bulk"] = detail::matrix_json(layer.ess_bulk);
      jl["ess_tail"] = detail::matrix_json(layer.ess_tail);
    }
    for (const auto& s : layer.summaries) jl["summaries"][std::string(sampling::kernel_summary_name(s.kind))] = summary_json(s, k.points);
    layers.push_back(std::move(jl));
  }
  j["layers"] = std::move(layers);
  if (k.output_mean.size() > 0)
    j["output"] = {{"mean", detail::matrix_json(k.output_mean)}, {"mcse", detail::matrix_json(k.output_mcse)}, {"sd", detail::matrix_json(k.output_sd)}};
  j["convergence"] = gate_json(r.gate);
  return j.dump(2) + "\n";
}

std::string posterior_draws_manifest(const PosteriorRunResult& r) {
  const Eigen::Index C = r.config.posterior.chains, n = r.config.posterior.draws, P = r.kernels.points;
  ordered_json j;
  j["provenance"] = ordered_json::parse(core::provenance_json(r.config));
  j["layout"] = "NumPy .npy, float64, C order; axis 0 = chain, axis 1 = kept draw (after thinning)";
  ordered_json files = ordered_json::array();
  ordered_json names = ordered_json::array();
  for (const auto& [name, s] : summary_columns(r)) names.push_back(name);
  files.push_back({{"file", "summaries.npy"},
                   {"shape", {C, n, static_cast<Eigen::Index>(names.size())}},
                   {"columns", names},
                   {"description", "per draw: trace, KTA and CKA of every layer's kernel (defined ones only)"}});
  files.push_back({{"file", "sampler.npy"},
                   {"shape", {C, n, static_cast<Eigen::Index>(kSamplerColumns.size())}},
                   {"columns", kSamplerColumns},
                   {"description", "per draw: the transition that produced it (Stan's sampler_params)"}});
  if (r.kernels.entry_draws_kept) {
    for (const auto& layer : r.kernels.layers) {
      if (!layer_written(r, layer.layer)) continue;
      files.push_back({{"file", kernel_file(layer.layer)},
                       {"shape", {C, n, P, P}},
                       {"description", "per draw: the kernel C^(" + std::to_string(layer.layer) + ")"}});
    }
  } else {
    j["not_written"] = r.entry_draws_note;
  }
  j["files"] = std::move(files);
  return j.dump(2) + "\n";
}

std::filesystem::path write_posterior_report(const PosteriorRunResult& r, const std::filesystem::path& directory) {
  const std::string report = posterior_report_json(r);
  if (r.config.posterior.write_draws) {
    const std::filesystem::path dir = directory / "draws";
    const Eigen::Index C = r.config.posterior.chains, n = r.config.posterior.draws, P = r.kernels.points;
    const auto columns = summary_columns(r);
    std::vector<double> values;
    values.reserve(static_cast<std::size_t>(C * n) * columns.size());
    for (Eigen::Index c = 0; c < C; ++c)
      for (Eigen::Index i = 0; i < n; ++i)
        for (const auto& column : columns) values.push_back(column.second->draws(i, c));
    core::write_npy(dir / "summaries.npy", values, {C, n, static_cast<Eigen::Index>(columns.size())});

    values.clear();
    for (const sampling::ChainResult& chain : r.chains) {
      for (Eigen::Index i = 0; i < n; ++i) {
        values.insert(values.end(), {chain.energy(i), chain.accept_stat(i), chain.divergent(i),
                                     static_cast<double>(chain.tree_depth(i)), static_cast<double>(chain.n_leapfrog(i))});
      }
    }
    core::write_npy(dir / "sampler.npy", values, {C, n, static_cast<Eigen::Index>(kSamplerColumns.size())});

    if (r.kernels.entry_draws_kept) {
      for (const auto& layer : r.kernels.layers) {
        if (!layer_written(r, layer.layer)) continue;
        values.clear();
        values.reserve(static_cast<std::size_t>(C * n * P * P));
        for (const Eigen::MatrixXd& chain : layer.entry_draws) {
          for (Eigen::Index i = 0; i < n; ++i) {
            const Eigen::MatrixXd kernel = core::from_upper_triangle(chain.col(i), P);
            for (Eigen::Index a = 0; a < P; ++a)
              for (Eigen::Index b = 0; b < P; ++b) values.push_back(kernel(a, b));
          }
        }
        core::write_npy(dir / kernel_file(layer.layer), values, {C, n, P, P});
      }
    }
    core::write_file_atomic(dir / "manifest.json", posterior_draws_manifest(r));
  }
  core::write_file_atomic(directory / "posterior.json", report);
  return directory / "posterior.json";
}

}  // namespace kernelmc::validation
