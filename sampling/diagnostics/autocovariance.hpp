#pragma once
// Autocovariances of each chain, the input of Geyer's initial-sequence ESS (Vehtari
// et al. 2021, arXiv:1903.08008, §3.2; Geyer 1992). Computed by FFT as R posterior's
// autocovariance() does, so chains of 10⁴ draws and more cost O(n log n).
#include <Eigen/Core>

namespace kernelmc::sampling {

// Column c of the result is the biased autocovariance of chain c at lags 0..n−1:
//   γ̂_t = (1/n) Σ_{i=0}^{n−1−t} (x_i − x̄)(x_{i+t} − x̄),
// from a zero-padded FFT of length 2·M (M ≥ n the next 2-3-5-smooth size), rescaled so
// that γ̂_0 is exactly the biased variance. A constant chain gives all zeros. The draws
// must be finite.
Eigen::MatrixXd autocovariance(const Eigen::Ref<const Eigen::MatrixXd>& chains);

}  // namespace kernelmc::sampling
