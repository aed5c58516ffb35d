#include "sampling/nuts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "sampling/integrators.hpp"

namespace kernelmc::sampling {

namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

// log(e^a + e^b), exact when one side is −inf.
double log_sum_exp(double a, double b) {
  if (a == kMinusInfinity) return b;
  if (b == kMinusInfinity) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(std::min(a, b) - m));
}

// No U-turn across a (sub)trajectory with ends' velocities p♯₋, p♯₊ and summed momenta ρ.
bool no_u_turn(const Eigen::VectorXd& p_sharp_minus, const Eigen::VectorXd& p_sharp_plus,
               const Eigen::VectorXd& rho) {
  return p_sharp_plus.dot(rho) > 0 && p_sharp_minus.dot(rho) > 0;
}

}  // namespace

NutsSampler::SubtreeWorkspace::SubtreeWorkspace(Eigen::Index dim)
    : z_propose_final{Eigen::VectorXd(dim), Eigen::VectorXd(dim), Eigen::VectorXd(dim), 0.0},
      p_init_end(dim), p_sharp_init_end(dim), rho_init(dim), p_final_beg(dim), p_sharp_final_beg(dim),
      rho_final(dim), rho_sum(dim) {}

NutsSampler::TrajectoryEnds::TrajectoryEnds(Eigen::Index dim)
    : p_fwd_fwd(dim), p_sharp_fwd_fwd(dim), p_fwd_bck(dim), p_sharp_fwd_bck(dim), p_bck_fwd(dim),
      p_sharp_bck_fwd(dim), p_bck_bck(dim), p_sharp_bck_bck(dim) {}

NutsSampler::NutsSampler(const SamplerSettings& settings, Potential& potential)
    : Sampler(settings, potential), ends_(potential.dimension()), rho_(potential.dimension()),
      rho_fwd_(potential.dimension()), rho_bck_(potential.dimension()),
      rho_extended_(potential.dimension()) {
  subtrees_.reserve(static_cast<std::size_t>(settings.max_tree_depth));
}

NutsSampler::SubtreeWorkspace& NutsSampler::subtree_workspace(int depth) {
  // Grows only when build_tree enters a new greatest depth, before any caller holds a
  // reference into subtrees_ (deeper calls have made the vector large enough already).
  while (subtrees_.size() < static_cast<std::size_t>(depth)) subtrees_.emplace_back(z_.q.size());
  return subtrees_[static_cast<std::size_t>(depth - 1)];
}

double NutsSampler::start_trajectory(const PhasePoint& state, core::Engine& engine) {
  z_ = state;
  metric_.sample_momentum(engine, z_.p);
  z_fwd_ = z_;
  z_bck_ = z_;
  z_sample_ = z_;
  z_propose_ = z_;
  TrajectoryEnds& e = ends_;
  e.p_fwd_fwd = z_.p;
  metric_.velocity(z_.p, e.p_sharp_fwd_fwd);
  e.p_fwd_bck = z_.p;
  e.p_sharp_fwd_bck = e.p_sharp_fwd_fwd;
  e.p_bck_fwd = z_.p;
  e.p_sharp_bck_fwd = e.p_sharp_fwd_fwd;
  e.p_bck_bck = z_.p;
  e.p_sharp_bck_bck = e.p_sharp_fwd_fwd;
  rho_ = z_.p;
  return hamiltonian(z_, metric_);
}

TransitionInfo NutsSampler::step(PhasePoint& state, core::Engine& engine) {
  TransitionInfo info{.step_size = step_size_};
  Trajectory t{.engine = engine, .H0 = start_trajectory(state, engine), .sign = 1.0};
  double log_sum_weight = 0.0;  // log Σ e^{H₀−H} over the trajectory, starting point included
  while (info.tree_depth < settings_.max_tree_depth) {
    const bool valid_subtree = double_trajectory(info.tree_depth, t, log_sum_weight);
    if (valid_subtree) ++info.tree_depth;
    if (!valid_subtree || !no_u_turn_of_merged_trajectory()) break;
  }
  info.n_leapfrog = t.n_leapfrog;
  info.divergent = t.divergent;
  info.accept_stat = t.sum_metro_prob / static_cast<double>(t.n_leapfrog);
  std::swap(state, z_sample_);
  info.energy = hamiltonian(state, metric_);
  return info;
}

