#pragma once
// One Monte Carlo estimate of a kernel (its upper-triangle entries with their covariance)
// against one theory's prediction: the comparison type of the validation study, found by
// (theory, quantity) name. Also the estimates themselves, pooled from the study's records:
// E_post[C] from the chains' batch means and ΔC_MC = E_post[C] − E_prior[C], or all three
// from the replicates of a posterior route (importance or SMC).
#include <Eigen/Core>
#include <string>
#include <vector>

#include "validation/study_units.hpp"

namespace kernelmc::validation {

// Kernel entries estimated by Monte Carlo.
struct Estimate {
  Eigen::VectorXd entries;     // upper triangle
  Eigen::MatrixXd covariance;  // of the entries
  Eigen::Index dof = 0;        // of the covariance estimate (posterior batch means)
};

// E_post[C^(l)] of layer index li = l − 2 from `chains` of one width, pooled over their
// batch means: x̄ = Σ n_j m_j/n and Cov(x̄) = Σ_j n_j (m_j − x̄)(m_j − x̄)ᵀ / ((J − 1) n).
Estimate posterior_estimate(const std::vector<const ChainRecord*>& chains, std::size_t li);
// ΔC_MC = E_post − E_prior, covariances added (independent streams).
Estimate adaptation_estimate(const Estimate& posterior, const PriorRecord& prior, std::size_t li);

// The three estimates of layer index li at one width, whatever produced them.
struct LayerEstimates {
  Estimate posterior;   // E_post[C^(l)]
  Estimate prior;       // E_prior[C^(l)]
  Estimate adaptation;  // ΔC^(l)
};
// Chains and an independent prior record: ΔC's covariance is the sum of the two.
LayerEstimates chain_estimates(const std::vector<const ChainRecord*>& chains, const PriorRecord& prior,
                               std::size_t li);
// Importance or SMC (a route record's layer): prior and posterior from the same draws, ΔC's
// covariance from the replicates of the difference itself.
LayerEstimates route_estimates(const RouteLayerEstimate& r);
// The estimates of layer index li of one width's records (its route unit, or its chains and
// prior unit).
LayerEstimates layer_estimates(const WidthRecords& records, std::size_t li);

// One theory's prediction of one quantity of one layer.
struct Prediction {
  std::string theory;              // "nngp", "one_loop", "fb", "exact_linear"
  std::string quantity;            // "posterior_mean" | "adaptation"
  Eigen::MatrixXd value;           // P×P
  Eigen::MatrixXd standard_error;  // of the theory (Monte Carlo or quadrature), entrywise
  double reference_norm = 1.0;     // for `relative`
};

// One estimate against one prediction, over the K upper-triangle entries.
// The most kernel entries K = P(P+1)/2 a Hotelling test is computed for: P = 50 (1275
// entries, an eigendecomposition of about a second).
inline constexpr Eigen::Index kMaxHotellingEntries = 1275;

struct TheoryComparison {
  std::string theory;             // "nngp", "one_loop", "fb", "exact_linear"
  std::string quantity;           // "posterior_mean" (E_post[C]) or "adaptation" (ΔC_MC)
  Eigen::MatrixXd prediction;     // P×P
  Eigen::MatrixXd prediction_se;  // the theory's own error (Monte Carlo or quadrature), P×P
  Eigen::MatrixXd z;              // P×P z-scores, (estimate − prediction)/SE
  double frobenius = 0.0;         // D = ‖estimate − prediction‖_F
  double frobenius_se = 0.0;      // delta method with the full covariance of the entries
  double noise_frobenius = 0.0;   // √E[D²] if the prediction were exact
  double excess_frobenius = 0.0;  // √max(D² − noise², 0)
  double relative = 0.0;          // D / ‖reference‖_F (C_GP for means, δC_one-loop for ΔC)
  double relative_se = 0.0;
  double max_abs_z = 0.0;
  // The difference along the target, uᵀe/√(uᵀ Cov u) with uᵀx = ⟨X, YYᵀ⟩/‖Y‖²_F: where the
  // entries are many and each unresolved, the projection on the direction the likelihood
  // acts along can still resolve a discrepancy.
  double target_z = 0.0;
  // Thresholds where the Hotelling test is undefined, Student-t on the estimate's degrees of
  // freedom (bonferroni_t): α/2 for |target_z| (the direction the theories are about, one
  // test) and α/2 shared by the K entries' |z|, so that the family-wise rate is at most α.
  double bonferroni_z = 0.0;      // for each entry's |z|
  double target_threshold = 0.0;  // for |target_z|
  Eigen::Index entries = 0;       // K
  // Hotelling T² = eᵀ Cov⁺ e with the covariance estimated from J batch means (ν = J − 1
  // degrees of freedom): T²(ν − k + 1)/(ν k) ~ F(k, ν − k + 1), k = rank. Undefined when
  // ν < K (too few batches for K entries), and not computed beyond kMaxHotellingEntries
  // entries (its K×K eigendecomposition, O(K³), would take minutes per comparison at
  // P = 100); then max|z| and |target_z| against the Bonferroni threshold decide.
  double chi_square = 0.0;         // NaN where not computed
  double chi_square_rank = 0.0;
  double p_value = 0.0;
  bool test_defined = false;
  bool consistent = false;        // p ≥ α (or, without the test, max|z| and |target_z| ≤ the threshold)
  // N·⟨X, YYᵀ⟩/‖Y‖²_F for the predicted adaptation X (adaptation comparisons), and CKA with
  // YYᵀ of the predicted mean kernel (posterior-mean comparisons).
  double target_adaptation = 0.0;
  double cka = 0.0;
};

// `estimate` against `prediction` at family-wise false-alarm rate `alpha`, for width N
// (target_adaptation) and targets Y.
TheoryComparison compare_prediction(const Estimate& estimate, const Prediction& prediction, double alpha,
                                    double width, const Eigen::MatrixXd& Y);

// The excess Frobenius discrepancy √max(D² − noise², 0) of `estimate` against a
// comparison's prediction (the bootstrap's statistic).
double excess_frobenius(const Estimate& estimate, const TheoryComparison& comparison);

// The comparison of `theory` and `quantity` in `comparisons`, or nullptr.
const TheoryComparison* find_comparison(const std::vector<TheoryComparison>& comparisons, const std::string& theory,
                                        const std::string& quantity);

// u with uᵀx = ⟨X, YYᵀ⟩/‖Y‖²_F for x = upper_triangle(X).
Eigen::VectorXd target_functional(const Eigen::MatrixXd& Y);
// CKA with YYᵀ of a kernel given by its upper triangle, and its delta-method SE.
double cka_of(const Eigen::VectorXd& entries, const Eigen::MatrixXd& Y);
double cka_standard_error(const Eigen::VectorXd& entries, const Eigen::MatrixXd& covariance, const Eigen::MatrixXd& Y);

}  // namespace kernelmc::validation
