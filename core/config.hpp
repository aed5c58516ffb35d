#pragma once
// Experiment configuration (STYLE.md §5). Sections are plain aggregates; each default
// lives in its field with its reason. One validate() per section, in config.cpp,
// names `section.field` in every message. TOML loading and `--set` overrides live in
// config_toml.cpp; an unknown key is an error, never a silent default.
#include <Eigen/Core>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/activation.hpp"
#include "core/dataset.hpp"
#include "core/model_spec.hpp"

namespace kernelmc::core {

// [model]: the architecture of THEORY.md §1.2 (d and D come from the data set).
struct ModelSettings {
  Eigen::Index depth = 3;                  // L, hidden layers
  std::vector<Eigen::Index> widths = {64}; // N; one value for all hidden layers, or L values
  Activation activation = Activation::erf; // φ
  // g; one value for all L+1 layers, or L+1 values. π/4 is the erf edge of chaos at
  // σ_b² = 0 (THEORY.md §6.2), the regime where finite-width effects are largest.
  std::vector<double> g = {0.78539816339744831};
  double bias_variance = 0.0;              // σ_b²
  double kappa = 1.0;                      // κ, likelihood variance (THEORY.md §8.1 uses 1)
  bool operator==(const ModelSettings&) const = default;
};

// [data]: a built-in generator or CSV files.
struct DataSettings {
  std::string kind = "xor";        // xor | config_a | config_b | teacher | csv
  Eigen::Index points = 8;         // P (xor, teacher)
  Eigen::Index input_dim = 4;      // d (xor, teacher)
  double noise = 0.1;              // xor: std of the Gaussian clusters; teacher: std of label noise
  Eigen::Index teacher_width = 32; // teacher: hidden width of the random one-hidden-layer teacher
  Activation teacher_activation = Activation::erf;  // teacher: its activation
  std::string inputs_csv;          // csv: P rows of d numbers
  std::string targets_csv;         // csv: P rows of D numbers
  bool csv_header = false;         // csv: skip one header line in both files
  bool operator==(const DataSettings&) const = default;
};

// [prior]: the exact prior study over widths (THEORY.md §3, §9.5).
struct PriorStudySettings {
  // Widths N of the study; all hidden layers take the same N.
  std::vector<Eigen::Index> widths = {16, 32, 64, 128, 256};
  // M networks per width. The relative SE of a variance estimate is ≈ √(2/M) for
  // near-Gaussian entries: 0.45 % at M = 10⁵, far inside the 3 % the study needs on N·Cov.
  // The mean shift μ = O(1/N) is the harder signal: its signal-to-noise ratio is
  // ≈ √(M/N)·|Nμ|/√(N Var C), so M = 10⁵ still resolves it at N = 256 and the log-log
  // slope of |E − C_GP| comes out to ±0.1 (measured: the default study).
  Eigen::Index networks = 100000;
  bool operator==(const PriorStudySettings&) const = default;
};

enum class FourPointMethod { automatic, quadrature, monte_carlo };
// "automatic", "quadrature", "monte_carlo".
std::string_view four_point_method_name(FourPointMethod method);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
FourPointMethod parse_four_point_method(std::string_view name,
                                        std::string_view field = "theory.four_point");

// [theory]: accuracy of the analytic side.
struct TheorySettings {
  // Target absolute accuracy of 2-D Gauss–Hermite pair maps; the node count is chosen
  // for it (THEORY.md §2: n ≈ 60–80 gives ≤ 1e-8 for tanh/erf).
  double quadrature_tolerance = 1e-10;
  // How ⟨φ_aφ_bφ_cφ_d⟩ is computed for V (THEORY.md §3.1, §9.2): automatic uses
  // quadrature while P ≤ quadrature_max_points, Monte Carlo beyond.
  FourPointMethod four_point = FourPointMethod::automatic;
  // Nodes per dimension of the 4-D rule. THEORY.md §2: n = 28 gives ≈ 0.05 % per entry.
  Eigen::Index four_point_nodes = 28;
  Eigen::Index quadrature_max_points = 12;
  // Draws for Monte Carlo 4-point functions; error ≈ 1e-3 relative at 1e6.
  Eigen::Index four_point_samples = 1000000;
  bool operator==(const TheorySettings&) const = default;
};

enum class MetricKind {
  unit,      // M = I, never adapted
  diagonal,  // M⁻¹ = diagonal of the posterior variances, estimated during warmup
};
std::string_view metric_kind_name(MetricKind kind);
MetricKind parse_metric_kind(std::string_view name, std::string_view field = "sampler.metric");

enum class SamplerKind {
  hmc,                   // static HMC: leapfrog trajectory of fixed length + Metropolis
  nuts,                  // No-U-Turn sampler, multinomial (Stan's base_nuts)
  mala,                  // Metropolis-adjusted Langevin
  underdamped_langevin,  // OBABO with Metropolised BAB (GHMC), or unadjusted BAOAB
  overdamped_langevin,   // unadjusted Euler–Maruyama (ULA): biased by O(h)
};
std::string_view sampler_kind_name(SamplerKind kind);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
SamplerKind parse_sampler_kind(std::string_view name, std::string_view field = "sampler.kind");

// [sampler]: the MCMC algorithm and its warmup. Plain aggregate (STYLE.md §5).
struct SamplerSettings {
  SamplerKind kind = SamplerKind::nuts;        // Stan's default algorithm
  MetricKind metric = MetricKind::diagonal;    // Stan's default metric, diag_e
  // ε of the leapfrog (hmc, nuts, underdamped) or h of the Langevin step θ ← θ − hM⁻¹∇U
  // + √(2h) M^{-1/2}ξ (mala, overdamped). With adapt_step_size it is only the start of
  // the heuristic search. 1 is Stan's default stepsize.
  double step_size = 1.0;
  // hmc: trajectory length T; L = max(1, ⌊T/ε⌋) leapfrog steps (as Stan's base_static_hmc).
  // π/2 is a quarter period of a unit-variance Gaussian direction, the shape the adapted
  // metric gives the target: there an exact trajectory maps q to an independent draw.
  // Stan's default, 2π, is a full period there and returns the chain to its start (on
  // such periodicity see Neal 2011, "MCMC using Hamiltonian dynamics", §5.4).
  double integration_time = 1.5707963267948966;
  int max_tree_depth = 10;          // nuts: at most 2^10 − 1 leapfrog steps; Stan's default
  // Divergence threshold on H − H₀ (Stan's base_nuts max_deltaH_ = 1000); applied to the
  // proposals of every Metropolised sampler.
  double max_energy_error = 1000.0;
  // underdamped: γ in dp = −∇U dt − γ p dt + √(2γ) M^{1/2} dW. γ = 1 is underdamped for a
  // unit-variance Gaussian (critical damping is γ = 2), so momentum persists for ~1 time
  // unit, as in Horowitz's GHMC.
  double friction = 1.0;
  // underdamped: true = OBABO whose BAB core is Metropolis-corrected, with a momentum flip
  // on rejection (Horowitz 1991, GHMC): exact. false = unadjusted BAOAB (Leimkuhler &
  // Matthews 2013): exact positions for Gaussian targets, O(h²) bias otherwise.
  bool metropolis_correction = true;
  // Dual averaging during warmup; must be false for samplers without an acceptance
  // statistic (overdamped, and underdamped without metropolis_correction).
  bool adapt_step_size = true;
  double target_accept = 0.8;  // δ; Hoffman & Gelman 2014; Stan's default adapt delta
  double adapt_gamma = 0.05;   // γ of dual averaging; Hoffman & Gelman 2014 §3.2; Stan
  double adapt_kappa = 0.75;   // κ, the averaging exponent t^{−κ}; Hoffman & Gelman; Stan
  double adapt_t0 = 10.0;      // t0, damping of the first iterations; Hoffman & Gelman; Stan
  Eigen::Index adapt_init_buffer = 75;  // warmup transitions before the first window; Stan
  Eigen::Index adapt_term_buffer = 50;  // warmup transitions after the last window; Stan
  Eigen::Index adapt_base_window = 25;  // length of the first window (then doubling); Stan
  bool operator==(const SamplerSettings&) const = default;
};

// [run]: seed, threads, output.
struct RunSettings {
  std::uint64_t seed = 20240521;      // any fixed value; recorded in every result file
  int threads = 0;                    // 0 = OpenMP's default; results never depend on it
  std::string output_dir = "kernelmc-out";
  bool operator==(const RunSettings&) const = default;
};

struct Config {
  ModelSettings model;
  DataSettings data;
  PriorStudySettings prior;
  TheorySettings theory;
  SamplerSettings sampler;
  RunSettings run;
  bool operator==(const Config&) const = default;
};

// Each throws ConfigError naming `section.field`, its value and the rule.
void validate(const ModelSettings& settings);
void validate(const DataSettings& settings);
void validate(const PriorStudySettings& settings);
void validate(const TheorySettings& settings);
void validate(const SamplerSettings& settings);
void validate(const RunSettings& settings);
void validate(const Config& config);

// The ModelSpec for `settings` on data of dimension d with D outputs (widths and g
// broadcast to every layer when one value is given). Validates the result.
ModelSpec resolve_model(const ModelSettings& settings, Eigen::Index input_dim,
                        Eigen::Index output_dim);

// TOML text plus `--set section.key=value` overrides, then validate(). `source` names
// the text in messages (a path, or "<defaults>"). Unknown keys throw ConfigError.
Config parse_config(std::string_view toml_text, const std::vector<std::string>& overrides,
                    std::string_view source = "<config>");
// Reads `path` (InputFileError if it cannot be read) and calls parse_config.
Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides);

// The fully resolved config as TOML text and as a JSON object text; parse_config of
// to_toml(c) gives back c exactly.
std::string to_toml(const Config& config);
std::string to_json(const Config& config);

}  // namespace kernelmc::core
