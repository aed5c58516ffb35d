#include "sampling/diagnostics/autocovariance.hpp"

#include <cassert>
#include <complex>
#include <unsupported/Eigen/FFT>
#include <vector>

namespace kernelmc::sampling {

namespace {

// Smallest m ≥ n whose only prime factors are 2, 3 and 5 (R's nextn()): kissfft's
// fast radices.
Eigen::Index next_smooth_size(Eigen::Index n) {
  for (Eigen::Index m = n;; ++m) {
    Eigen::Index rest = m;
    for (const Eigen::Index p : {2, 3, 5})
      while (rest % p == 0) rest /= p;
    if (rest == 1) return m;
  }
}

}  // namespace

Eigen::MatrixXd autocovariance(const Eigen::Ref<const Eigen::MatrixXd>& chains) {
  assert(chains.allFinite());
  const Eigen::Index n = chains.rows();
  Eigen::MatrixXd acov = Eigen::MatrixXd::Zero(n, chains.cols());
  if (n == 0) return acov;
  // Padding to ≥ 2n turns the FFT's circular correlation into the linear one.
  const Eigen::Index padded_size = 2 * next_smooth_size(n);

  Eigen::FFT<double> fft;
  fft.SetFlag(Eigen::FFT<double>::HalfSpectrum);  // real input: half the spectrum suffices
  std::vector<double> padded(static_cast<std::size_t>(padded_size), 0.0);
  std::vector<std::complex<double>> spectrum;
  std::vector<double> circular;
  for (Eigen::Index c = 0; c < chains.cols(); ++c) {
    if (chains.col(c).maxCoeff() == chains.col(c).minCoeff()) continue;  // constant: zeros
    Eigen::Map<Eigen::VectorXd> centred(padded.data(), n);  // the rest stays zero
    centred.array() = chains.col(c).array() - chains.col(c).mean();
    const double sum_squares = centred.squaredNorm();
    fft.fwd(spectrum, padded);
    for (std::complex<double>& s : spectrum) s = std::norm(s);  // power spectrum |ŷ|²
    fft.inv(circular, spectrum, padded_size);
    // Normalise by lag 0, as posterior does, so that γ̂_0 = Σ(x − x̄)² / n.
    const double scale = (sum_squares / static_cast<double>(n)) / circular[0];
    acov.col(c) = Eigen::Map<const Eigen::VectorXd>(circular.data(), n) * scale;
  }
  return acov;
}

}  // namespace kernelmc::sampling
