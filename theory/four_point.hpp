#pragma once
// Four-point functions of the activation under one Gaussian layer (THEORY.md §3.1, §9.2):
// the covariance of the products φ_aφ_b over h ~ N(0, C),
//   Q_{k,k'} = Cov_C(φ_aφ_b, φ_cφ_d) = ⟨φ_aφ_bφ_cφ_d⟩ − ⟨φ_aφ_b⟩⟨φ_cφ_d⟩,
// over upper-triangle pairs k = (a ≤ b), k' = (c ≤ d) (order of core::upper_triangle).
// V^(l) = (g_l²/N_{l−1}) Q at C^(l−1). Deterministic routes: Isserlis (linear), an exact
// sign-moment integral (erf, any variance) and tensor Gauss–Hermite over the distinct
// inputs of each quadruple (any φ); and Monte Carlo with batch replicates for standard
// errors. Gauss–Hermite converges slowly for saturating φ at large variance (see
// gauss_hermite_four_point_error), so `automatic` only uses it where it is accurate.
#include <Eigen/Core>
#include <vector>

#include "core/activation.hpp"
#include "core/rng.hpp"
#include "core/settings/theory.hpp"

namespace kernelmc::theory {

// Batch replicates of every Monte Carlo 4-point estimate: the estimate is their mean and
// its standard error their standard deviation / √B. B − 1 = 99 degrees of freedom put
// the SE itself within ≈ 7 % (√(1/(2·99))), and each batch still holds S/B ≥ 10⁴ draws at
// the default S = 10⁶.
inline constexpr Eigen::Index kFourPointBatches = 100;
// Fewest draws per batch: the unbiased covariance needs two.
inline constexpr Eigen::Index kMinDrawsPerBatch = 2;

// Tanh 4-point functions go through tensor Gauss–Hermite only while the rule stays
// affordable and converged: at most this many innermost nodes per layer (C(P,4)·n⁴).
// Measured ≈ 35 ns per node on one (shared) core: 2e7 nodes ≈ 0.7 s per layer, so three
// layers stay within the 5 s budget of the main job. With n = 28 this allows P ≤ 6;
// P = 8 (4.3e7 nodes, 4.6 s for three layers) goes to Monte Carlo ...
inline constexpr double kMaxGaussHermiteNodes = 2e7;
// ... and while the n-point and 2n-point rules agree on ⟨φ²⟩ and ⟨φ⁴⟩ at the largest
// variance to this absolute accuracy (Monte Carlo at the default 10⁶ draws has SEs of
// ≈ 1e-4 on these entries, so a quadrature bias below 1e-6 is negligible next to it).
inline constexpr double kFourPointQuadratureAccuracy = 1e-6;

// What `automatic` resolves to for P inputs, activation φ and the largest kernel variance
// at which V is evaluated (THEORY.md §2, §9.2). Monte Carlo when P >
// settings.quadrature_max_points. Otherwise: linear (Isserlis) and erf (exact sign-moment
// route below) use quadrature; ReLU uses Monte Carlo (its kink makes tensor Gauss–Hermite
// converge only algebraically, so quadrature would carry an unknown bias where Monte
// Carlo states its error); tanh uses tensor Gauss–Hermite if it fits kMaxGaussHermiteNodes
// and gauss_hermite_four_point_error ≤ kFourPointQuadratureAccuracy, else Monte Carlo.
// An explicit choice is returned unchanged.
core::FourPointMethod resolve_four_point_method(const core::TheorySettings& settings,
                                                core::Activation activation, Eigen::Index points,
                                                double max_variance);

// |Q_n − Q_2n| over ⟨φ(h)²⟩ and ⟨φ(h)⁴⟩, h ~ N(0, variance): the error estimate of the
// n-node rule on the slowest-converging (single-input, all variance in one direction)
// 4-point functions. Measured for erf: n = 28 gives 3e-7 at variance 0.5 but 4e-3 at
// variance 2 and 2e-2 at variance 4 (Gauss–Hermite converges slowly for saturating φ
// of large variance).
double gauss_hermite_four_point_error(core::Activation activation, double variance,
                                      Eigen::Index nodes);

// ⟨φ_aφ_bφ_cφ_d⟩_C for four (not necessarily distinct) inputs, by the tensor
// Gauss–Hermite rule with `nodes` per dimension over the distinct inputs (1–4 dimensions;
// Cholesky square root of their sub-covariance, eigen square root on its range if it is
// singular).
double four_point_gauss_hermite(core::Activation activation,
                                const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Index a,
                                Eigen::Index b, Eigen::Index c, Eigen::Index d, Eigen::Index nodes);

// ⟨erf(h_a)erf(h_b)erf(h_c)erf(h_d)⟩_C to rounding level, for any variance: erf(h) =
// E_u[sign(√2h − u)] turns it into a Gaussian sign moment, whose derivative in each
// covariance entry is closed form (Price's theorem); one 1-D Gauss–Kronrod integral over
// the path from the diagonal to the full covariance gives the value.
double erf_four_point(const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Index a, Eigen::Index b,
                      Eigen::Index c, Eigen::Index d);

// Q (K×K) by tensor Gauss–Hermite: one rule per set of distinct inputs gives all the
// 4-point functions on that set. The 2-point functions subtracted come from the same
// n-point rule, so that Q vanishes exactly where the products are independent. Runs the
// sets in parallel (OpenMP; each set writes its own slot, so the result does not depend
// on the number of threads).
Eigen::MatrixXd product_covariance_gauss_hermite(core::Activation activation,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                 Eigen::Index nodes);

// Q (K×K) by the best deterministic route for φ: linear by Isserlis' theorem
// (Q = C_ac C_bd + C_ad C_bc), erf by erf_four_point minus the closed-form 2-point
// functions (both exact), tanh and ReLU by product_covariance_gauss_hermite with `nodes`.
Eigen::MatrixXd product_covariance_quadrature(core::Activation activation,
                                              const Eigen::Ref<const Eigen::MatrixXd>& C,
                                              Eigen::Index nodes);

// Q by Monte Carlo: S = `samples` draws h ~ N(0, C) from `engine`, split into
// kFourPointBatches consecutive batches; returns one unbiased estimate of Q per batch
// (their mean is the estimate). Within a batch the whole K×K block is one matrix
// product over the (draws × K) matrix of products φ_aφ_b. Throws ConfigError if
// samples < kFourPointBatches · kMinDrawsPerBatch.
std::vector<Eigen::MatrixXd> product_covariance_monte_carlo(core::Activation activation,
                                                            const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                            Eigen::Index samples, core::Engine& engine);

// The Monte Carlo draws φ(h), h ~ N(0, C), kept for the operator form (THEORY.md §9.2):
// the same draws, in the same batches, as product_covariance_monte_carlo makes from an
// engine in the same state. Memory: S × P doubles.
struct ActivationDraws {
  Eigen::MatrixXd phi;                     // S×P, row s = φ(h_s)ᵀ
  std::vector<Eigen::Index> batch_starts;  // first row of each batch, then S

  Eigen::Index batches() const { return static_cast<Eigen::Index>(batch_starts.size()) - 1; }
};
ActivationDraws draw_activations(core::Activation activation,
                                 const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Index samples,
                                 core::Engine& engine);

// Q[M]_ab = Σ_{c,d} Q_{ab,cd} M_cd over all ordered (c, d), i.e. Cov(φ_aφ_b, φᵀMφ),
// estimated per batch (P×P each, one matrix product Φᵀ diag(t − t̄) Φ) without any P⁴
// object; returns the batch replicates (their mean is the estimate). Agrees with the
// explicit Monte Carlo Q from the same draws to rounding.
std::vector<Eigen::MatrixXd> apply_product_covariance(const ActivationDraws& draws,
                                                      const Eigen::Ref<const Eigen::MatrixXd>& M);

// Q[M] from an explicit K×K Q: the same contraction over ordered pairs (an off-diagonal
// (c, d) counts twice).
Eigen::MatrixXd apply_triangle_covariance(const Eigen::Ref<const Eigen::MatrixXd>& Q,
                                          const Eigen::Ref<const Eigen::MatrixXd>& M);

}  // namespace kernelmc::theory
