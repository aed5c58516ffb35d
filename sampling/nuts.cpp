#include "sampling/nuts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

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

NutsSampler::NutsSampler(const SamplerSettings& settings, Potential& potential)
    : Sampler(settings, potential) {}

TransitionInfo NutsSampler::transition(PhasePoint& state, core::Engine& engine) {
  TransitionInfo info{.step_size = step_size_};
  z_ = state;
  metric_.sample_momentum(engine, z_.p);

  PhasePoint z_fwd = z_;  // state at the forward end of the trajectory
  PhasePoint z_bck = z_;  // state at the backward end
  PhasePoint z_sample = z_;
  PhasePoint z_propose = z_;

  // Momenta and velocities at both ends of the forward and backward subtrees.
  Eigen::VectorXd p_fwd_fwd = z_.p;
  Eigen::VectorXd p_sharp_fwd_fwd = metric_.velocity(z_.p);
  Eigen::VectorXd p_fwd_bck = z_.p;
  Eigen::VectorXd p_sharp_fwd_bck = p_sharp_fwd_fwd;
  Eigen::VectorXd p_bck_fwd = z_.p;
  Eigen::VectorXd p_sharp_bck_fwd = p_sharp_fwd_fwd;
  Eigen::VectorXd p_bck_bck = z_.p;
  Eigen::VectorXd p_sharp_bck_bck = p_sharp_fwd_fwd;

  Eigen::VectorXd rho = z_.p;    // summed momenta along the trajectory
  double log_sum_weight = 0.0;   // log Σ e^{H₀−H} over the trajectory, starting point included
  Trajectory t{.engine = engine, .H0 = hamiltonian(z_, metric_), .sign = 1.0};
  const Eigen::Index dim = z_.q.size();

  while (info.tree_depth < settings_.max_tree_depth) {
    Eigen::VectorXd rho_fwd = Eigen::VectorXd::Zero(dim);
    Eigen::VectorXd rho_bck = Eigen::VectorXd::Zero(dim);
    double log_sum_weight_subtree = kMinusInfinity;
    bool valid_subtree = false;
    if (core::uniform01(engine) > 0.5) {  // extend forward
      z_ = z_fwd;
      rho_bck = rho;
      p_bck_fwd = p_fwd_bck;
      p_sharp_bck_fwd = p_sharp_fwd_bck;
      t.sign = 1.0;
      valid_subtree = build_tree(info.tree_depth, t, z_propose, p_sharp_fwd_bck, p_sharp_fwd_fwd, rho_fwd,
                                 p_fwd_bck, p_fwd_fwd, log_sum_weight_subtree);
      z_fwd = z_;
    } else {  // extend backward
      z_ = z_bck;
      rho_fwd = rho;
      p_fwd_bck = p_bck_fwd;
      p_sharp_fwd_bck = p_sharp_bck_fwd;
      t.sign = -1.0;
      valid_subtree = build_tree(info.tree_depth, t, z_propose, p_sharp_bck_fwd, p_sharp_bck_bck, rho_bck,
                                 p_bck_fwd, p_bck_bck, log_sum_weight_subtree);
      z_bck = z_;
    }
    if (!valid_subtree) break;
    ++info.tree_depth;

    // Progressive sampling biased toward the new subtree.
    if (log_sum_weight_subtree > log_sum_weight) {
      z_sample = z_propose;
    } else if (core::uniform01(engine) < std::exp(log_sum_weight_subtree - log_sum_weight)) {
      z_sample = z_propose;
    }
    log_sum_weight = log_sum_exp(log_sum_weight, log_sum_weight_subtree);

    // U-turn across the merged trajectory, and across its two halves.
    rho = rho_bck + rho_fwd;
    bool persist = no_u_turn(p_sharp_bck_bck, p_sharp_fwd_fwd, rho);
    const Eigen::VectorXd rho_bck_extended = rho_bck + p_fwd_bck;
    persist = persist && no_u_turn(p_sharp_bck_bck, p_sharp_fwd_bck, rho_bck_extended);
    const Eigen::VectorXd rho_fwd_extended = rho_fwd + p_bck_fwd;
    persist = persist && no_u_turn(p_sharp_bck_fwd, p_sharp_fwd_fwd, rho_fwd_extended);
    if (!persist) break;
  }

  info.n_leapfrog = t.n_leapfrog;
  info.divergent = t.divergent;
  info.accept_stat = t.sum_metro_prob / static_cast<double>(t.n_leapfrog);
  state = z_sample;
  info.energy = hamiltonian(state, metric_);
  adapt(info, state, engine);
  return info;
}

