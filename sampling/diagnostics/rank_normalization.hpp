#pragma once
// The two transformations Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
// arXiv:1903.08008, apply before the classical R̂ and ESS estimators:
//   - rank normalisation (§4.1, eq. 14): pooled ranks mapped to normal scores, so the
//     bulk diagnostics exist for heavy-tailed draws and ignore monotone transforms;
//   - folding (§4.2): |θ − median θ|, whose rank-normalised R̂ detects chains that
//     differ in scale (the tails) rather than in location.
#include <Eigen/Core>

namespace kernelmc::sampling {

// z-scores of the pooled fractional ranks: z = Φ⁻¹((r − 3/8) / (S − 2·3/8 + 1)), with r
// the rank of each draw among all S entries (ties get their average rank) and Blom's
// offset 3/8 (R posterior 1.4.0, z_scale()). Same shape as `draws`. A NaN entry stays
// NaN and, as in R's rank(), counts as larger than every number.
Eigen::MatrixXd rank_normalize(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// |draws − median(draws)|, the median taken over all entries (posterior's fold_draws()).
Eigen::MatrixXd fold_draws(const Eigen::Ref<const Eigen::MatrixXd>& draws);

}  // namespace kernelmc::sampling
