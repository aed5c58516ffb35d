#include "core/config.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "core/csv.hpp"
#include "core/error.hpp"

namespace kernelmc::core {

namespace {

std::string number_text(double value) { return format_double(value); }
std::string number_text(Eigen::Index value) { return std::to_string(value); }

template <class T>
std::string list_text(const std::vector<T>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += number_text(values[i]);
  }
  return out + "]";
}

std::string quote_text(std::string_view text) {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "\"" + std::string(...).
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

[[noreturn]] void fail(std::string_view field, const std::string& value, std::string_view rule) {
  throw ConfigError(std::string(field) + " = " + value + ": " + std::string(rule));
}

void require_positive(std::string_view field, Eigen::Index value) {
  if (value < 1) fail(field, number_text(value), "must be a positive integer");
}

void require_positive_entries(std::string_view field, const std::vector<Eigen::Index>& values) {
  for (Eigen::Index value : values) {
    if (value < 1) fail(field, list_text(values), "every entry must be a positive integer");
  }
}

void require_finite_positive(std::string_view field, double value) {
  if (!std::isfinite(value) || value <= 0.0) fail(field, number_text(value), "must be finite and > 0");
}

void require_finite_non_negative(std::string_view field, double value) {
  if (!std::isfinite(value) || value < 0.0) fail(field, number_text(value), "must be finite and >= 0");
}

// The data kinds make_dataset knows (DataSettings::kind).
constexpr std::array<std::string_view, 6> kDataKinds = {"xor",     "config_a", "config_b",
                                                        "teacher", "csv",      "fashion_mnist"};
constexpr std::array<std::string_view, 3> kReductions = {"none", "downsample", "pca"};
constexpr std::array<std::string_view, 3> kValidationStudies = {"width_scaling", "proportional",
                                                                "criticality"};

template <std::size_t n>
bool is_one_of(std::string_view value, const std::array<std::string_view, n>& names) {
  for (std::string_view name : names) {
    if (value == name) return true;
  }
  return false;
}

void validate_image_task(const DataSettings& s) {
  if (s.images_idx.empty()) fail("data.images_idx", "\"\"", "must name an IDX file");
  if (s.labels_idx.empty()) fail("data.labels_idx", "\"\"", "must name an IDX file");
  if (s.classes.size() != 2 || s.classes[0] == s.classes[1])
    fail("data.classes", list_text(s.classes), "needs two different labels");
  for (Eigen::Index label : s.classes) {
    if (label < 0) fail("data.classes", list_text(s.classes), "labels are non-negative integers");
  }
  if (!is_one_of(s.reduction, kReductions))
    fail("data.reduction", quote_text(s.reduction), "unknown reduction (expected none, downsample or pca)");
  require_positive("data.reduced_dim", s.reduced_dim);
}

}  // namespace

std::string_view four_point_method_name(FourPointMethod method) {
  switch (method) {
    case FourPointMethod::automatic: return "automatic";
    case FourPointMethod::quadrature: return "quadrature";
    case FourPointMethod::monte_carlo: return "monte_carlo";
  }
  return "unknown";
}

FourPointMethod parse_four_point_method(std::string_view name, std::string_view field) {
  for (FourPointMethod m :
       {FourPointMethod::automatic, FourPointMethod::quadrature, FourPointMethod::monte_carlo}) {
    if (name == four_point_method_name(m)) return m;
  }
  fail(field, quote_text(name), "unknown method (expected automatic, quadrature or monte_carlo)");
}

void validate(const ModelSettings& settings) {
  require_positive("model.depth", settings.depth);
  const auto L = static_cast<std::size_t>(settings.depth);
  if (settings.widths.size() != 1 && settings.widths.size() != L)
    fail("model.widths", list_text(settings.widths),
         "needs 1 value or L = " + std::to_string(L) + " values (one per hidden layer)");
  require_positive_entries("model.widths", settings.widths);
  // Activation is an enum: any value that exists is valid, but a cast can forge one.
  if (activation_name(settings.activation) == "unknown")
    fail("model.activation", std::to_string(static_cast<int>(settings.activation)),
         "unknown activation");
  if (settings.g.size() != 1 && settings.g.size() != L + 1)
    fail("model.g", list_text(settings.g),
         "needs 1 value or L+1 = " + std::to_string(L + 1) + " values (one per layer)");
  for (double g : settings.g) {
    if (!std::isfinite(g) || g <= 0.0)
      fail("model.g", list_text(settings.g), "every entry must be finite and > 0");
  }
  require_finite_non_negative("model.bias_variance", settings.bias_variance);
  require_finite_positive("model.kappa", settings.kappa);
}

void validate(const DataSettings& settings) {
  if (!is_one_of(settings.kind, kDataKinds))
    fail("data.kind", quote_text(settings.kind),
         "unknown kind (expected xor, config_a, config_b, teacher, csv or fashion_mnist)");
  require_positive("data.points", settings.points);
  require_positive("data.input_dim", settings.input_dim);
  // The XOR centres (±1, ±1, 0, …) need two coordinates.
  if (settings.kind == "xor" && settings.input_dim < 2)
    fail("data.input_dim", number_text(settings.input_dim), "xor needs at least 2 dimensions");
  require_finite_non_negative("data.noise", settings.noise);
  require_positive("data.teacher_width", settings.teacher_width);
  if (activation_name(settings.teacher_activation) == "unknown")
    fail("data.teacher_activation", std::to_string(static_cast<int>(settings.teacher_activation)),
         "unknown activation");
  if (settings.kind == "csv") {
    if (settings.inputs_csv.empty())
      fail("data.inputs_csv", "\"\"", "must name a file when data.kind = \"csv\"");
    if (settings.targets_csv.empty())
      fail("data.targets_csv", "\"\"", "must name a file when data.kind = \"csv\"");
  }
  if (settings.kind == "fashion_mnist") validate_image_task(settings);
}

void validate(const PriorStudySettings& settings) {
  if (settings.widths.empty()) fail("prior.widths", "[]", "needs at least one width");
  require_positive_entries("prior.widths", settings.widths);
  // A covariance estimate needs two networks.
  if (settings.networks < 2)
    fail("prior.networks", number_text(settings.networks), "must be at least 2");
}

void validate(const TheorySettings& settings) {
  if (!std::isfinite(settings.quadrature_tolerance) || settings.quadrature_tolerance <= 0.0 ||
      settings.quadrature_tolerance >= 1.0)
    fail("theory.quadrature_tolerance", number_text(settings.quadrature_tolerance),
         "must be > 0 and < 1");
  if (four_point_method_name(settings.four_point) == "unknown")
    fail("theory.four_point", std::to_string(static_cast<int>(settings.four_point)),
         "unknown method");
  require_positive("theory.four_point_nodes", settings.four_point_nodes);
  require_positive("theory.quadrature_max_points", settings.quadrature_max_points);
  // The Monte Carlo error estimate needs two draws.
  if (settings.four_point_samples < 2)
    fail("theory.four_point_samples", number_text(settings.four_point_samples),
         "must be at least 2");
}

std::string_view sampler_kind_name(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::hmc: return "hmc";
    case SamplerKind::nuts: return "nuts";
    case SamplerKind::mala: return "mala";
    case SamplerKind::underdamped_langevin: return "underdamped_langevin";
    case SamplerKind::overdamped_langevin: return "overdamped_langevin";
  }
  return "unknown";
}

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
  for (SamplerKind k : {SamplerKind::hmc, SamplerKind::nuts, SamplerKind::mala,
                        SamplerKind::underdamped_langevin, SamplerKind::overdamped_langevin}) {
    if (name == sampler_kind_name(k)) return k;
  }
  fail(field, quote_text(name),
       "unknown sampler (expected hmc, nuts, mala, underdamped_langevin or overdamped_langevin)");
}

