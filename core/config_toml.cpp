// TOML loading, `--set section.key=value` overrides and TOML/JSON writing of Config
// (STYLE.md §5). One field list per section (visit_fields) drives reading, writing and
// the unknown-key check, so the three can never disagree.
#include <array>
#include <concepts>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>

#include <toml++/toml.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/json_io.hpp"

namespace kernelmc::core {

namespace {

template <class S, class T>
concept SectionOf = std::same_as<std::remove_const_t<S>, T>;

// The fields of each section, in the order of its core/settings/ header; keys = field names.
template <class S, class V>
  requires SectionOf<S, ModelSettings>
void visit_fields(S& s, V&& visit) {
  visit("depth", s.depth);
  visit("widths", s.widths);
  visit("activation", s.activation);
  visit("g", s.g);
  visit("bias_variance", s.bias_variance);
  visit("kappa", s.kappa);
}

template <class S, class V>
  requires SectionOf<S, DataSettings>
void visit_fields(S& s, V&& visit) {
  visit("kind", s.kind);
  visit("points", s.points);
  visit("input_dim", s.input_dim);
  visit("noise", s.noise);
  visit("teacher_width", s.teacher_width);
  visit("teacher_activation", s.teacher_activation);
  visit("inputs_csv", s.inputs_csv);
  visit("targets_csv", s.targets_csv);
  visit("csv_header", s.csv_header);
  visit("images_idx", s.images_idx);
  visit("labels_idx", s.labels_idx);
  visit("classes", s.classes);
  visit("reduction", s.reduction);
  visit("reduced_dim", s.reduced_dim);
  visit("standardize", s.standardize);
  visit("subset_seed", s.subset_seed);
}

template <class S, class V>
  requires SectionOf<S, PriorStudySettings>
void visit_fields(S& s, V&& visit) {
  visit("widths", s.widths);
  visit("networks", s.networks);
}

template <class S, class V>
  requires SectionOf<S, TheorySettings>
void visit_fields(S& s, V&& visit) {
  visit("quadrature_tolerance", s.quadrature_tolerance);
  visit("four_point", s.four_point);
  visit("four_point_nodes", s.four_point_nodes);
  visit("quadrature_max_points", s.quadrature_max_points);
  visit("four_point_samples", s.four_point_samples);
}

template <class S, class V>
  requires SectionOf<S, SamplerSettings>
void visit_fields(S& s, V&& visit) {
  visit("kind", s.kind);
  visit("metric", s.metric);
  visit("step_size", s.step_size);
  visit("integration_time", s.integration_time);
  visit("max_tree_depth", s.max_tree_depth);
  visit("max_energy_error", s.max_energy_error);
  visit("friction", s.friction);
  visit("metropolis_correction", s.metropolis_correction);
  visit("adapt_step_size", s.adapt_step_size);
  visit("target_accept", s.target_accept);
  visit("adapt_gamma", s.adapt_gamma);
  visit("adapt_kappa", s.adapt_kappa);
  visit("adapt_t0", s.adapt_t0);
  visit("adapt_init_buffer", s.adapt_init_buffer);
  visit("adapt_term_buffer", s.adapt_term_buffer);
  visit("adapt_base_window", s.adapt_base_window);
}

template <class S, class V>
  requires SectionOf<S, PosteriorSettings>
void visit_fields(S& s, V&& visit) {
  visit("chains", s.chains);
  visit("warmup", s.warmup);
  visit("draws", s.draws);
  visit("thin", s.thin);
  visit("form", s.form);
  visit("draw_readout", s.draw_readout);
  visit("batches", s.batches);
  visit("max_entry_draw_values", s.max_entry_draw_values);
  visit("write_draws", s.write_draws);
  visit("draw_layers", s.draw_layers);
  visit("route", s.route);
  visit("cross_check", s.cross_check);
  visit("importance_networks", s.importance_networks);
  visit("importance_batches", s.importance_batches);
  visit("smc_particles", s.smc_particles);
  visit("smc_replicates", s.smc_replicates);
  visit("smc_ess_fraction", s.smc_ess_fraction);
  visit("smc_rejuvenation_steps", s.smc_rejuvenation_steps);
  visit("smc_move", s.smc_move);
  visit("smc_step_size", s.smc_step_size);
  visit("smc_integration_time", s.smc_integration_time);
  visit("smc_target_accept", s.smc_target_accept);
}

template <class S, class V>
  requires SectionOf<S, FbSettings>
void visit_fields(S& s, V&& visit) {
  visit("method", s.method);
  visit("damping", s.damping);
  visit("tolerance", s.tolerance);
  visit("max_iterations", s.max_iterations);
  visit("newton", s.newton);
  visit("homotopy", s.homotopy);
  visit("importance_samples", s.importance_samples);
  visit("quadrature_nodes", s.quadrature_nodes);
  visit("seed", s.seed);
  visit("gradient_form", s.gradient_form);
  visit("exact_first_order", s.exact_first_order);
  visit("pair_tolerance", s.pair_tolerance);
  visit("estimate_errors", s.estimate_errors);
}

template <class S, class V>
  requires SectionOf<S, CriticalitySettings>
void visit_fields(S& s, V&& visit) {
  visit("g_min_ratio", s.g_min_ratio);
  visit("g_max_ratio", s.g_max_ratio);
  visit("g_points", s.g_points);
  visit("bias_variances", s.bias_variances);
}

template <class S, class V>
  requires SectionOf<S, ValidationSettings>
void visit_fields(S& s, V&& visit) {
  visit("study", s.study);
  visit("alphas", s.alphas);
  visit("widths", s.widths);
  visit("prior_networks", s.prior_networks);
  visit("bootstrap_resamples", s.bootstrap_resamples);
  visit("confidence_level", s.confidence_level);
  visit("false_alarm_rate", s.false_alarm_rate);
  visit("figures", s.figures);
}

template <class S, class V>
  requires SectionOf<S, RunSettings>
void visit_fields(S& s, V&& visit) {
  visit("seed", s.seed);
  visit("threads", s.threads);
  visit("threads_per_chain", s.threads_per_chain);
  visit("output_dir", s.output_dir);
}

template <class C, class V>
  requires SectionOf<C, Config>
void visit_sections(C& c, V&& visit) {
  visit("model", c.model);
  visit("data", c.data);
  visit("prior", c.prior);
  visit("theory", c.theory);
  visit("theory.fb", c.fb);  // a sub-table of [theory]: [theory.fb]
  visit("sampler", c.sampler);
  visit("posterior", c.posterior);
  visit("criticality", c.criticality);
  visit("validation", c.validation);
  visit("run", c.run);
}

// `model.width = 64` is accepted as another spelling of `model.widths`.
struct KeyAlias {
  std::string_view section, alias, key;
};
constexpr KeyAlias kAliases[] = {{"model", "width", "widths"}};

std::string_view canonical_key(std::string_view section, std::string_view key) {
  for (const KeyAlias& a : kAliases) {
    if (section == a.section && key == a.alias) return a.key;
  }
  return key;
}

std::string joined(std::string_view section, std::string_view key) {
  return std::string(section) + "." + std::string(key);
}

// A node as TOML text for messages, shortened if long.
std::string node_text(const toml::node& node) {
  std::ostringstream os;
  os << toml::toml_formatter{node};
  std::string text = os.str();
  constexpr std::size_t kMaxShown = 60;
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return text;
}

[[noreturn]] void type_error(const std::string& field, const toml::node& node,
                             std::string_view expected) {
  throw ConfigError(field + " = " + node_text(node) + ": expected " + std::string(expected));
}

// --- reading one value --------------------------------------------------------------
void read_value(const toml::node& node, const std::string& field, std::int64_t& out) {
  if (!node.is_integer()) type_error(field, node, "an integer");
  out = node.as_integer()->get();
}

void read_value(const toml::node& node, const std::string& field, int& out) {
  std::int64_t wide = 0;
  read_value(node, field, wide);
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max())
    type_error(field, node, "an integer in the range of int");
  out = static_cast<int>(wide);
}

void read_value(const toml::node& node, const std::string& field, std::uint64_t& out) {
  std::int64_t wide = 0;
  read_value(node, field, wide);
  if (wide < 0) type_error(field, node, "a non-negative integer");
  out = static_cast<std::uint64_t>(wide);
}

void read_value(const toml::node& node, const std::string& field, double& out) {
  if (node.is_floating_point()) {
    out = node.as_floating_point()->get();
  } else if (node.is_integer()) {
    out = static_cast<double>(node.as_integer()->get());
  } else {
    type_error(field, node, "a number");
  }
}

void read_value(const toml::node& node, const std::string& field, bool& out) {
  if (!node.is_boolean()) type_error(field, node, "true or false");
  out = node.as_boolean()->get();
}

void read_value(const toml::node& node, const std::string& field, std::string& out) {
  if (!node.is_string()) type_error(field, node, "a string");
  out = node.as_string()->get();
}

// The named choices of the config (enums): name ↔ value through the functions of
// core/settings/ and activation.hpp. One entry per enum type.
template <class E>
std::string_view choice_name(E value) {
  if constexpr (std::is_same_v<E, Activation>) return activation_name(value);
  if constexpr (std::is_same_v<E, FourPointMethod>) return four_point_method_name(value);
  if constexpr (std::is_same_v<E, SamplerKind>) return sampler_kind_name(value);
  if constexpr (std::is_same_v<E, MetricKind>) return metric_kind_name(value);
  if constexpr (std::is_same_v<E, PosteriorForm>) return posterior_form_name(value);
  if constexpr (std::is_same_v<E, PosteriorRoute>) return posterior_route_name(value);
  if constexpr (std::is_same_v<E, CrossCheckRoute>) return cross_check_route_name(value);
  if constexpr (std::is_same_v<E, TiltMethod>) return tilt_method_name(value);
  if constexpr (std::is_same_v<E, TiltGradientForm>) return tilt_gradient_form_name(value);
}

template <class E>
E parse_choice(std::string_view name, std::string_view field) {
  if constexpr (std::is_same_v<E, Activation>) return parse_activation(name, field);
  if constexpr (std::is_same_v<E, FourPointMethod>) return parse_four_point_method(name, field);
  if constexpr (std::is_same_v<E, SamplerKind>) return parse_sampler_kind(name, field);
  if constexpr (std::is_same_v<E, MetricKind>) return parse_metric_kind(name, field);
  if constexpr (std::is_same_v<E, PosteriorForm>) return parse_posterior_form(name, field);
  if constexpr (std::is_same_v<E, PosteriorRoute>) return parse_posterior_route(name, field);
  if constexpr (std::is_same_v<E, CrossCheckRoute>) return parse_cross_check_route(name, field);
  if constexpr (std::is_same_v<E, TiltMethod>) return parse_tilt_method(name, field);
  if constexpr (std::is_same_v<E, TiltGradientForm>) return parse_tilt_gradient_form(name, field);
}

template <class E>
  requires std::is_enum_v<E>
void read_value(const toml::node& node, const std::string& field, E& out) {
  std::string name;
  read_value(node, field, name);
  out = parse_choice<E>(name, field);
}

// A list field takes an array or a single value (`g = 2.0` means g = [2.0]).
template <class T>
void read_value(const toml::node& node, const std::string& field, std::vector<T>& out) {
  out.clear();
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    read_value(node, field, out.emplace_back());
    return;
  }
  for (std::size_t i = 0; i < array->size(); ++i)
    read_value((*array)[i], field + "[" + std::to_string(i + 1) + "]", out.emplace_back());
}

