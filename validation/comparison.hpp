#pragma once
// Discrepancies between a Monte Carlo estimate and a prediction, with Monte Carlo
// error bars: z-scores, chi-square tests, relative Frobenius distances with jackknife
// standard errors over independent batches.
#include <Eigen/Core>
#include <vector>

#include "validation/theory_comparison.hpp"

namespace kernelmc::validation {

// z = (estimate − prediction) / √(se_mc² + se_theory²) entrywise; NaN where the
// combined SE is 0 or not finite.
Eigen::MatrixXd z_scores(const Eigen::Ref<const Eigen::MatrixXd>& estimate,
                         const Eigen::Ref<const Eigen::MatrixXd>& prediction,
                         const Eigen::Ref<const Eigen::MatrixXd>& standard_error,
                         const Eigen::Ref<const Eigen::MatrixXd>& theory_standard_error);

// Jackknife standard error from B leave-one-batch-out replicates:
// √((B−1)/B · Σ_b (θ_(−b) − θ̄)²) (Efron & Stein 1981), entrywise.
Eigen::MatrixXd jackknife_standard_error(const std::vector<Eigen::MatrixXd>& leave_one_out);
double jackknife_standard_error(const std::vector<double>& leave_one_out);

// Two-sided Bonferroni threshold: Φ⁻¹(1 − alpha / (2k)).
double bonferroni_z(double family_alpha, Eigen::Index comparisons);
// The same for z-scores whose SEs come from `dof` degrees of freedom (batch means or
// replicates): the Student-t quantile t_dof⁻¹(1 − alpha / (2k)); bonferroni_z for dof ≤ 0.
double bonferroni_t(double family_alpha, Eigen::Index comparisons, Eigen::Index dof);

struct ChiSquareTest {
  double statistic = 0.0;  // eᵀ Σ⁺ e
  double dof = 0.0;        // rank of Σ
  double p_value = 1.0;    // upper tail of χ²_dof
};

// Tests e ~ N(0, covariance) with the pseudo-inverse over eigenvalues above
// 1e-10·λ_max (kernel entries can be exactly linearly dependent, e.g. a linear
// network with d < P).
ChiSquareTest chi_square_test(const Eigen::Ref<const Eigen::VectorXd>& difference,
                              const Eigen::Ref<const Eigen::MatrixXd>& covariance);

// One estimate against one prediction as a TheoryComparison (theory and quantity left
// empty for the caller; relative = D/‖prediction‖_F; bonferroni_z at family-wise α = 0.01;
// no Hotelling test: chi_square, p_value stay 0, test_defined false). estimate and
// prediction of equal shape; se and theory_se per entry; the leave-one-batch-out replicates
// of the estimate give the jackknife SE of D.
// `entry_mask` (same shape, 1 = compared) selects unique entries for z and the
// Bonferroni count (e.g. the upper triangle of a symmetric matrix); D uses all entries.
TheoryComparison compare(const Eigen::Ref<const Eigen::MatrixXd>& estimate,
                    const Eigen::Ref<const Eigen::MatrixXd>& prediction,
                    const Eigen::Ref<const Eigen::MatrixXd>& standard_error,
                    const Eigen::Ref<const Eigen::MatrixXd>& theory_standard_error,
                    const std::vector<Eigen::MatrixXd>& leave_one_out,
                    const Eigen::Ref<const Eigen::MatrixXd>& entry_mask);

}  // namespace kernelmc::validation
