#include "core/settings/sampler.hpp"

#include <array>
#include <cmath>
#include <sstream>
#include <string>

#include "core/detail/settings_rules.hpp"
#include "core/error.hpp"

namespace kernelmc::core {

using namespace detail;

constexpr std::array<NamedValue<SamplerKind>, 5> kSamplerKindNames = {{
    {SamplerKind::hmc, "hmc"},
    {SamplerKind::nuts, "nuts"},
    {SamplerKind::mala, "mala"},
    {SamplerKind::underdamped_langevin, "underdamped_langevin"},
    {SamplerKind::overdamped_langevin, "overdamped_langevin"}}};

std::string_view sampler_kind_name(SamplerKind kind) { return name_in(kSamplerKindNames, kind); }

namespace {

template <class T>
void require_sampler(bool ok, std::string_view field, const T& value, std::string_view rule) {
  if (ok) return;
  std::ostringstream msg;
  msg << std::boolalpha << "sampler." << field << " = " << value << ": " << rule;
  throw ConfigError(msg.str());
}

bool positive_finite(double x) { return std::isfinite(x) && x > 0.0; }

// Whether the sampler has a Metropolis acceptance statistic for dual averaging.
bool has_acceptance_statistic(const SamplerSettings& s) {
  switch (s.kind) {
    case SamplerKind::overdamped_langevin: return false;
    case SamplerKind::underdamped_langevin: return s.metropolis_correction;
    default: return true;
  }
}

}  // namespace

void validate(const SamplerSettings& s) {
  const int kind = static_cast<int>(s.kind);
  require_sampler(kind >= 0 && kind <= static_cast<int>(SamplerKind::overdamped_langevin), "kind", kind,
          "must be hmc, nuts, mala, underdamped_langevin or overdamped_langevin");
  const int metric = static_cast<int>(s.metric);
  require_sampler(metric == static_cast<int>(MetricKind::unit) || metric == static_cast<int>(MetricKind::diagonal),
          "metric", metric, "must be unit or diagonal");
  require_sampler(positive_finite(s.step_size), "step_size", s.step_size, "must be positive and finite");
  require_sampler(positive_finite(s.integration_time), "integration_time", s.integration_time,
          "must be positive and finite");
  require_sampler(s.max_tree_depth >= 1 && s.max_tree_depth <= 30, "max_tree_depth", s.max_tree_depth,
          "must be an integer in [1, 30]");
  require_sampler(s.max_energy_error > 0.0, "max_energy_error", s.max_energy_error,
          "must be positive (+inf disables the threshold)");
  require_sampler(positive_finite(s.friction), "friction", s.friction, "must be positive and finite");
  require_sampler(!s.adapt_step_size || has_acceptance_statistic(s), "adapt_step_size", s.adapt_step_size,
          std::string(sampler_kind_name(s.kind)) +
              (s.kind == SamplerKind::underdamped_langevin ? " without metropolis_correction" : "") +
              " has no acceptance statistic to adapt the step size to; set it false");
  require_sampler(s.target_accept > 0.0 && s.target_accept < 1.0, "target_accept", s.target_accept,
          "must lie in (0, 1)");
  require_sampler(positive_finite(s.adapt_gamma), "adapt_gamma", s.adapt_gamma, "must be positive and finite");
  require_sampler(s.adapt_kappa > 0.0 && s.adapt_kappa <= 1.0, "adapt_kappa", s.adapt_kappa,
          "must lie in (0, 1]");
  require_sampler(positive_finite(s.adapt_t0), "adapt_t0", s.adapt_t0, "must be positive and finite");
  require_sampler(s.adapt_init_buffer >= 0, "adapt_init_buffer", s.adapt_init_buffer, "must be >= 0");
  require_sampler(s.adapt_term_buffer >= 0, "adapt_term_buffer", s.adapt_term_buffer, "must be >= 0");
  require_sampler(s.adapt_base_window >= 2, "adapt_base_window", s.adapt_base_window,
          "must be >= 2 (a variance needs two draws)");
}


SamplerKind parse_sampler_kind(std::string_view name, std::string_view field) {
  return parse_in(kSamplerKindNames, name, field, "sampler");
}

constexpr std::array<NamedValue<MetricKind>, 2> kMetricKindNames = {{
    {MetricKind::unit, "unit"},
    {MetricKind::diagonal, "diagonal"}}};

std::string_view metric_kind_name(MetricKind kind) { return name_in(kMetricKindNames, kind); }

MetricKind parse_metric_kind(std::string_view name, std::string_view field) {
  return parse_in(kMetricKindNames, name, field, "metric");
}

}  // namespace kernelmc::core