// --- writing one value --------------------------------------------------------------
std::int64_t toml_value(const std::string& field, std::uint64_t value) {
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw ConfigError(field + " = " + std::to_string(value) +
                      ": must be at most 2^63 - 1 (TOML integers are signed 64-bit)");
  return static_cast<std::int64_t>(value);
}
std::int64_t toml_value(const std::string&, std::int64_t value) { return value; }
std::int64_t toml_value(const std::string&, int value) { return value; }
double toml_value(const std::string&, double value) { return value; }
bool toml_value(const std::string&, bool value) { return value; }
std::string toml_value(const std::string&, const std::string& value) { return value; }
template <class E>
  requires std::is_enum_v<E>
std::string toml_value(const std::string&, E value) {
  return std::string(choice_name(value));
}
template <class T>
toml::array toml_value(const std::string& field, const std::vector<T>& values) {
  toml::array array;
  for (const T& v : values) array.push_back(toml_value(field, v));
  return array;
}

// --- sections -----------------------------------------------------------------------
// Calls visit(key, default value) for every field of `section` (none if unknown).
template <class V>
void visit_section_defaults(std::string_view section, V&& visit) {
  const Config defaults;
  visit_sections(defaults, [&](std::string_view name, const auto& settings) {
    if (name == section) visit_fields(settings, visit);
  });
}

