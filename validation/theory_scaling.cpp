#include "validation/theory_scaling.hpp"

#include <algorithm>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>
#include <limits>

#include "core/rng.hpp"
#include "validation/verdicts.hpp"

namespace kernelmc::validation {

namespace {

// One (layer index, theory, quantity) scaled across widths.
struct ScalingKey {
  std::size_t li = 0;
  std::string theory;
  std::string quantity;
};

// The indices of the widths that passed the gate.
std::vector<std::size_t> compared_widths(const ValidationResult& r) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < r.widths.size(); ++i)
    if (r.widths[i].compared) out.push_back(i);
  return out;
}

// Every (layer, theory, quantity) compared at some width, in order of first appearance.
std::vector<ScalingKey> scaling_keys(const ValidationResult& r, const std::vector<std::size_t>& compared) {
  std::vector<ScalingKey> keys;
  for (const std::size_t wi : compared) {
    for (std::size_t li = 0; li < r.widths[wi].layers.size(); ++li) {
      for (const TheoryComparison& c : r.widths[wi].layers[li].comparisons) {
        const bool known = std::any_of(keys.begin(), keys.end(), [&](const ScalingKey& k) {
          return k.li == li && k.theory == c.theory && k.quantity == c.quantity;
        });
        if (!known) keys.push_back({li, c.theory, c.quantity});
      }
    }
  }
  return keys;
}

const TheoryComparison* comparison_at(const ValidationResult& r, std::size_t wi, const ScalingKey& k) {
  return find_comparison(r.widths[wi].layers[k.li].comparisons, k.theory, k.quantity);
}

// The power-law fit inputs of one key: widths, excess discrepancies and their SEs.
struct ScalingPoints {
  std::vector<double> widths, values, errors;
};

// One bootstrap resample of a width's records: its chains drawn with repetition
// (posterior.route = chains; the prior unit kept), or its route's replicates drawn with
// repetition.
struct WidthResample {
  const WidthRecords* records = nullptr;
  std::vector<const ChainRecord*> chains;
  std::vector<Eigen::Index> replicates;
  LayerEstimates estimates(std::size_t li) const {
    if (records->route != nullptr) return route_estimates(resampled_route_estimate(*records->route, li, replicates));
    return chain_estimates(chains, *records->prior, li);
  }
};

WidthResample resample_width(const WidthRecords& wr, Eigen::Index chains, core::Engine& engine) {
  WidthResample out;
  out.records = &wr;
  if (wr.route != nullptr) {
    const Eigen::Index R = wr.route->posterior_replicates.front().cols();
    boost::random::uniform_int_distribution<Eigen::Index> pick(0, R - 1);
    for (Eigen::Index i = 0; i < R; ++i) out.replicates.push_back(pick(engine));
    return out;
  }
  boost::random::uniform_int_distribution<Eigen::Index> pick(0, chains - 1);
  for (Eigen::Index c = 0; c < chains; ++c) out.chains.push_back(wr.chains[static_cast<std::size_t>(pick(engine))]);
  return out;
}

// The exponent of every key's fit on bootstrap replicate b (NaN where the fit is not valid).
std::vector<double> replicate_exponents(const ValidationResult& r, const std::map<Eigen::Index, WidthRecords>& records,
                                        const std::vector<std::size_t>& compared, const std::vector<ScalingKey>& keys,
                                        Eigen::Index b) {
  core::Engine engine =
      core::make_stream(r.config.run.seed, core::StreamPurpose::bootstrap, 0, static_cast<std::uint64_t>(b));
  std::vector<ScalingPoints> points(keys.size());
  for (const std::size_t wi : compared) {
    const WidthValidation& w = r.widths[wi];
    const WidthResample resample = resample_width(records.at(w.width), r.config.posterior.chains, engine);
    for (std::size_t li = 0; li < w.layers.size(); ++li) {
      const LayerEstimates e = resample.estimates(li);
      for (std::size_t k = 0; k < keys.size(); ++k) {
        const TheoryComparison* tc = keys[k].li == li ? comparison_at(r, wi, keys[k]) : nullptr;
        if (tc == nullptr) continue;
        points[k].widths.push_back(static_cast<double>(w.width));
        points[k].values.push_back(excess_frobenius(tc->quantity == "adaptation" ? e.adaptation : e.posterior, *tc));
        points[k].errors.push_back(tc->frobenius_se);
      }
    }
  }
  std::vector<double> exponents;
  for (const ScalingPoints& p : points) {
    const PowerLawFit fit = fit_power_law(p.widths, p.values, p.errors);
    exponents.push_back(fit.valid() ? fit.exponent : std::numeric_limits<double>::quiet_NaN());
  }
  return exponents;
}

