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
// Every buffer of the trajectory is a member (per tree depth for the recursion), so a
// transition allocates nothing once the trajectory has reached its depth before; states
// move between buffers by swaps, never copies, where the source is dead afterwards.
#include <vector>

#include "sampling/sampler.hpp"

namespace kernelmc::sampling {

class NutsSampler final : public Sampler {
 public:
  // `settings` must have passed validate(); `potential` must outlive the sampler.
  NutsSampler(const SamplerSettings& settings, Potential& potential);

 protected:
  TransitionInfo step(PhasePoint& state, core::Engine& engine) override;

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

  // The locals of one build_tree call of depth ≥ 1 (Stan's), kept between transitions so
  // that a trajectory allocates nothing: subtrees_[depth] serves every call at that depth.
  struct SubtreeWorkspace {
    explicit SubtreeWorkspace(Eigen::Index dim);
    PhasePoint z_propose_final;
    Eigen::VectorXd p_init_end, p_sharp_init_end, rho_init;
    Eigen::VectorXd p_final_beg, p_sharp_final_beg, rho_final;
    Eigen::VectorXd rho_sum;  // ρ of the merged subtree, then of each half extended by one momentum
  };

  // Momenta (p) and velocities (p♯ = M⁻¹p) at the two ends of the forward and backward
  // parts of the trajectory, as in Stan's transition: p_fwd_bck is the backward end of
  // the forward part, and so on.
  struct TrajectoryEnds {
    explicit TrajectoryEnds(Eigen::Index dim);
    Eigen::VectorXd p_fwd_fwd, p_sharp_fwd_fwd, p_fwd_bck, p_sharp_fwd_bck;
    Eigen::VectorXd p_bck_fwd, p_sharp_bck_fwd, p_bck_bck, p_sharp_bck_bck;
  };

  // Starts a trajectory at `state` with a fresh momentum; returns its H₀.
  double start_trajectory(const PhasePoint& state, core::Engine& engine);
  // Doubles the trajectory in a random direction and merges the new subtree. Returns
  // false when the trajectory ends (the subtree diverged or made a U-turn, or the merged
  // trajectory did).
  bool double_trajectory(int depth, Trajectory& t, double& log_sum_weight);
  // The U-turn criterion on the merged trajectory and across its two parts (sets ρ).
  bool no_u_turn_of_merged_trajectory();

  // Stan's base_nuts::build_tree: extends z_ by 2^depth steps in direction t.sign.
  // Returns false if the subtree diverged or made a U-turn (then it must be discarded).
  bool build_tree(int depth, Trajectory& t, PhasePoint& z_propose, Eigen::VectorXd& p_sharp_beg,
                  Eigen::VectorXd& p_sharp_end, Eigen::VectorXd& rho, Eigen::VectorXd& p_beg,
                  Eigen::VectorXd& p_end, double& log_sum_weight);
  bool leapfrog_leaf(Trajectory& t, PhasePoint& z_propose, Eigen::VectorXd& p_sharp_beg,
                     Eigen::VectorXd& p_sharp_end, Eigen::VectorXd& rho, Eigen::VectorXd& p_beg,
                     Eigen::VectorXd& p_end, double& log_sum_weight);
  // The workspace of build_tree at `depth` (≥ 1), created the first time a trajectory
  // reaches that depth (at most max_tree_depth allocations in a chain's life).
  SubtreeWorkspace& subtree_workspace(int depth);

  PhasePoint z_;         // the moving end of the trajectory
  PhasePoint z_fwd_;     // the state at the forward end
  PhasePoint z_bck_;     // the state at the backward end
  PhasePoint z_sample_;  // the state drawn so far
  PhasePoint z_propose_; // the state drawn from the newest subtree
  TrajectoryEnds ends_;
  Eigen::VectorXd rho_, rho_fwd_, rho_bck_;  // summed momenta of the trajectory, its forward and backward parts
  Eigen::VectorXd rho_extended_;             // ρ of one part extended by one momentum
  std::vector<SubtreeWorkspace> subtrees_;   // [depth − 1], depth ≥ 1
};

}  // namespace kernelmc::sampling
