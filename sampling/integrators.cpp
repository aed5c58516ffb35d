#include "sampling/integrators.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.hpp"

namespace kernelmc::sampling {

namespace {

// A buffer of n standard normals for the Langevin steps: one per thread (each chain
// runs on one thread at a time), resized only when the dimension changes, so a step
// allocates nothing.
Eigen::VectorXd& noise_buffer(Eigen::Index n) {
  thread_local Eigen::VectorXd buffer;
  if (buffer.size() != n) buffer.resize(n);
  return buffer;
}

}  // namespace

PhasePoint make_phase_point(Potential& potential, const Eigen::Ref<const Eigen::VectorXd>& q) {
  PhasePoint z{q, Eigen::VectorXd::Zero(q.size()), Eigen::VectorXd(q.size()), 0.0};
  update_potential_gradient(z, potential);
  if (!std::isfinite(z.potential) || !z.gradient.allFinite()) {
    std::ostringstream msg;
    msg << "initial point: U(q) = " << z.potential
        << (z.gradient.allFinite() ? "" : " with a non-finite gradient")
        << ": a chain must start where U and its gradient are finite";
    throw NumericalError(msg.str());
  }
  return z;
}

void update_potential_gradient(PhasePoint& z, Potential& potential) {
  z.potential = potential.value_and_gradient(z.q, z.gradient);
  // Σ 0·g_i is exactly 0 when every g_i is finite and NaN otherwise (0·±inf = NaN): one
  // vectorised pass, where Eigen's allFinite() tests entry by entry with early exit.
  if (std::isnan((z.gradient.array() * 0.0).sum())) z.potential = std::numeric_limits<double>::quiet_NaN();
}

double hamiltonian(const PhasePoint& z, const Metric& metric) {
  return z.potential + metric.kinetic_energy(z.p);
}

void kick(PhasePoint& z, double epsilon) { z.p -= epsilon * z.gradient; }

void move_position(PhasePoint& z, const Metric& metric, double epsilon) {
  z.q += epsilon * metric.inverse_mass().cwiseProduct(z.p);
}

void drift(PhasePoint& z, const Metric& metric, Potential& potential, double epsilon) {
  move_position(z, metric, epsilon);
  update_potential_gradient(z, potential);
}

void ornstein_uhlenbeck(PhasePoint& z, const Metric& metric, double friction, double duration,
                        core::Engine& engine) {
  const double c = std::exp(-friction * duration);
  Eigen::VectorXd& noise = noise_buffer(z.p.size());
  metric.sample_momentum(engine, noise);  // M^{1/2} ξ
  z.p = c * z.p + std::sqrt(1.0 - c * c) * noise;
}

void leapfrog(PhasePoint& z, const Metric& metric, Potential& potential, double epsilon) {
  // The half kick and the position move in one pass over the coordinates (the compiler may
  // contract each update into a fused multiply-add: the last bits differ from kick() then
  // move_position(), never the method).
  const double half = 0.5 * epsilon;
  double* __restrict p = z.p.data();
  double* __restrict q = z.q.data();
  const double* __restrict g = z.gradient.data();
  const double* __restrict inverse_mass = metric.inverse_mass().data();
  for (Eigen::Index i = 0; i < z.p.size(); ++i) {
    p[i] -= half * g[i];
    q[i] += epsilon * (inverse_mass[i] * p[i]);
  }
  update_potential_gradient(z, potential);
  kick(z, half);
}

void euler_maruyama(const PhasePoint& from, PhasePoint& to, const Metric& metric, Potential& potential,
                    double h, core::Engine& engine) {
  const Eigen::VectorXd& D = metric.inverse_mass();
  to = from;
  Eigen::VectorXd& xi = noise_buffer(from.q.size());
  core::fill_standard_normal(engine, xi);
  to.q -= h * D.cwiseProduct(from.gradient);
  to.q += std::sqrt(2.0 * h) * D.cwiseSqrt().cwiseProduct(xi);
  update_potential_gradient(to, potential);
}

void baoab(PhasePoint& z, const Metric& metric, Potential& potential, double h, double friction,
           core::Engine& engine) {
  kick(z, 0.5 * h);
  move_position(z, metric, 0.5 * h);
  ornstein_uhlenbeck(z, metric, friction, h, engine);
  drift(z, metric, potential, 0.5 * h);
  kick(z, 0.5 * h);
}

}  // namespace kernelmc::sampling