std::string_view metric_kind_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::unit: return "unit";
    case MetricKind::diagonal: return "diagonal";
  }
  return "unknown";
}

MetricKind parse_metric_kind(std::string_view name, std::string_view field) {
  for (MetricKind k : {MetricKind::unit, MetricKind::diagonal}) {
    if (name == metric_kind_name(k)) return k;
  }
  fail(field, quote_text(name), "unknown metric (expected unit or diagonal)");
}

std::string_view posterior_form_name(PosteriorForm form) {
  switch (form) {
    case PosteriorForm::full: return "full";
    case PosteriorForm::collapsed: return "collapsed";
  }
  return "unknown";
}

PosteriorForm parse_posterior_form(std::string_view name, std::string_view field) {
  for (PosteriorForm f : {PosteriorForm::full, PosteriorForm::collapsed}) {
    if (name == posterior_form_name(f)) return f;
  }
  fail(field, quote_text(name), "unknown form (expected full or collapsed)");
}

std::string_view posterior_route_name(PosteriorRoute route) {
  switch (route) {
    case PosteriorRoute::automatic: return "auto";
    case PosteriorRoute::importance: return "importance";
    case PosteriorRoute::smc: return "smc";
    case PosteriorRoute::chains: return "chains";
  }
  return "unknown";
}

