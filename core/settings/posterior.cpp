#include "core/settings/posterior.hpp"

#include <array>
#include <cmath>
#include <string>

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

constexpr std::array<NamedValue<PosteriorForm>, 2> kPosteriorFormNames = {{
    {PosteriorForm::full, "full"},
    {PosteriorForm::collapsed, "collapsed"}}};

std::string_view posterior_form_name(PosteriorForm form) { return name_in(kPosteriorFormNames, form); }

PosteriorForm parse_posterior_form(std::string_view name, std::string_view field) {
  return parse_in(kPosteriorFormNames, name, field, "form");
}

constexpr std::array<NamedValue<PosteriorRoute>, 4> kPosteriorRouteNames = {{
    {PosteriorRoute::automatic, "auto"},
    {PosteriorRoute::importance, "importance"},
    {PosteriorRoute::smc, "smc"},
    {PosteriorRoute::chains, "chains"}}};

std::string_view posterior_route_name(PosteriorRoute route) { return name_in(kPosteriorRouteNames, route); }

PosteriorRoute parse_posterior_route(std::string_view name, std::string_view field) {
  return parse_in(kPosteriorRouteNames, name, field, "route");
}

constexpr std::array<NamedValue<CrossCheckRoute>, 4> kCrossCheckRouteNames = {{
    {CrossCheckRoute::none, "none"},
    {CrossCheckRoute::importance, "importance"},
    {CrossCheckRoute::smc, "smc"},
    {CrossCheckRoute::chains, "chains"}}};

std::string_view cross_check_route_name(CrossCheckRoute route) {
  return name_in(kCrossCheckRouteNames, route);
}

CrossCheckRoute parse_cross_check_route(std::string_view name, std::string_view field) {
  return parse_in(kCrossCheckRouteNames, name, field, "route");
}

namespace {

// The importance and SMC fields of [posterior].
void validate_posterior_routes(const PosteriorSettings& s) {
  if (posterior_route_name(s.route) == "unknown")
    fail("posterior.route", std::to_string(static_cast<int>(s.route)), "must be auto, importance, smc or chains");
  if (cross_check_route_name(s.cross_check) == "unknown")
    fail("posterior.cross_check", std::to_string(static_cast<int>(s.cross_check)),
         "must be none, importance, smc or chains");
  if (s.importance_networks < 2) fail("posterior.importance_networks", number_text(s.importance_networks), "must be at least 2");
  if (s.importance_batches < 2 || s.importance_batches > s.importance_networks)
    fail("posterior.importance_batches", number_text(s.importance_batches),
         "must lie in [2, posterior.importance_networks = " + number_text(s.importance_networks) +
             "] (batch means need two batches)");
  if (s.smc_particles < 2) fail("posterior.smc_particles", number_text(s.smc_particles), "must be at least 2");
  if (s.smc_replicates < 2)
    fail("posterior.smc_replicates", number_text(s.smc_replicates), "must be at least 2 (the errors come from independent runs)");
  if (!(s.smc_ess_fraction > 0.0 && s.smc_ess_fraction < 1.0))
    fail("posterior.smc_ess_fraction", number_text(s.smc_ess_fraction), "must lie in (0, 1)");
  require_positive("posterior.smc_rejuvenation_steps", s.smc_rejuvenation_steps);
  if (s.smc_move != SamplerKind::hmc && s.smc_move != SamplerKind::mala)
    fail("posterior.smc_move", std::string(sampler_kind_name(s.smc_move)), "must be hmc or mala");
  if (!(s.smc_step_size > 0.0 && std::isfinite(s.smc_step_size)))
    fail("posterior.smc_step_size", number_text(s.smc_step_size), "must be positive and finite");
  if (!(s.smc_integration_time > 0.0 && std::isfinite(s.smc_integration_time)))
    fail("posterior.smc_integration_time", number_text(s.smc_integration_time), "must be positive and finite");
  if (!(s.smc_target_accept > 0.0 && s.smc_target_accept < 1.0))
    fail("posterior.smc_target_accept", number_text(s.smc_target_accept), "must lie in (0, 1)");
}

}  // namespace

void validate(const PosteriorSettings& s) {
  validate_posterior_routes(s);
  require_positive("posterior.chains", s.chains);
  if (s.warmup < 0) fail("posterior.warmup", number_text(s.warmup), "must be >= 0");
  require_positive("posterior.draws", s.draws);
  require_positive("posterior.thin", s.thin);
  if (posterior_form_name(s.form) == "unknown")
    fail("posterior.form", std::to_string(static_cast<int>(s.form)), "must be full or collapsed");
  if (s.batches < 1 || s.batches > s.draws)
    fail("posterior.batches", number_text(s.batches),
         "must lie in [1, posterior.draws = " + number_text(s.draws) + "]");
  if (s.batches * s.chains < 2)
    fail("posterior.batches", number_text(s.batches),
         "batches × chains must be at least 2 (a standard error needs two batch means)");
  require_finite_non_negative("posterior.max_entry_draw_values", s.max_entry_draw_values);
  for (Eigen::Index l : s.draw_layers) {
    if (l < 2) fail("posterior.draw_layers", list_text(s.draw_layers), "layers are numbered 2..L+1");
  }
}

}  // namespace kernelmc::core
