#pragma once
// The No-U-Turn sampler (Hoffman & Gelman 2014) in Stan's form (base_nuts.hpp;
// Betancourt 2017, arXiv:1701.02434, §A.3–A.4):
//  - the trajectory doubles in a random direction until a U-turn or max_tree_depth;
//  - points are drawn by multinomial sampling with weights e^{−H}: progressive
//    sampling biased toward the new subtree at the top level, uniform inside subtrees;
//  - the U-turn criterion p♯₋·ρ > 0 and p♯₊·ρ > 0 (p♯ = M⁻¹p, ρ the summed momenta) is
//    checked on every merged tree and, as in Stan since 2.26, also across the two
//    subtrees of each merge (their ends joined by one extra momentum);
//  - a step with H − H₀ > max_energy_error (1000) or a NaN energy (counted as infinite)
//    is divergent: its subtree is discarded and the trajectory ends.
// accept_stat is the mean of min(1, e^{H₀−H}) over all leapfrog steps taken.
#include "sampling/sampler.hpp"

namespace kernelmc::sampling {

class NutsSampler final : public Sampler {
 public:
  // `settings` must have passed validate(); `potential` must outlive the sampler.
  NutsSampler(const SamplerSettings& settings, Potential& potential);

  TransitionInfo transition(PhasePoint& state, core::Engine& engine) override;

 private:
  // Bookkeeping of one trajectory, shared by the recursion.
  struct Trajectory {
    core::Engine& engine;
    double H0;              // energy at the start
    double sign;            // +1 forward, −1 backward in time
    int n_leapfrog = 0;
    double sum_metro_prob = 0.0;
    bool divergent = false;
  };

  // Stan's base_nuts::build_tree: extends z_ by 2^depth steps in direction t.sign.
  // Returns false if the subtree diverged or made a U-turn (then it must be discarded).
  bool build_tree(int depth, Trajectory& t, PhasePoint& z_propose, Eigen::VectorXd& p_sharp_beg,
                  Eigen::VectorXd& p_sharp_end, Eigen::VectorXd& rho, Eigen::VectorXd& p_beg,
                  Eigen::VectorXd& p_end, double& log_sum_weight);

  PhasePoint z_;  // the moving end of the trajectory
};

}  // namespace kernelmc::sampling
