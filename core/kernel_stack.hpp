#pragma once
// The P×P kernels of all layers, C^(1) (input kernel) .. C^(L+1) (output kernel),
// indexed exactly as in THEORY.md: kernels.layer(l) is C^(l).
#include <Eigen/Core>
#include <cassert>
#include <vector>

namespace kernelmc::core {

struct KernelStack {
  std::vector<Eigen::MatrixXd> kernels;  // kernels[l - 1] = C^(l), l = 1..L+1

  // L + 1, the number of the output kernel.
  Eigen::Index top_layer() const { return static_cast<Eigen::Index>(kernels.size()); }
  Eigen::MatrixXd& layer(Eigen::Index l) {
    assert(l >= 1 && l <= top_layer());
    return kernels[static_cast<std::size_t>(l - 1)];
  }
  const Eigen::MatrixXd& layer(Eigen::Index l) const {
    assert(l >= 1 && l <= top_layer());
    return kernels[static_cast<std::size_t>(l - 1)];
  }
};

// A stack of L+1 zero P×P matrices.
inline KernelStack zero_kernel_stack(Eigen::Index top_layer, Eigen::Index points) {
  return KernelStack{std::vector<Eigen::MatrixXd>(static_cast<std::size_t>(top_layer),
                                                  Eigen::MatrixXd::Zero(points, points))};
}

// Index helpers for the upper triangle of a symmetric P×P matrix, row-major over
// (a ≤ b): (0,0), (0,1), …, (0,P−1), (1,1), …  K = P(P+1)/2 entries.
inline Eigen::Index triangle_size(Eigen::Index points) { return points * (points + 1) / 2; }
Eigen::VectorXd upper_triangle(const Eigen::Ref<const Eigen::MatrixXd>& symmetric);
Eigen::MatrixXd from_upper_triangle(const Eigen::Ref<const Eigen::VectorXd>& entries,
                                    Eigen::Index points);
// The (a, b) pair of upper-triangle entry k, and the reverse.
std::pair<Eigen::Index, Eigen::Index> triangle_pair(Eigen::Index k, Eigen::Index points);
Eigen::Index triangle_index(Eigen::Index a, Eigen::Index b, Eigen::Index points);

}  // namespace kernelmc::core
