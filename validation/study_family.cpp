#include "validation/study_family.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "theory/criticality.hpp"
#include "validation/theory_comparison.hpp"
#include "theory/criticality_study.hpp"
#include "validation/detail/report_json.hpp"

namespace kernelmc::validation {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// A discrepancy counts as resolved at this many standard errors (the 5σ).
constexpr double kResolvedSigmas = 5.0;

std::string number(double v, const char* format = "%.4g") { return detail::printf_number(format, v); }

std::string list_text(const std::vector<double>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i == 0 ? "" : ", ") + number(values[i], "%.17g");
  return out + "]";
}

// The member study's own config: an ordinary width-scaling study.
core::Config member_config(const core::Config& family) {
  core::Config c = family;
  c.validation.study = "width_scaling";
  return c;
}

std::vector<FamilyMember> proportional_members(const core::Config& config, const core::Dataset& pool) {
  std::vector<FamilyMember> out;
  for (const double alpha : config.validation.alphas) {
    for (const Eigen::Index N : config.validation.widths) {
      const auto P = static_cast<Eigen::Index>(std::llround(alpha * static_cast<double>(N)));
      if (P < 1 || P > pool.size())
        throw ConfigError("validation.alphas = " + list_text(config.validation.alphas) + ": alpha = " +
                          number(alpha) + " at N = " + std::to_string(N) + " gives P = " + std::to_string(P) +
                          " points, but the data set (its pool, data.points) has " + std::to_string(pool.size()) +
                          ": P must lie in [1, " + std::to_string(pool.size()) + "]");
      FamilyMember m;
      m.config = member_config(config);
      m.config.validation.widths = {N};
      m.data = {pool.inputs.topRows(P), pool.targets.topRows(P), pool.name};
      m.alpha = alpha;
      m.g_ratio = kNaN;
      m.bias_variance = config.model.bias_variance;
      m.g = config.model.g.front();
      m.label = "alpha=" + number(alpha) + " N=" + std::to_string(N);
      out.push_back(std::move(m));
    }
  }
  return out;
}