PosteriorRoute parse_posterior_route(std::string_view name, std::string_view field) {
  for (PosteriorRoute r : {PosteriorRoute::automatic, PosteriorRoute::importance, PosteriorRoute::smc,
                           PosteriorRoute::chains}) {
    if (name == posterior_route_name(r)) return r;
  }
  fail(field, quote_text(name), "unknown route (expected auto, importance, smc or chains)");
}

std::string_view cross_check_route_name(CrossCheckRoute route) {
  switch (route) {
    case CrossCheckRoute::none: return "none";
    case CrossCheckRoute::importance: return "importance";
    case CrossCheckRoute::smc: return "smc";
    case CrossCheckRoute::chains: return "chains";
  }
  return "unknown";
}

CrossCheckRoute parse_cross_check_route(std::string_view name, std::string_view field) {
  for (CrossCheckRoute r : {CrossCheckRoute::none, CrossCheckRoute::importance, CrossCheckRoute::smc,
                            CrossCheckRoute::chains}) {
    if (name == cross_check_route_name(r)) return r;
  }
  fail(field, quote_text(name), "unknown route (expected none, importance, smc or chains)");
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

std::string_view tilt_method_name(TiltMethod method) {
  switch (method) {
    case TiltMethod::automatic: return "automatic";
    case TiltMethod::linear_closed_form: return "linear_closed_form";
    case TiltMethod::first_order: return "first_order";
    case TiltMethod::quadrature: return "quadrature";
    case TiltMethod::importance_sampling: return "importance_sampling";
  }
  return "unknown";
}

TiltMethod parse_tilt_method(std::string_view name, std::string_view field) {
  for (TiltMethod m : {TiltMethod::automatic, TiltMethod::linear_closed_form, TiltMethod::first_order,
                       TiltMethod::quadrature, TiltMethod::importance_sampling}) {
    if (name == tilt_method_name(m)) return m;
  }
  fail(field, quote_text(name),
       "unknown method (expected automatic, linear_closed_form, first_order, quadrature or "
       "importance_sampling)");
}

std::string_view tilt_gradient_form_name(TiltGradientForm form) {
  switch (form) {
    case TiltGradientForm::automatic: return "automatic";
    case TiltGradientForm::price: return "price";
    case TiltGradientForm::score: return "score";
  }
  return "unknown";
}

TiltGradientForm parse_tilt_gradient_form(std::string_view name, std::string_view field) {
  for (TiltGradientForm f : {TiltGradientForm::automatic, TiltGradientForm::price, TiltGradientForm::score}) {
    if (name == tilt_gradient_form_name(f)) return f;
  }
  fail(field, quote_text(name), "unknown form (expected automatic, price or score)");
}

void validate(const FbSettings& s) {
  if (tilt_method_name(s.method) == "unknown")
    fail("theory.fb.method", std::to_string(static_cast<int>(s.method)), "is not a TiltMethod");
  if (tilt_gradient_form_name(s.gradient_form) == "unknown")
    fail("theory.fb.gradient_form", std::to_string(static_cast<int>(s.gradient_form)),
         "is not a TiltGradientForm");
  if (!(s.damping > 0.0 && s.damping <= 1.0))
    fail("theory.fb.damping", number_text(s.damping), "must lie in (0, 1]");
  if (!(s.tolerance > 0.0 && s.tolerance < 1.0))
    fail("theory.fb.tolerance", number_text(s.tolerance), "must lie in (0, 1)");
  if (s.max_iterations < 1)
    fail("theory.fb.max_iterations", std::to_string(s.max_iterations), "must be a positive integer");
  if (s.importance_samples < 2 * kImportanceBatches)
    fail("theory.fb.importance_samples", number_text(s.importance_samples),
         "must be >= " + std::to_string(2 * kImportanceBatches) + " (" +
             std::to_string(kImportanceBatches) + " batches of at least 2 draws)");
  if (s.quadrature_nodes < 3 || s.quadrature_nodes > 64)
    fail("theory.fb.quadrature_nodes", number_text(s.quadrature_nodes),
         "must lie in 3..64 (the error estimate uses a coarse rule of ceil(2n/3) >= 2 nodes)");
  require_finite_positive("theory.fb.pair_tolerance", s.pair_tolerance);
}

void validate(const CriticalitySettings& s) {
  require_finite_positive("criticality.g_min_ratio", s.g_min_ratio);
  require_finite_positive("criticality.g_max_ratio", s.g_max_ratio);
  if (s.g_max_ratio <= s.g_min_ratio)
    fail("criticality.g_max_ratio", number_text(s.g_max_ratio),
         "must exceed criticality.g_min_ratio = " + number_text(s.g_min_ratio));
  if (s.g_points < 2)
    fail("criticality.g_points", number_text(s.g_points), "must be at least 2 (a grid has two ends)");
  if (s.bias_variances.empty()) fail("criticality.bias_variances", "[]", "needs at least one value");
  for (double b : s.bias_variances) {
    if (!std::isfinite(b) || b < 0.0)
      fail("criticality.bias_variances", list_text(s.bias_variances), "every entry must be finite and >= 0");
  }
}

void validate(const ValidationSettings& s) {
  if (!is_one_of(s.study, kValidationStudies))
    fail("validation.study", quote_text(s.study),
         "unknown study (expected width_scaling, proportional or criticality)");
  if (s.alphas.empty()) fail("validation.alphas", "[]", "needs at least one value");
  for (double alpha : s.alphas) {
    if (!std::isfinite(alpha) || alpha <= 0.0)
      fail("validation.alphas", list_text(s.alphas), "every entry must be finite and > 0");
  }
  if (s.widths.empty()) fail("validation.widths", "[]", "needs at least one width");
  require_positive_entries("validation.widths", s.widths);
  if (s.prior_networks < 2)
    fail("validation.prior_networks", number_text(s.prior_networks), "must be at least 2");
  if (s.bootstrap_resamples < 2)
    fail("validation.bootstrap_resamples", number_text(s.bootstrap_resamples), "must be at least 2");
  if (!(s.confidence_level > 0.0 && s.confidence_level < 1.0))
    fail("validation.confidence_level", number_text(s.confidence_level), "must lie in (0, 1)");
  if (!(s.false_alarm_rate > 0.0 && s.false_alarm_rate < 1.0))
    fail("validation.false_alarm_rate", number_text(s.false_alarm_rate), "must lie in (0, 1)");
}

void validate(const RunSettings& settings) {
  // TOML integers are signed 64-bit; a larger seed could not be written back.
  if (settings.seed > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    fail("run.seed", std::to_string(settings.seed), "must be at most 2^63 - 1");
  if (settings.threads < 0)
    fail("run.threads", std::to_string(settings.threads), "must be >= 0 (0 = OpenMP's default)");
  if (settings.output_dir.empty()) fail("run.output_dir", "\"\"", "must not be empty");
}

void validate(const Config& config) {
  validate(config.model);
  validate(config.data);
  validate(config.prior);
  validate(config.theory);
  validate(config.sampler);
  validate(config.posterior);
  validate(config.fb);
  validate(config.criticality);
  validate(config.validation);
  validate(config.run);
}

ModelSpec resolve_model(const ModelSettings& settings, Eigen::Index input_dim,
                        Eigen::Index output_dim) {
  validate(settings);
  const auto L = static_cast<std::size_t>(settings.depth);
  ModelSpec spec;
  spec.input_dim = input_dim;
  spec.widths = settings.widths.size() == 1 ? std::vector<Eigen::Index>(L, settings.widths[0])
                                            : settings.widths;
  spec.activation = settings.activation;
  spec.weight_variances =
      settings.g.size() == 1 ? std::vector<double>(L + 1, settings.g[0]) : settings.g;
  spec.bias_variance = settings.bias_variance;
  spec.kappa = settings.kappa;
  spec.output_dim = output_dim;
  validate(spec);
  return spec;
}

}  // namespace kernelmc::core