bool NutsSampler::double_trajectory(int depth, Trajectory& t, double& log_sum_weight) {
  TrajectoryEnds& e = ends_;
  rho_fwd_.setZero();
  rho_bck_.setZero();
  double log_sum_weight_subtree = kMinusInfinity;
  bool valid_subtree = false;
  if (core::uniform01(t.engine) > 0.5) {  // extend forward
    z_ = z_fwd_;
    rho_bck_ = rho_;
    e.p_bck_fwd = e.p_fwd_bck;
    e.p_sharp_bck_fwd = e.p_sharp_fwd_bck;
    t.sign = 1.0;
    valid_subtree = build_tree(depth, t, z_propose_, e.p_sharp_fwd_bck, e.p_sharp_fwd_fwd, rho_fwd_,
                               e.p_fwd_bck, e.p_fwd_fwd, log_sum_weight_subtree);
    std::swap(z_fwd_, z_);
  } else {  // extend backward
    z_ = z_bck_;
    rho_fwd_ = rho_;
    e.p_fwd_bck = e.p_bck_fwd;
    e.p_sharp_fwd_bck = e.p_sharp_bck_fwd;
    t.sign = -1.0;
    valid_subtree = build_tree(depth, t, z_propose_, e.p_sharp_bck_fwd, e.p_sharp_bck_bck, rho_bck_,
                               e.p_bck_fwd, e.p_bck_bck, log_sum_weight_subtree);
    std::swap(z_bck_, z_);
  }
  if (!valid_subtree) return false;
  // Progressive sampling biased toward the new subtree.
  if (log_sum_weight_subtree > log_sum_weight) {
    std::swap(z_sample_, z_propose_);
  } else if (core::uniform01(t.engine) < std::exp(log_sum_weight_subtree - log_sum_weight)) {
    std::swap(z_sample_, z_propose_);
  }
  log_sum_weight = log_sum_exp(log_sum_weight, log_sum_weight_subtree);
  return true;
}

bool NutsSampler::no_u_turn_of_merged_trajectory() {
  // U-turn across the merged trajectory, and across its two halves.
  const TrajectoryEnds& e = ends_;
  rho_ = rho_bck_ + rho_fwd_;
  if (!no_u_turn(e.p_sharp_bck_bck, e.p_sharp_fwd_fwd, rho_)) return false;
  rho_extended_ = rho_bck_ + e.p_fwd_bck;
  if (!no_u_turn(e.p_sharp_bck_bck, e.p_sharp_fwd_bck, rho_extended_)) return false;
  rho_extended_ = rho_fwd_ + e.p_bck_fwd;
  return no_u_turn(e.p_sharp_bck_fwd, e.p_sharp_fwd_fwd, rho_extended_);
}

bool NutsSampler::leapfrog_leaf(Trajectory& t, PhasePoint& z_propose, Eigen::VectorXd& p_sharp_beg,
                                Eigen::VectorXd& p_sharp_end, Eigen::VectorXd& rho, Eigen::VectorXd& p_beg,
                                Eigen::VectorXd& p_end, double& log_sum_weight) {
  leapfrog(z_, metric_, potential_, t.sign * step_size_);
  ++t.n_leapfrog;
  double H = hamiltonian(z_, metric_);
  if (std::isnan(H)) H = std::numeric_limits<double>::infinity();
  if (is_divergent(H - t.H0, settings_.max_energy_error)) t.divergent = true;
  log_sum_weight = log_sum_exp(log_sum_weight, t.H0 - H);
  t.sum_metro_prob += t.H0 - H > 0 ? 1.0 : std::exp(t.H0 - H);
  z_propose = z_;
  metric_.velocity(z_.p, p_sharp_beg);
  p_sharp_end = p_sharp_beg;
  rho += z_.p;
  p_beg = z_.p;
  p_end = p_beg;
  return !t.divergent;
}

bool NutsSampler::build_tree(int depth, Trajectory& t, PhasePoint& z_propose, Eigen::VectorXd& p_sharp_beg,
                             Eigen::VectorXd& p_sharp_end, Eigen::VectorXd& rho, Eigen::VectorXd& p_beg,
                             Eigen::VectorXd& p_end, double& log_sum_weight) {
  if (depth == 0) return leapfrog_leaf(t, z_propose, p_sharp_beg, p_sharp_end, rho, p_beg, p_end, log_sum_weight);
  SubtreeWorkspace& w = subtree_workspace(depth);

  // The initial subtree.
  double log_sum_weight_init = kMinusInfinity;
  w.rho_init.setZero();
  if (!build_tree(depth - 1, t, z_propose, p_sharp_beg, w.p_sharp_init_end, w.rho_init, p_beg, w.p_init_end,
                  log_sum_weight_init))
    return false;

  // The final subtree.
  double log_sum_weight_final = kMinusInfinity;
  w.rho_final.setZero();
  if (!build_tree(depth - 1, t, w.z_propose_final, w.p_sharp_final_beg, p_sharp_end, w.rho_final,
                  w.p_final_beg, p_end, log_sum_weight_final))
    return false;

  // Uniform multinomial choice between the two subtrees.
  const double log_sum_weight_subtree = log_sum_exp(log_sum_weight_init, log_sum_weight_final);
  log_sum_weight = log_sum_exp(log_sum_weight, log_sum_weight_subtree);
  if (log_sum_weight_final > log_sum_weight_subtree) {
    std::swap(z_propose, w.z_propose_final);
  } else if (core::uniform01(t.engine) < std::exp(log_sum_weight_final - log_sum_weight_subtree)) {
    std::swap(z_propose, w.z_propose_final);
  }

  // U-turn across the merged subtree, and across its two halves.
  w.rho_sum = w.rho_init + w.rho_final;
  rho += w.rho_sum;
  if (!no_u_turn(p_sharp_beg, p_sharp_end, w.rho_sum)) return false;
  w.rho_sum = w.rho_init + w.p_final_beg;
  if (!no_u_turn(p_sharp_beg, w.p_sharp_final_beg, w.rho_sum)) return false;
  w.rho_sum = w.rho_final + w.p_init_end;
  return no_u_turn(w.p_sharp_init_end, p_sharp_end, w.rho_sum);
}

}  // namespace kernelmc::sampling
