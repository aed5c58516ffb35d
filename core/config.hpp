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

// [data]: a built-in generator, CSV files or a two-class task from IDX image files.
struct DataSettings {
  std::string kind = "xor";        // xor | config_a | config_b | teacher | csv | fashion_mnist
  // P (xor, teacher, fashion_mnist). A proportional study (validation.study) takes the
  // first round(αN) of these points at width N, so here it is the size of the pool.
  Eigen::Index points = 8;
  Eigen::Index input_dim = 4;      // d (xor, teacher)
  double noise = 0.1;              // xor: std of the Gaussian clusters; teacher: std of label noise
  Eigen::Index teacher_width = 32; // teacher: hidden width of the random one-hidden-layer teacher
  Activation teacher_activation = Activation::erf;  // teacher: its activation
  std::string inputs_csv;          // csv: P rows of d numbers
  std::string targets_csv;         // csv: P rows of D numbers
  bool csv_header = false;         // csv: skip one header line in both files
  // fashion_mnist: IDX images (items × rows × cols) and labels, gzip-compressed or plain;
  // the defaults are where Debian's dataset-fashion-mnist package installs the training set.
  std::string images_idx = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  std::string labels_idx = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";
  // fashion_mnist: the two labels of the task, target +1 for the first and −1 for the
  // second. 0 and 6 are Fashion-MNIST's T-shirt/top and shirt, its most confused pair.
  std::vector<Eigen::Index> classes = {0, 6};
  // fashion_mnist: "none" (every pixel), "downsample" (block means onto an s×s grid,
  // reduced_dim = s², s dividing the image side) or "pca" (the reduced_dim leading
  // principal components of the two classes' whole training pool).
  std::string reduction = "downsample";
  Eigen::Index reduced_dim = 49;   // fashion_mnist: input dimension d after the reduction
  // fashion_mnist: each input coordinate to mean 0 and variance 1 over the two classes'
  // whole pool (so that the points drawn do not change the map and subsets nest).
  bool standardize = true;
  // fashion_mnist: seed of the random order of the pool; the data set is its first P points.
  std::uint64_t subset_seed = 0;
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

// Which posterior of THEORY.md §1 a chain samples.
enum class PosteriorForm {
  full,       // §1.4: all raw parameters θ (hidden, biases, readout)
  collapsed,  // §1.5: hidden parameters θ_h, readout integrated out
};
// "full", "collapsed".
std::string_view posterior_form_name(PosteriorForm form);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
PosteriorForm parse_posterior_form(std::string_view name, std::string_view field = "posterior.form");

// How the posterior of [posterior] is computed (sampling/importance_posterior.hpp,
// sampling/smc_posterior.hpp, sampling/chain_runner.hpp).
enum class PosteriorRoute {
  automatic,   // "auto": importance while its PSIS k̂ ≤ 0.7, tempered SMC otherwise
  importance,  // exact prior networks weighted by N(Y; 0, C^(L+1) + κI), self-normalised
  smc,         // tempered SMC over the hidden weights, β: 0 → 1
  chains,      // MCMC chains (config.sampler) on the collapsed or full posterior
};
// "auto", "importance", "smc", "chains".
std::string_view posterior_route_name(PosteriorRoute route);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
PosteriorRoute parse_posterior_route(std::string_view name, std::string_view field = "posterior.route");

// A second route `kernelmc validate` runs beside posterior.route, reporting their agreement.
enum class CrossCheckRoute { none, importance, smc, chains };
// "none", "importance", "smc", "chains".
std::string_view cross_check_route_name(CrossCheckRoute route);
CrossCheckRoute parse_cross_check_route(std::string_view name, std::string_view field = "posterior.cross_check");

// [posterior]: the posterior run of `kernelmc sample` and of every width of `kernelmc validate`.
struct PosteriorSettings {
  // auto: importance sampling resolves ΔC from the same draws as E_prior (its error does
  // not include the O(1) fluctuation of two independent means) while its weights are
  // trustworthy (k̂ ≤ 0.7), tempered SMC beyond.
  PosteriorRoute route = PosteriorRoute::automatic;
  CrossCheckRoute cross_check = CrossCheckRoute::none;
  // importance: M exact prior networks, cut into B contiguous batches for batch-means
  // errors (B − 1 dof). The SE of N·ŷᵀΔCŷ on Config B is ≈ 1.3e-4 at M = 4·10⁵ (measured),
  // so M = 2·10⁵ gives ≈ 2e-4 in a few seconds.
  Eigen::Index importance_networks = 200000;
  Eigen::Index importance_batches = 20;
  // smc: particles per run, independent runs (the errors: R − 1 dof), the ESS/n target
  // of each tempering step (0.5: Jasra et al. 2011), move transitions per step, the move
  // kernel (hmc or mala), its first step size, HMC trajectory length, and the acceptance
  // the population step size is steered to (0.65, Beskos et al. 2013 for HMC).
  Eigen::Index smc_particles = 512;
  Eigen::Index smc_replicates = 4;
  double smc_ess_fraction = 0.5;
  Eigen::Index smc_rejuvenation_steps = 5;
  SamplerKind smc_move = SamplerKind::hmc;
  double smc_step_size = 0.2;
  double smc_integration_time = 1.0;
  double smc_target_accept = 0.65;
  Eigen::Index chains = 4;     // Stan's default; four chains give split R̂ eight halves
  Eigen::Index warmup = 1000;  // Stan's default num_warmup
  Eigen::Index draws = 1000;   // kept draws per chain; Stan's default num_samples
  Eigen::Index thin = 1;       // keep every thin-th sampling transition
  // Collapsed by default: the same marginal law of θ_h (THEORY.md §1.5, test V7), without
  // the readout coordinates, whose coupling to the output scale slows the full chain.
  PosteriorForm form = PosteriorForm::collapsed;
  // collapsed: complete every kept draw with an exact readout draw, so that the network
  // output F at the training inputs is reported too (the full form always reports it).
  bool draw_readout = false;
  // Batch-means batches per chain for the kernel entries' MCSE (sampling/kernel_observables).
  Eigen::Index batches = 10;
  // Keep every kernel entry's draws (per-entry R̂ and ESS, and written draws) while
  // K·L·draws·chains ≤ this many values, K = P(P+1)/2: 1e7 doubles are 80 MB. Beyond,
  // entries get batch-means errors only, and the report says so.
  double max_entry_draw_values = 1e7;
  bool write_draws = false;    // write the draws as .npy files with a JSON manifest
  // Layers l (2..L+1) whose kernel draws are written; empty: every layer. Checked against
  // the model when the run starts (posterior.draw_layers[i]).
  std::vector<Eigen::Index> draw_layers = {};
  bool operator==(const PosteriorSettings&) const = default;
};

// How the tilted expectations of the FB equations are evaluated (THEORY.md §4.4 items 1–4;
// theory/tilted_expectations.hpp).
enum class TiltMethod {
  automatic,            // the FB solver's choice: linear_closed_form for linear φ, quadrature for
                        // P ≤ theory::kMaxQuadraturePoints (5), importance_sampling beyond
  linear_closed_form,   // φ linear only: ⟨hhᵀ⟩_q = C(I − 2gC̃C)⁻¹, ∂𝒲/∂C = gC̃(I − 2gCC̃)⁻¹; exact
  first_order,          // ⟨φφᵀ⟩ + g Q[C̃] and Jᵀ[C̃]; neglects O(C̃²) (the truncation is not in the error)
  quadrature,           // tensor Gauss–Hermite over all P inputs (P ≤ 5) with the control variate
  importance_sampling,  // fixed base draws h ~ N(0, C), weights ∝ e^{gφᵀC̃φ}, same control variate
};
// "automatic", "linear_closed_form", "first_order", "quadrature", "importance_sampling".
std::string_view tilt_method_name(TiltMethod method);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
TiltMethod parse_tilt_method(std::string_view name, std::string_view field = "theory.fb.method");

// Which form of ∂𝒲/∂C the numerical methods (quadrature, importance sampling) evaluate.
enum class TiltGradientForm {
  automatic,  // score for ReLU (its φ'' is a δ function, which pointwise evaluation misses), Price otherwise
  price,      // needs φ'' pointwise; any positive semidefinite C
  score,      // needs C positive definite (NumericalError otherwise); no derivatives of φ
};
// "automatic", "price", "score".
std::string_view tilt_gradient_form_name(TiltGradientForm form);
TiltGradientForm parse_tilt_gradient_form(std::string_view name,
                                          std::string_view field = "theory.fb.gradient_form");

// Consecutive batches of the importance-sampling draws of the FB solver: each batch gives
// one replicate of an estimate, and their spread its standard error (SE of a 20-batch SE
// ≈ √(1/38) ≈ 16 %).
inline constexpr Eigen::Index kImportanceBatches = 20;

// [theory.fb]: how the MAP forward–backward equations are solved (theory/fb_solver.hpp).
struct FbSettings {
  // How the tilted expectations are evaluated: automatic picks the linear closed form for
  // linear φ, quadrature for P ≤ theory::kMaxQuadraturePoints (5, deterministic) and importance
  // sampling beyond.
  TiltMethod method = TiltMethod::automatic;
  // η of C ← (1 − η)C + η FB(C): THEORY.md §4.5 and §9.6 recommend 0.3–0.5.
  double damping = 0.5;
  // Stop when max_l max|FB(C)^(l) − C^(l)| ≤ tolerance · max_l max|C^(l)| (THEORY.md §4.5).
  // With common random numbers the importance-sampling map is deterministic, so this is
  // reachable for every method; the Monte Carlo error is reported separately.
  double tolerance = 1e-12;
  // Fixed-point sweeps (or Newton steps) per solve before it counts as failed. At
  // η = 0.5 a contracting map gains a factor ≈ 2 per sweep: 1e-12 takes ≈ 40–60 sweeps.
  int max_iterations = 500;
  // Jacobian-free Newton–Krylov (finite-difference Jv, GMRES) instead of the damped
  // fixed-point iteration (THEORY.md §4.5, optional).
  bool newton = false;
  // If the plain solve fails, ramp the targets Y → λY, λ ∈ (0, 1], each solve starting
  // from the previous λ's solution (THEORY.md §4.5, §9.6).
  bool homotopy = true;
  // S base draws per layer for importance sampling (THEORY.md §4.4 item 4). 1e5 puts the
  // Monte Carlo error of the O(C̃²) remainder (exact_first_order) far below 1e-6.
  Eigen::Index importance_samples = 100000;
  // Gauss–Hermite nodes per dimension of the tensor rule (n^P points). THEORY.md §4.4 item 3
  // quotes n = 12; with exact_first_order the rule only integrates the O(C̃²) remainder.
  Eigen::Index quadrature_nodes = 12;
  // Seed of the base draws: core::make_stream(seed, StreamPurpose::tilted_mc, 0, l).
  std::uint64_t seed = 0;
  // Form of ∂𝒲/∂C for quadrature and importance sampling (theory/tilted_expectations.hpp).
  TiltGradientForm gradient_form = TiltGradientForm::automatic;
  // Quadrature and importance sampling: add the exact first-order term and let the points
  // estimate only the O(C̃²) remainder (theory/tilted_expectations.hpp). Off gives the bare
  // control variate of THEORY.md §4.4 item 3, whose error enters at O(C̃). The term is
  // exact for linear and erf φ; for tanh and ReLU it comes from a 4-D Gauss–Hermite rule
  // whose error is included in kernel_errors and at large variances can exceed what the
  // term removes (tanh, C_aa = 2: 5e-4 against 3e-5 for false with 16 nodes).
  bool exact_first_order = true;
  // Absolute accuracy of the tanh 2-point functions (as theory.quadrature_tolerance).
  double pair_tolerance = 1e-10;
  // Also estimate the error of the solution by solving again: with the coarse rule
  // (⌈2n/3⌉ nodes; error |C_n − C_m|) for quadrature, on each of the kImportanceBatches
  // batches of the draws (error = their SD/√B) for importance sampling; for tanh and ReLU,
  // whose 4-point functions (first_order, exact_first_order) come from a 4-D rule, also
  // with that rule coarsened (28 → 19 nodes). About one more solve.
  bool estimate_errors = true;
  bool operator==(const FbSettings&) const = default;
};

// [criticality]: the grid of `kernelmc criticality` (THEORY.md §6).
struct CriticalitySettings {
  // g/g_c(σ_b²) from g_min_ratio to g_max_ratio, g_points values spaced evenly in log g:
  // the edge of chaos (ratio 1) sits in the middle of the default grid on a log axis.
  double g_min_ratio = 0.5;
  double g_max_ratio = 2.0;
  Eigen::Index g_points = 31;
  // σ_b² values, one block of the grid each.
  std::vector<double> bias_variances = {0.0, 0.1};
  bool operator==(const CriticalitySettings&) const = default;
};

// [validation]: the width-scaling study of `kernelmc validate`.
struct ValidationSettings {
  // "width_scaling": the data set as given at every width. "proportional": at width N
  // and each α of `alphas`, the first P = round(αN) points of the data set (its pool).
  // "criticality": every width at each g = (g/g_c)·g_c(σ_b²) of the [criticality] grid.
  std::string study = "width_scaling";
  std::vector<double> alphas = {0.5};  // proportional: α = P/N (THEORY.md §4.8, §7)
  std::vector<Eigen::Index> widths = {32, 64, 128, 256};  // N; all hidden layers take the same N
  // Exact prior networks per width for E_prior[C], the reference of the measured adaptation
  // ΔC_MC = E_post[C] − E_prior[C]; its SE is ≈ √(Var C/M) with Var C = O(1/N).
  Eigen::Index prior_networks = 20000;
  Eigen::Index bootstrap_resamples = 1000;  // over chains, for the width-scaling CIs
  double confidence_level = 0.95;           // of the fitted exponents' intervals
  double false_alarm_rate = 0.01;           // family-wise α of the Bonferroni z and χ² tests
  bool figures = true;                      // render the gnuplot figures (PNG and SVG)
  bool operator==(const ValidationSettings&) const = default;
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
  PosteriorSettings posterior;
  FbSettings fb;                    // [theory.fb]
  CriticalitySettings criticality;
  ValidationSettings validation;
  RunSettings run;
  bool operator==(const Config&) const = default;
};

// Each throws ConfigError naming `section.field`, its value and the rule.
void validate(const ModelSettings& settings);
void validate(const DataSettings& settings);
void validate(const PriorStudySettings& settings);
void validate(const TheorySettings& settings);
void validate(const SamplerSettings& settings);
void validate(const PosteriorSettings& settings);
void validate(const FbSettings& settings);
void validate(const CriticalitySettings& settings);
void validate(const ValidationSettings& settings);
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