// [key]: the valid bootstrap exponents, sorted.
std::vector<std::vector<double>> bootstrap_exponents(const ValidationResult& r,
                                                     const std::map<Eigen::Index, WidthRecords>& records,
                                                     const std::vector<std::size_t>& compared,
                                                     const std::vector<ScalingKey>& keys) {
  std::vector<std::vector<double>> out(keys.size());
  const Eigen::Index B = r.config.validation.bootstrap_resamples;
  if (compared.size() < 3 || B <= 0) return out;
  std::vector<std::vector<double>> fits(static_cast<std::size_t>(B));
#pragma omp parallel for schedule(dynamic, 16)
  for (Eigen::Index b = 0; b < B; ++b)
    fits[static_cast<std::size_t>(b)] = replicate_exponents(r, records, compared, keys, b);
  for (const std::vector<double>& fit : fits) {
    for (std::size_t k = 0; k < keys.size(); ++k)
      if (!std::isnan(fit[k])) out[k].push_back(fit[k]);
  }
  for (std::vector<double>& e : out) std::sort(e.begin(), e.end());
  return out;
}

TheoryScaling scale_key(const ValidationResult& r, const std::vector<std::size_t>& compared, const ScalingKey& key,
                        const std::vector<double>& sorted_exponents) {
  TheoryScaling s;
  s.layer = static_cast<Eigen::Index>(key.li) + 2;
  s.theory = key.theory;
  s.quantity = key.quantity;
  ScalingPoints points;
  std::vector<bool> consistent;
  for (const std::size_t wi : compared) {
    const TheoryComparison* tc = comparison_at(r, wi, key);
    if (tc == nullptr) continue;
    s.widths.push_back(r.widths[wi].width);
    points.widths.push_back(static_cast<double>(r.widths[wi].width));
    points.values.push_back(tc->excess_frobenius);
    points.errors.push_back(tc->frobenius_se);
    consistent.push_back(tc->consistent);
    const TheoryComparison* nngp = comparison_at(r, wi, {key.li, "nngp", key.quantity});
    if (nngp != nullptr && nngp->consistent) s.unresolved_widths.push_back(r.widths[wi].width);
  }
  s.fit = fit_power_law(points.widths, points.values, points.errors);
  const double cl = r.config.validation.confidence_level;
  s.bootstrap_valid = static_cast<Eigen::Index>(sorted_exponents.size());
  if (!sorted_exponents.empty()) {
    s.bootstrap_low = quantile(sorted_exponents, (1.0 - cl) / 2.0);
    s.bootstrap_high = quantile(sorted_exponents, (1.0 + cl) / 2.0);
  }
  for (std::size_t i = s.widths.size(); i-- > 0;) {
    if (!consistent[i]) break;
    s.consistent_from = s.widths[i];
  }
  s.verdict = verdict_text(s);
  return s;
}

}  // namespace

std::vector<TheoryScaling> scale_theories(const ValidationResult& result,
                                          const std::map<Eigen::Index, WidthRecords>& records) {
  const std::vector<std::size_t> compared = compared_widths(result);
  const std::vector<ScalingKey> keys = scaling_keys(result, compared);
  const std::vector<std::vector<double>> exponents = bootstrap_exponents(result, records, compared, keys);
  std::vector<TheoryScaling> out;
  for (std::size_t k = 0; k < keys.size(); ++k) out.push_back(scale_key(result, compared, keys[k], exponents[k]));
  return out;
}

}  // namespace kernelmc::validation
