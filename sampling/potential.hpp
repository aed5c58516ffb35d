#pragma once
// The target of every sampler: a potential U(q) = −log density + const on ℝ^dim
// (THEORY.md §1.4–1.5). Potentials keep workspace buffers, so their evaluation
// methods are non-const; each chain owns its own copy, made with clone().
#include <Eigen/Core>
#include <memory>

namespace kernelmc::sampling {

class Potential {
 public:
  virtual ~Potential() = default;

  // Number of coordinates of q.
  virtual Eigen::Index dimension() const = 0;

  // U(q). May return +inf or NaN where the density vanishes or the model breaks
  // down; samplers treat a non-finite energy as a divergence.
  virtual double value(const Eigen::Ref<const Eigen::VectorXd>& q) = 0;

  // U(q), and ∇U(q) written into `gradient` (sized dimension() by the caller).
  virtual double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& q,
                                    Eigen::Ref<Eigen::VectorXd> gradient) = 0;

  // An independent copy with its own workspace, for another chain.
  virtual std::unique_ptr<Potential> clone() const = 0;

  // Threads one evaluation may use (one chain's share; default 1). Potentials that split
  // their work do so into fixed blocks, so results never depend on it.
  virtual void set_threads(int threads) { (void)threads; }
};

}  // namespace kernelmc::sampling