bool NutsSampler::build_tree(int depth, Trajectory& t, PhasePoint& z_propose, Eigen::VectorXd& p_sharp_beg,
                             Eigen::VectorXd& p_sharp_end, Eigen::VectorXd& rho, Eigen::VectorXd& p_beg,
                             Eigen::VectorXd& p_end, double& log_sum_weight) {
  if (depth == 0) {  // one leapfrog step
    leapfrog(z_, metric_, potential_, t.sign * step_size_);
    ++t.n_leapfrog;
    double H = hamiltonian(z_, metric_);
    if (std::isnan(H)) H = std::numeric_limits<double>::infinity();
    if (is_divergent(H - t.H0, settings_.max_energy_error)) t.divergent = true;
    log_sum_weight = log_sum_exp(log_sum_weight, t.H0 - H);
    t.sum_metro_prob += t.H0 - H > 0 ? 1.0 : std::exp(t.H0 - H);
    z_propose = z_;
    p_sharp_beg = metric_.velocity(z_.p);
    p_sharp_end = p_sharp_beg;
    rho += z_.p;
    p_beg = z_.p;
    p_end = p_beg;
    return !t.divergent;
  }

  // The initial subtree.
  const Eigen::Index dim = z_.q.size();
  double log_sum_weight_init = kMinusInfinity;
  Eigen::VectorXd p_init_end(dim);
  Eigen::VectorXd p_sharp_init_end(dim);
  Eigen::VectorXd rho_init = Eigen::VectorXd::Zero(dim);
  if (!build_tree(depth - 1, t, z_propose, p_sharp_beg, p_sharp_init_end, rho_init, p_beg, p_init_end,
                  log_sum_weight_init))
    return false;

  // The final subtree.
  PhasePoint z_propose_final = z_;
  double log_sum_weight_final = kMinusInfinity;
  Eigen::VectorXd p_final_beg(dim);
  Eigen::VectorXd p_sharp_final_beg(dim);
  Eigen::VectorXd rho_final = Eigen::VectorXd::Zero(dim);
  if (!build_tree(depth - 1, t, z_propose_final, p_sharp_final_beg, p_sharp_end, rho_final, p_final_beg,
                  p_end, log_sum_weight_final))
    return false;

  // Uniform multinomial choice between the two subtrees.
  const double log_sum_weight_subtree = log_sum_exp(log_sum_weight_init, log_sum_weight_final);
  log_sum_weight = log_sum_exp(log_sum_weight, log_sum_weight_subtree);
  if (log_sum_weight_final > log_sum_weight_subtree) {
    z_propose = z_propose_final;
  } else if (core::uniform01(t.engine) < std::exp(log_sum_weight_final - log_sum_weight_subtree)) {
    z_propose = z_propose_final;
  }

  // U-turn across the merged subtree, and across its two halves.
  const Eigen::VectorXd rho_subtree = rho_init + rho_final;
  rho += rho_subtree;
  bool persist = no_u_turn(p_sharp_beg, p_sharp_end, rho_subtree);
  const Eigen::VectorXd rho_init_extended = rho_init + p_final_beg;
  persist = persist && no_u_turn(p_sharp_beg, p_sharp_final_beg, rho_init_extended);
  const Eigen::VectorXd rho_final_extended = rho_final + p_init_end;
  persist = persist && no_u_turn(p_sharp_init_end, p_sharp_end, rho_final_extended);
  return persist;
}

}  // namespace kernelmc::sampling