bool is_known_section(std::string_view section) {
  bool known = false;
  visit_section_defaults(section, [&](std::string_view, const auto&) { known = true; });
  return known;
}

// "[model], [data], ... or [run]": every section, for messages.
std::string section_list() {
  std::vector<std::string> names;
  const Config defaults;
  visit_sections(defaults, [&](std::string_view name, const auto&) { names.push_back("[" + std::string(name) + "]"); });
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

[[noreturn]] void unknown_section(std::string_view section) {
  throw ConfigError("[" + std::string(section) + "]: unknown section (expected " + section_list() + ")");
}

// Throws unless `section.key` (or its alias) names a field.
void check_known(std::string_view section, std::string_view key) {
  bool known = false;
  std::string keys;
  visit_section_defaults(section, [&](std::string_view field, const auto&) {
    known = known || field == canonical_key(section, key);
    keys += (keys.empty() ? "" : ", ") + std::string(field);
  });
  if (keys.empty()) unknown_section(section);
  if (!known)
    throw ConfigError(joined(section, key) + ": unknown key in [" + std::string(section) +
                      "] (known keys: " + keys + ")");
}

// True if `section.key` holds text (a string or a named choice such as an activation).
bool is_text_field(std::string_view section, std::string_view key) {
  bool text = false;
  visit_section_defaults(section, [&](std::string_view field, const auto& member) {
    using T = std::remove_cvref_t<decltype(member)>;
    if (field == canonical_key(section, key))
      text = std::is_same_v<T, std::string> || std::is_enum_v<T>;
  });
  return text;
}

template <class S>
void read_section(const toml::table& table, std::string_view section, S& settings) {
  for (const KeyAlias& a : kAliases) {
    if (section == a.section && table.contains(a.alias) && table.contains(a.key))
      throw ConfigError(joined(section, a.alias) + " and " + joined(section, a.key) +
                        " are the same setting: give only one of them");
  }
  // Named references, not a structured binding: clang 14 cannot capture bindings.
  for (auto&& entry : table) {
    const std::string_view key = entry.first.str();
    const toml::node& node = entry.second;
    if (node.is_table() && is_known_section(joined(section, key))) continue;  // [section.key], read on its own
    check_known(section, key);
    const std::string_view field_key = canonical_key(section, key);
    visit_fields(settings, [&](std::string_view field, auto& member) {
      if (field == field_key) read_value(node, joined(section, key), member);
    });
  }
}

// The table of `section` ("theory.fb" is root["theory"]["fb"]), or null if absent.
const toml::table* find_section(const toml::table& root, std::string_view section) {
  const toml::table* table = &root;
  std::size_t start = 0;
  while (table != nullptr) {
    const std::size_t dot = section.find('.', start);
    const std::string_view part = section.substr(start, dot == std::string_view::npos ? dot : dot - start);
    table = table->get_as<toml::table>(part);
    if (dot == std::string_view::npos) return table;
    start = dot + 1;
  }
  return nullptr;
}

// The table of `section` in `root`, created (with its parents) if absent. Throws if a
// value that is not a table stands in the way.
toml::table& section_table(toml::table& root, std::string_view section) {
  toml::table* table = &root;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = section.find('.', start);
    const std::string part(section.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (!table->contains(part)) table->insert(part, toml::table{});
    toml::table* next = (*table)[part].as_table();
    if (next == nullptr) {
      const std::string path(section.substr(0, dot == std::string_view::npos ? section.size() : dot));
      throw ConfigError(path + " = " + node_text(*table->get(part)) + ": expected a table [" + path + "]");
    }
    table = next;
    if (dot == std::string_view::npos) return *table;
    start = dot + 1;
  }
}

Config config_from_table(const toml::table& root) {
  for (auto&& entry : root) {
    const std::string key(entry.first.str());
    const toml::table* table = entry.second.as_table();
    if (table == nullptr && !is_known_section(key))
      throw ConfigError(key + " = " + node_text(entry.second) +
                        ": unknown top-level key (settings belong in a section: " + section_list() + ")");
    if (table == nullptr)
      throw ConfigError(key + " = " + node_text(entry.second) + ": expected a table [" + key + "]");
    if (!is_known_section(key)) unknown_section(key);
  }
  Config config;
  visit_sections(config, [&](std::string_view name, auto& settings) {
    if (const toml::table* table = find_section(root, name)) read_section(*table, name, settings);
  });
  return config;
}

toml::table table_from_config(const Config& config) {
  toml::table root;
  visit_sections(config, [&](std::string_view section, const auto& settings) {
    toml::table& table = section_table(root, section);
    visit_fields(settings, [&](std::string_view key, const auto& member) {
      table.insert(key, toml_value(joined(section, key), member));
    });
  });
  return root;
}

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// `v = <text>` parsed as TOML; an empty table unless it is exactly one TOML value.
toml::table parse_value_line(std::string_view text) {
  try {
    const std::string line = "v = " + std::string(text);
    toml::table parsed = toml::parse(std::string_view(line), std::string_view("--set"));
    if (parsed.size() == 1 && parsed.contains("v")) return parsed;
  } catch (const toml::parse_error&) {
    // not a TOML value; the caller falls back to the raw text
  }
  return {};
}

// `text` as a TOML basic string literal ("…" with quotes, backslashes and control
// characters escaped), so that the raw text goes through the same UTF-8 checks as a file.
std::string basic_string_literal(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      std::array<char, 8> escape{};
      std::snprintf(escape.data(), escape.size(), "\\u%04x", static_cast<unsigned>(byte));
      out += escape.data();
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// `section.key=value`: the value is read as a TOML value, else as a bare string.
void apply_override(toml::table& root, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos)
    throw ConfigError("--set " + text + ": expected section.key=value, e.g. model.depth=3");
  const std::string_view path = trimmed(std::string_view(text).substr(0, eq));
  const std::string_view value = trimmed(std::string_view(text).substr(eq + 1));
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == path.size())
    throw ConfigError("--set " + text + ": the key must be section.key, e.g. model.depth=3");
  const std::string_view section = path.substr(0, dot);
  const std::string_view key = path.substr(dot + 1);
  if (!is_known_section(section))
    throw ConfigError("--set " + text + ": unknown section [" + std::string(section) + "] (expected " +
                      section_list() + ")");
  check_known(section, key);

  toml::table parsed = parse_value_line(value);
  // A text field takes the raw text unless it was written as a TOML string, so
  // `--set run.output_dir=2024` means the directory "2024"; any other field takes the
  // raw text only if it is not one TOML value (`--set model.activation=tanh`).
  const bool is_string = !parsed.empty() && parsed["v"].is_string();
  if (parsed.empty() || (is_text_field(section, key) && !is_string)) {
    parsed = parse_value_line(basic_string_literal(value));
    if (parsed.empty())
      throw ConfigError("--set " + text + ": the value is not valid UTF-8 text");
  }

  toml::table* table = &section_table(root, section);
  // The override replaces the setting under either spelling.
  for (const KeyAlias& a : kAliases) {
    if (section == a.section && canonical_key(section, key) == a.key) {
      table->erase(a.alias);
      table->erase(a.key);
    }
  }
  table->insert_or_assign(key, std::move(*parsed.get("v")));
}

}  // namespace

Config parse_config(std::string_view toml_text, const std::vector<std::string>& overrides,
                    std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& error) {
    const toml::source_position where = error.source().begin;
    throw ConfigError(std::string(source) + " line " + std::to_string(where.line) + ", column " +
                      std::to_string(where.column) + ": " + std::string(error.description()));
  }
  for (const std::string& text : overrides) apply_override(root, text);
  Config config = config_from_table(root);
  validate(config);
  return config;
}

Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  return parse_config(read_text_file(path, "config file"), overrides, path.string());
}

std::string to_toml(const Config& config) {
  std::ostringstream os;
  os << toml::toml_formatter{table_from_config(config)} << "\n";
  return os.str();
}

std::string to_json(const Config& config) {
  std::ostringstream os;
  os << toml::json_formatter{table_from_config(config)};
  return os.str();
}

}  // namespace kernelmc::core
