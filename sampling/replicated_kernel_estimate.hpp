#pragma once
// Posterior and prior kernel estimates of every layer from R independent replicates
// (importance-sampling batches of networks, or independent SMC runs), with the adaptation
// ΔC^(l) = E_post[C^(l)] − E_prior[C^(l)] measured on the same draws (THEORY.md §4.7,
// §9.4): the common fluctuation of the two means cancels in the difference.
// Standard errors are replicate (batch) means: SE = sd_r / √R with R − 1 degrees of
// freedom (Student t in tests); a linear functional of ΔC gets its SE the same way, from
// its value on each replicate.
#include <Eigen/Core>
#include <functional>
#include <vector>

#include "core/kernel_stack.hpp"

namespace kernelmc::sampling {

struct ReplicatedKernelEstimate {
  // Point estimates, layers 1..L+1 (layer 1, the input kernel, is exact).
  core::KernelStack posterior_mean;  // E_post[C^(l)]
  core::KernelStack prior_mean;      // E_prior[C^(l)]
  // Per replicate r: its own estimates (the point estimates pool or average them).
  std::vector<core::KernelStack> posterior_replicates;
  std::vector<core::KernelStack> prior_replicates;

  Eigen::Index replicates() const { return static_cast<Eigen::Index>(posterior_replicates.size()); }
  Eigen::Index degrees_of_freedom() const { return replicates() - 1; }
  Eigen::MatrixXd adaptation(Eigen::Index layer) const;        // ΔC^(l) = posterior − prior
  Eigen::MatrixXd posterior_error(Eigen::Index layer) const;   // entrywise SE of E_post[C^(l)]
  Eigen::MatrixXd prior_error(Eigen::Index layer) const;       // entrywise SE of E_prior[C^(l)]
  Eigen::MatrixXd adaptation_error(Eigen::Index layer) const;  // entrywise SE of ΔC^(l)
  // SE of f(ΔC^(l)) for a linear f (e.g. N·ŷᵀΔCŷ), from f on each replicate.
  double adaptation_functional_error(Eigen::Index layer,
                                     const std::function<double(const Eigen::MatrixXd&)>& f) const;
};

// sd/√R of R values (R ≥ 2; NaN otherwise).
double replicate_standard_error(const Eigen::Ref<const Eigen::VectorXd>& values);

}  // namespace kernelmc::sampling
