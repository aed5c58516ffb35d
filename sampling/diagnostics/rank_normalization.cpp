#include "sampling/diagnostics/rank_normalization.hpp"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <numeric>
#include <vector>

#include "sampling/diagnostics/sample_quantile.hpp"

namespace kernelmc::sampling {

namespace {

// Blom's offset c in (r − c) / (S − 2c + 1) (posterior's backtransform_ranks default).
constexpr double kRankOffset = 3.0 / 8.0;

}  // namespace

Eigen::MatrixXd rank_normalize(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  const Eigen::Index S = draws.size();
  const Eigen::MatrixXd x = draws;  // contiguous, column-major: entry i is x.data()[i]
  std::vector<Eigen::Index> order(static_cast<std::size_t>(S));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  // NaN last, as R's rank(na.last = TRUE).
  std::sort(order.begin(), order.end(), [&x](Eigen::Index a, Eigen::Index b) {
    const double xa = x.data()[a];
    const double xb = x.data()[b];
    if (std::isnan(xb)) return !std::isnan(xa);
    return xa < xb;
  });

  const boost::math::normal standard_normal;
  const double denominator = static_cast<double>(S) - 2.0 * kRankOffset + 1.0;
  Eigen::MatrixXd z(draws.rows(), draws.cols());
  Eigen::Index first = 0;
  while (first < S) {
    const double value = x.data()[order[first]];
    Eigen::Index last = first + 1;  // one past the tie group [first, last)
    while (last < S && x.data()[order[last]] == value) ++last;
    if (std::isnan(value)) {
      for (Eigen::Index k = first; k < S; ++k) z.data()[order[k]] = value;
      break;
    }
    // Ranks first+1 .. last share their average.
    const double rank = 0.5 * static_cast<double>(first + 1 + last);
    const double score =
        boost::math::quantile(standard_normal, (rank - kRankOffset) / denominator);
    for (Eigen::Index k = first; k < last; ++k) z.data()[order[k]] = score;
    first = last;
  }
  return z;
}

Eigen::MatrixXd fold_draws(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  return (draws.array() - sample_median(draws)).abs().matrix();
}

}  // namespace kernelmc::sampling
