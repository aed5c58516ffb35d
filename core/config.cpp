#include "core/config.hpp"

#include <array>
#include <cmath>
#include <limits>
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
constexpr std::array<std::string_view, 5> kDataKinds = {"xor", "config_a", "config_b", "teacher",
                                                        "csv"};

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
  bool known = false;
  for (std::string_view kind : kDataKinds) known = known || settings.kind == kind;
  if (!known)
    fail("data.kind", quote_text(settings.kind),
         "unknown kind (expected xor, config_a, config_b, teacher or csv)");
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