std::vector<FamilyMember> criticality_members(const core::Config& config, const core::Dataset& pool) {
  const core::CriticalitySettings& grid = config.criticality;
  const std::vector<double> ratios = theory::log_spaced_ratios(grid.g_min_ratio, grid.g_max_ratio, grid.g_points);
  std::vector<FamilyMember> out;
  for (const double bias : grid.bias_variances) {
    const double g_c = theory::edge_of_chaos_g(config.model.activation, bias);
    if (!std::isfinite(g_c) || g_c <= 0.0)
      throw ConfigError("criticality.bias_variances = " + list_text(grid.bias_variances) +
                        ": no edge of chaos for model.activation = " +
                        std::string(core::activation_name(config.model.activation)) + " at sigma_b^2 = " +
                        number(bias));
    for (const double ratio : ratios) {
      FamilyMember m;
      m.config = member_config(config);
      m.config.model.bias_variance = bias;
      m.config.model.g = {ratio * g_c};
      m.data = pool;
      m.alpha = kNaN;
      m.g_ratio = ratio;
      m.bias_variance = bias;
      m.g = ratio * g_c;
      m.label = "sigma_b2=" + number(bias) + " g/g_c=" + number(ratio, "%.3g");
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace

bool is_study_family(const core::Config& config) { return config.validation.study != "width_scaling"; }

std::vector<FamilyMember> family_members(const core::Config& config, const core::Dataset& pool) {
  core::validate(config);
  if (config.validation.study == "proportional") return proportional_members(config, pool);
  if (config.validation.study == "criticality") return criticality_members(config, pool);
  throw ConfigError("validation.study = \"" + config.validation.study + "\": not a study family");
}

std::string unit_name(const FamilyUnit& unit) {
  return "member " + std::to_string(unit.member + 1) + " " + unit_name(unit.unit);
}

std::vector<FamilyUnit> family_units(const std::vector<FamilyMember>& members) {
  std::vector<FamilyUnit> out;
  for (std::size_t m = 0; m < members.size(); ++m) {
    for (const StudyUnit& u : study_units(members[m].config)) out.push_back({static_cast<Eigen::Index>(m), u});
  }
  return out;
}

std::vector<FamilyUnit> shard_family_units(const std::vector<FamilyUnit>& units, Eigen::Index index,
                                           Eigen::Index count) {
  const auto U = static_cast<Eigen::Index>(units.size());
  if (count < 1 || index < 1 || index > count || count > U)
    throw ConfigError("--shard " + std::to_string(index) + "/" + std::to_string(count) +
                      ": must be k/K with 1 <= k <= K <= " + std::to_string(U) + " (the study's units)");
  return {units.begin() + (index - 1) * U / count, units.begin() + index * U / count};
}

FamilyRecords compute_family_records(const core::Config& config, const std::vector<FamilyMember>& members,
                                     const std::vector<FamilyUnit>& units, Observer& observer,
                                     const std::vector<UnitStore*>& stores) {
  FamilyRecords out;
  out.config = config;
  for (std::size_t m = 0; m < members.size(); ++m) {
    std::vector<StudyUnit> mine;
    for (const FamilyUnit& u : units) {
      if (u.member == static_cast<Eigen::Index>(m)) mine.push_back(u.unit);
    }
    if (mine.empty()) {
      StudyRecords empty;
      empty.config = members[m].config;
      out.members.push_back(std::move(empty));
      continue;
    }
    UnitStore* store = m < stores.size() ? stores[m] : nullptr;
    out.members.push_back(compute_records(members[m].config, members[m].data, mine, observer, store));
  }
  return out;
}

FamilyRecords merge_family_records(const std::vector<FamilyRecords>& parts) {
  if (parts.empty()) throw DataError("merge: no parts to merge");
  FamilyRecords out;
  out.config = parts.front().config;
  for (std::size_t p = 1; p < parts.size(); ++p) {
    if (!(core::comparable_config(parts[p].config) == core::comparable_config(out.config)) ||
        parts[p].members.size() != parts.front().members.size())
      throw DataError("merge: part " + std::to_string(p + 1) + " was run with a different config than part 1");
  }
  for (std::size_t m = 0; m < parts.front().members.size(); ++m) {
    std::vector<StudyRecords> pieces;
    for (const FamilyRecords& part : parts) {
      if (!part.members[m].units.empty()) pieces.push_back(part.members[m]);
    }
    if (pieces.empty())
      throw DataError("merge: member " + std::to_string(m + 1) + " of the study has no records in any part");
    try {
      out.members.push_back(merge_records(pieces));
    } catch (const DataError& e) {
      throw DataError("member " + std::to_string(m + 1) + ": " + e.what());
    }
  }
  return out;
}

namespace {

FamilyLayer family_layer(const LayerValidation& lv, const PriorRecord& prior, const Eigen::VectorXd& u,
                         bool compared) {
  const auto li = static_cast<std::size_t>(lv.layer - 2);
  const double N = static_cast<double>(prior.width);
  FamilyLayer f;
  f.layer = lv.layer;
  f.compared = compared;
  f.measured = lv.target_adaptation;
  f.measured_se = lv.target_adaptation_se;
  // The full K×K covariance where the record holds it (chain studies, and their records
  // files), else the projection the prior unit accumulated (route studies).
  f.prior_fluctuation =
      N * (prior.covariance.empty() ? prior.target_variance[li] : u.dot(prior.covariance[li] * u));
  f.prior_fluctuation_se = f.prior_fluctuation * std::sqrt(2.0 / static_cast<double>(prior.networks - 1));
  for (const TheoryComparison& c : lv.comparisons) {
    if (c.quantity != "adaptation") continue;
    f.theories.push_back(c.theory);
    f.predicted.push_back(c.target_adaptation);
    f.z.push_back(f.measured_se > 0.0 ? (f.measured - c.target_adaptation) / f.measured_se : kNaN);
    f.consistent.push_back(c.consistent);
    if (c.theory == "nngp") f.resolved = !c.consistent;
  }
  return f;
}

std::vector<FamilyPoint> member_points(Eigen::Index member, const ValidationResult& result,
                                       const StudyRecords& records, const core::Dataset& data) {
  const Eigen::VectorXd u = target_functional(data.targets);  // uᵀx = ⟨X, T⟩, x = upper_triangle(X)
  std::vector<FamilyPoint> out;
  for (const WidthValidation& w : result.widths) {
    const auto prior = std::find_if(records.priors.begin(), records.priors.end(),
                                    [&](const PriorRecord& r) { return r.width == w.width; });
    FamilyPoint p{member, w.width, data.size(), {}};
    for (const LayerValidation& lv : w.layers) p.layers.push_back(family_layer(lv, *prior, u, w.compared));
    out.push_back(std::move(p));
  }
  return out;
}

std::string scaling_verdict(const DiscrepancyScaling& s) {
  std::ostringstream v;
  v << "alpha = " << number(s.alpha) << ", " << s.theory << ": ";
  if (s.widths.empty()) return v.str() + "no width passed the convergence gate";
  Eigen::Index resolved = 0;
  for (double z : s.z) resolved += std::abs(z) >= kResolvedSigmas ? 1 : 0;
  v << "relative discrepancy along the target";
  for (std::size_t i = 0; i < s.widths.size(); ++i)
    v << (i == 0 ? " " : ", ") << number(s.relative[i], "%.3f") << " +- " << number(s.relative_se[i], "%.3f")
      << " (z = " << number(s.z[i], "%.1f") << ", N = " << number(s.widths[i], "%.0f") << ")";
  v << "; resolved at >= " << number(kResolvedSigmas, "%.0f") << " sigma at " << resolved << " of "
    << s.widths.size() << " widths";
  if (!s.fit.valid()) return v.str() + "; N-dependence not fitted (fewer than 3 positive values)";
  v << "; fit N^b: b = " << number(s.fit.exponent, "%.2f") << " +- " << number(s.fit.exponent_se, "%.2f") << " ["
    << number(s.fit.exponent_low, "%.2f") << ", " << number(s.fit.exponent_high, "%.2f") << "]: ";
  if (s.fit.exponent_high < 0.0) v << "shrinks with N";
  else if (s.fit.exponent_low > 0.0) v << "grows with N";
  else v << "does not shrink with N (slope consistent with 0: an O(alpha) discrepancy)";
  return v.str();
}

std::vector<DiscrepancyScaling> proportional_scaling(const FamilyResult& r) {
  std::vector<DiscrepancyScaling> out;
  for (const double alpha : r.config.validation.alphas) {
    for (const std::string theory : {"fb", "one_loop", "exact_linear"}) {
      DiscrepancyScaling s;
      s.alpha = alpha;
      s.theory = theory;
      bool present = false;
      for (const FamilyPoint& p : r.points) {
        if (r.members[static_cast<std::size_t>(p.member)].alpha != alpha) continue;
        const FamilyLayer& top = p.layers.back();
        const double predicted = top.predicted_by(theory);
        if (!top.compared || std::isnan(predicted)) continue;
        present = true;
        s.widths.push_back(static_cast<double>(p.width));
        s.relative.push_back((top.measured - predicted) / std::abs(predicted));
        s.relative_se.push_back(top.measured_se / std::abs(predicted));
        s.z.push_back((top.measured - predicted) / top.measured_se);
      }
      if (!present && theory == "exact_linear") continue;
      s.fit = fit_power_law(s.widths, s.relative, s.relative_se);
      s.verdict = scaling_verdict(s);
      out.push_back(std::move(s));
    }
  }
  return out;
}

// "one_loop consistent at g/g_c = {0.5, 0.63}, not at {1.26}" for layer `li` of σ_b² `bias`,
// and ", not resolved at {…}" for the points where the adaptation itself is within MC error.
std::string theory_consistency(const FamilyResult& r, double bias, std::size_t li, const std::string& theory) {
  std::string yes, no, unresolved;
  for (const FamilyPoint& p : r.points) {
    const FamilyMember& m = r.members[static_cast<std::size_t>(p.member)];
    if (m.bias_variance != bias || !p.layers[li].compared) continue;
    const FamilyLayer& f = p.layers[li];
    for (std::size_t t = 0; t < f.theories.size(); ++t) {
      if (f.theories[t] != theory) continue;
      std::string& into = !f.consistent[t] ? no : f.resolved ? yes : unresolved;
      into += (into.empty() ? "" : ", ") + number(m.g_ratio, "%.3g");
    }
  }
  return theory + " consistent at g/g_c = {" + yes + "}, not at {" + no + "}" +
         (unresolved.empty() ? "" : ", not resolved at {" + unresolved + "}");
}

// Whether each layer adapts along (+) or against (−) the target at the largest g/g_c.
std::string deep_chaos_line(const FamilyResult& r, double bias) {
  const FamilyPoint* last = nullptr;
  for (const FamilyPoint& p : r.points) {
    const FamilyMember& m = r.members[static_cast<std::size_t>(p.member)];
    if (m.bias_variance == bias && (last == nullptr || m.g_ratio >= r.members[static_cast<std::size_t>(last->member)].g_ratio))
      last = &p;
  }
  std::ostringstream v;
  v << "sigma_b^2 = " << number(bias) << ", deepest in the chaotic phase (g/g_c = "
    << number(r.members[static_cast<std::size_t>(last->member)].g_ratio, "%.3g") << ", N = " << last->width << "):";
  for (const FamilyLayer& f : last->layers) {
    const double z = f.measured / f.measured_se;
    v << " layer " << f.layer << " " << number(f.measured, "%.3g") << " +- " << number(f.measured_se, "%.2g") << " ("
      << (z >= 3.0 ? "along the target" : z <= -3.0 ? "AGAINST the target" : "unresolved at 3 sigma") << ")";
  }
  return v.str();
}

std::vector<std::string> criticality_verdicts(const FamilyResult& r) {
  std::vector<std::string> out;
  for (const double bias : r.config.criticality.bias_variances) {
    const std::size_t layers = r.points.front().layers.size();
    for (std::size_t li = 0; li < layers; ++li) {
      out.push_back("sigma_b^2 = " + number(bias) + ", layer " + std::to_string(li + 2) + ": " +
                    theory_consistency(r, bias, li, "one_loop") + "; " + theory_consistency(r, bias, li, "fb"));
    }
    out.push_back(deep_chaos_line(r, bias));
  }
  return out;
}

}  // namespace

FamilyResult analyze_family(const FamilyRecords& records, const std::vector<FamilyMember>& members,
                            Observer& observer) {
  if (records.members.size() != members.size())
    throw DataError("analysis: the records hold " + std::to_string(records.members.size()) +
                    " members, the study has " + std::to_string(members.size()));
  FamilyResult r;
  r.config = records.config;
  r.study = records.config.validation.study;
  r.members = members;
  for (FamilyMember& m : r.members) m.data = {};
  r.dataset_name = members.empty() ? std::string() : members.front().data.name;
  for (std::size_t m = 0; m < members.size(); ++m) {
    r.results.push_back(analyze_records(records.members[m], members[m].data, observer));
    for (FamilyPoint& p : member_points(static_cast<Eigen::Index>(m), r.results.back(), records.members[m],
                                        members[m].data))
      r.points.push_back(std::move(p));
  }
  if (r.study == "proportional") {
    r.scaling = proportional_scaling(r);
    for (const DiscrepancyScaling& s : r.scaling) r.verdicts.push_back(s.verdict);
  } else {
    r.verdicts = criticality_verdicts(r);
  }
  return r;
}

FamilyResult run_family(const core::Config& config, const core::Dataset& pool, Observer& observer) {
  const std::vector<FamilyMember> members = family_members(config, pool);
  const FamilyRecords records = compute_family_records(config, members, family_units(members), observer);
  return analyze_family(records, members, observer);
}

double FamilyLayer::predicted_by(const std::string& theory) const {
  for (std::size_t t = 0; t < theories.size(); ++t) {
    if (theories[t] == theory) return predicted[t];
  }
  return kNaN;
}

}  // namespace kernelmc::validation
