#include "core/kernel_stack.hpp"

#include <cassert>

namespace kernelmc::core {

Eigen::VectorXd upper_triangle(const Eigen::Ref<const Eigen::MatrixXd>& symmetric) {
  const Eigen::Index P = symmetric.rows();
  Eigen::VectorXd out(triangle_size(P));
  Eigen::Index k = 0;
  for (Eigen::Index a = 0; a < P; ++a) {
    for (Eigen::Index b = a; b < P; ++b) out(k++) = symmetric(a, b);
  }
  return out;
}

Eigen::MatrixXd from_upper_triangle(const Eigen::Ref<const Eigen::VectorXd>& entries,
                                    Eigen::Index points) {
  assert(entries.size() == triangle_size(points));
  Eigen::MatrixXd out(points, points);
  Eigen::Index k = 0;
  for (Eigen::Index a = 0; a < points; ++a) {
    for (Eigen::Index b = a; b < points; ++b) {
      out(a, b) = entries(k);
      out(b, a) = entries(k);
      ++k;
    }
  }
  return out;
}

Eigen::Index triangle_index(Eigen::Index a, Eigen::Index b, Eigen::Index points) {
  if (a > b) std::swap(a, b);
  // Rows 0..a-1 hold P + (P-1) + … + (P-a+1) = a·P − a(a−1)/2 entries.
  return a * points - a * (a - 1) / 2 + (b - a);
}

std::pair<Eigen::Index, Eigen::Index> triangle_pair(Eigen::Index k, Eigen::Index points) {
  Eigen::Index a = 0;
  while (k >= points - a) {
    k -= points - a;
    ++a;
  }
  return {a, a + k};
}

}  // namespace kernelmc::core
