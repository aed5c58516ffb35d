#include "theory/four_point.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <array>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <map>
#include <numbers>
#include <string>

#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "theory/detail/parallel_for.hpp"
#include "theory/gauss_hermite.hpp"
#include "theory/gaussian_expectations.hpp"

namespace kernelmc::theory {

namespace {

using core::Activation;
constexpr double kPi = std::numbers::pi;
using Quadruple = std::array<Eigen::Index, 4>;  // sorted input indices a ≤ b ≤ c ≤ d
using Pattern = std::array<int, 4>;             // powers of the distinct inputs

// A square root R (m×r, R Rᵀ = S) whose row j depends on columns 0..last[j] only, so
// that h_j is final once the first last[j] + 1 variables are fixed. Cholesky gives
// last[j] = j; a singular S falls back to the eigen square root on its range (r < m),
// where every row needs all r columns.
struct SquareRoot {
  Eigen::MatrixXd R;
  std::array<Eigen::Index, 4> last{};
  Eigen::Index rank = 0;
};

SquareRoot square_root(const Eigen::MatrixXd& S) {
  const Eigen::Index m = S.rows();
  SquareRoot root;
  Eigen::LLT<Eigen::MatrixXd> llt(S);
  const double scale = S.diagonal().maxCoeff();
  if (llt.info() == Eigen::Success) {
    const Eigen::MatrixXd L = llt.matrixL();
    // A pivot at rounding level means S is singular in double precision.
    if (scale > 0.0 && L.diagonal().minCoeff() > 1e-7 * std::sqrt(scale)) {
      root.R = L;
      root.rank = m;
      for (Eigen::Index j = 0; j < m; ++j) root.last[static_cast<std::size_t>(j)] = j;
      return root;
    }
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(S);
  const Eigen::VectorXd lambda = eig.eigenvalues();  // ascending
  Eigen::Index rank = 0;
  for (Eigen::Index i = 0; i < m; ++i) rank += lambda(i) > 1e-12 * std::max(scale, 0.0) ? 1 : 0;
  root.rank = rank;
  root.R = eig.eigenvectors().rightCols(rank) * lambda.tail(rank).cwiseSqrt().asDiagonal();
  for (Eigen::Index j = 0; j < m; ++j) root.last[static_cast<std::size_t>(j)] = std::max<Eigen::Index>(rank - 1, 0);
  return root;
}

// E[∏_j φ(h_j)^{p_j}] for every pattern p, h = R z, z ~ N(0, I_r), by the tensor rule
// evaluated level by level: φ(h_j) is computed as soon as h_j is final, so the n^r
// innermost nodes evaluate only the rows finished at the last level.
class NestedQuadrature {
 public:
  NestedQuadrature(Activation activation, const SquareRoot& root, const std::vector<Pattern>& patterns,
                   const GaussHermiteRule& rule)
      : activation_(activation), root_(root), patterns_(patterns), rule_(rule),
        sums_(patterns.size(), 0.0) {
    const Eigen::Index m = root.R.rows();
    for (const Pattern& p : patterns)
      max_last_power_ = std::max(max_last_power_, p[static_cast<std::size_t>(m - 1)]);
  }

  std::vector<double> run() {
    const Eigen::Index m = root_.R.rows();
    if (root_.rank == 0) {  // S = 0: h ≡ 0
      std::array<double, 4> phi{};
      for (Eigen::Index j = 0; j < m; ++j) phi[static_cast<std::size_t>(j)] = core::activation_value(activation_, 0.0);
      accumulate(phi, 1.0);
      return sums_;
    }
    std::array<double, 4> partial{};
    std::array<double, 4> phi{};
    level(0, partial, phi, 1.0);
    return sums_;
  }

 private:
  void accumulate(const std::array<double, 4>& phi, double weight) {
    const Eigen::Index m = root_.R.rows();
    for (std::size_t p = 0; p < patterns_.size(); ++p) {
      double product = weight;
      for (Eigen::Index j = 0; j < m; ++j)
        for (int t = 0; t < patterns_[p][static_cast<std::size_t>(j)]; ++t) product *= phi[static_cast<std::size_t>(j)];
      sums_[p] += product;
    }
  }

  void level(Eigen::Index k, const std::array<double, 4>& partial, std::array<double, 4> phi,
             double weight) {
    const Eigen::Index m = root_.R.rows();
    if (k + 1 == root_.rank && root_.last[static_cast<std::size_t>(m - 1)] == k &&
        (m == 1 || root_.last[static_cast<std::size_t>(m - 2)] < k)) {
      innermost_single_row(partial, phi, weight);
      return;
    }
    const bool innermost = k + 1 == root_.rank;
    for (Eigen::Index i = 0; i < rule_.nodes.size(); ++i) {
      const double z = rule_.nodes(i);
      std::array<double, 4> next = partial;
      for (Eigen::Index j = 0; j < m; ++j) {
        if (root_.last[static_cast<std::size_t>(j)] < k) continue;
        next[static_cast<std::size_t>(j)] += root_.R(j, k) * z;
        if (root_.last[static_cast<std::size_t>(j)] == k)
          phi[static_cast<std::size_t>(j)] = core::activation_value(activation_, next[static_cast<std::size_t>(j)]);
      }
      const double w = weight * rule_.weights(i);
      if (innermost)
        accumulate(phi, w);
      else
        level(k + 1, next, phi, w);
    }
  }

  // The innermost level when only the last row is finished there (the Cholesky case):
  // Σ_i w_i φ(h_last)^p for the powers p in use, then one product per pattern. This is
  // the n^r loop, so it holds one activation call and a few multiplications per node.
  void innermost_single_row(const std::array<double, 4>& partial, const std::array<double, 4>& phi,
                            double weight) {
    const Eigen::Index m = root_.R.rows();
    const Eigen::Index k = root_.rank - 1;
    const double shift = partial[static_cast<std::size_t>(m - 1)];
    const double slope = root_.R(m - 1, k);
    std::array<double, 5> power_sum{};  // Σ_i w_i φ^p, p = 1..4
    for (Eigen::Index i = 0; i < rule_.nodes.size(); ++i) {
      const double f = core::activation_value(activation_, shift + slope * rule_.nodes(i));
      const double wf = rule_.weights(i) * f;
      power_sum[1] += wf;
      if (max_last_power_ >= 2) {
        power_sum[2] += wf * f;
        if (max_last_power_ >= 3) {
          power_sum[3] += wf * f * f;
          power_sum[4] += wf * f * f * f;
        }
      }
    }
    for (std::size_t p = 0; p < patterns_.size(); ++p) {
      double product = weight * power_sum[static_cast<std::size_t>(patterns_[p][static_cast<std::size_t>(m - 1)])];
      for (Eigen::Index j = 0; j + 1 < m; ++j)
        for (int t = 0; t < patterns_[p][static_cast<std::size_t>(j)]; ++t) product *= phi[static_cast<std::size_t>(j)];
      sums_[p] += product;
    }
  }

  Activation activation_;
  const SquareRoot& root_;
  const std::vector<Pattern>& patterns_;
  const GaussHermiteRule& rule_;
  std::vector<double> sums_;
  int max_last_power_ = 0;
};

// All ways to give each of m distinct inputs a power ≥ 1 with total `degree`.
std::vector<Pattern> patterns_for(Eigen::Index m, int degree) {
  std::vector<Pattern> out;
  Pattern p{0, 0, 0, 0};
  auto recurse = [&](auto&& self, Eigen::Index j, int left) -> void {
    if (j == m - 1) {
      if (left >= 1) {
        p[static_cast<std::size_t>(j)] = left;
        out.push_back(p);
      }
      return;
    }
    for (int power = 1; power <= left - (m - 1 - j); ++power) {
      p[static_cast<std::size_t>(j)] = power;
      self(self, j + 1, left - power);
    }
  };
  recurse(recurse, 0, degree);
  return out;
}

// The sorted multiset of inputs of a pattern over a distinct set (padded with −1 when
// the degree is below 4).
Quadruple multiset_of(const std::vector<Eigen::Index>& set, const Pattern& p) {
  Quadruple q{-1, -1, -1, -1};
  std::size_t slot = 0;
  for (std::size_t j = 0; j < set.size(); ++j)
    for (int t = 0; t < p[j]; ++t) q[slot++] = set[j];
  std::sort(q.begin(), q.end());
  return q;
}

Eigen::MatrixXd sub_covariance(const Eigen::Ref<const Eigen::MatrixXd>& C,
                               const std::vector<Eigen::Index>& set) {
  const Eigen::Index m = static_cast<Eigen::Index>(set.size());
  Eigen::MatrixXd S(m, m);
  for (Eigen::Index i = 0; i < m; ++i)
    for (Eigen::Index j = 0; j < m; ++j) S(i, j) = C(set[static_cast<std::size_t>(i)], set[static_cast<std::size_t>(j)]);
  return S;
}

// Moments of every pattern of total `degree` over one distinct set.
std::vector<double> set_moments(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& C,
                                const std::vector<Eigen::Index>& set, const std::vector<Pattern>& patterns,
                                const GaussHermiteRule& rule) {
  const SquareRoot root = square_root(sub_covariance(C, set));
  return NestedQuadrature(activation, root, patterns, rule).run();
}

// Distinct sorted subsets of {0..P−1} of size m.
std::vector<std::vector<Eigen::Index>> subsets(Eigen::Index P, Eigen::Index m) {
  std::vector<std::vector<Eigen::Index>> out;
  std::vector<Eigen::Index> s;
  auto recurse = [&](auto&& self, Eigen::Index start) -> void {
    if (static_cast<Eigen::Index>(s.size()) == m) {
      out.push_back(s);
      return;
    }
    for (Eigen::Index i = start; i < P; ++i) {
      s.push_back(i);
      self(self, i + 1);
      s.pop_back();
    }
  };
  recurse(recurse, 0);
  return out;
}

Quadruple sorted(Eigen::Index a, Eigen::Index b, Eigen::Index c, Eigen::Index d) {
  Quadruple q{a, b, c, d};
  std::sort(q.begin(), q.end());
  return q;
}

// Symmetric square root of C (eigen), robust to the singular kernels of rank ≤ d.
Eigen::MatrixXd symmetric_square_root(const Eigen::Ref<const Eigen::MatrixXd>& C) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(C);
  return eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() *
         eig.eigenvectors().transpose();
}

// Rows per generated block of draws: fixed, so that the explicit and the operator form
// consume an engine identically.
constexpr Eigen::Index kChunkRows = 4096;

std::vector<Eigen::Index> batch_starts(Eigen::Index samples) {
  if (samples < kFourPointBatches * kMinDrawsPerBatch)
    throw ConfigError("theory.four_point_samples = " + std::to_string(samples) + ": must be >= " +
                      std::to_string(kFourPointBatches * kMinDrawsPerBatch) + " (" +
                      std::to_string(kFourPointBatches) + " batches of at least " +
                      std::to_string(kMinDrawsPerBatch) + " draws)");
  std::vector<Eigen::Index> starts;
  for (Eigen::Index b = 0; b <= kFourPointBatches; ++b) starts.push_back(b * samples / kFourPointBatches);
  return starts;
}

// The next `rows` draws φ(R z), z ~ N(0, I_P), R Rᵀ = C.
void draw_block(Activation activation, const Eigen::MatrixXd& R, core::Engine& engine,
                Eigen::Ref<Eigen::MatrixXd> phi) {
  const Eigen::MatrixXd Z = core::standard_normal_matrix(engine, phi.rows(), R.rows());
  Eigen::MatrixXd H(phi.rows(), R.rows());
  H.noalias() = Z * R.transpose();
  core::apply_activation(activation, H, phi);
}

// Q_{k,k'} = M4(a,b,c,d) − M2(a,b) M2(c,d) over upper-triangle pairs.
template <class Moment4, class Moment2>
Eigen::MatrixXd assemble_product_covariance(Eigen::Index P, const Moment4& moment4,
                                            const Moment2& moment2) {
  const Eigen::Index K = core::triangle_size(P);
  Eigen::MatrixXd Q(K, K);
  for (Eigen::Index k = 0; k < K; ++k) {
    const auto [a, b] = core::triangle_pair(k, P);
    for (Eigen::Index kk = k; kk < K; ++kk) {
      const auto [c, d] = core::triangle_pair(kk, P);
      Q(k, kk) = moment4(sorted(a, b, c, d)) - moment2(a, b) * moment2(c, d);
      Q(kk, k) = Q(k, kk);
    }
  }
  return Q;
}

// All sorted quadruples a ≤ b ≤ c ≤ d of P inputs.
std::vector<Quadruple> sorted_quadruples(Eigen::Index P) {
  std::vector<Quadruple> out;
  for (Eigen::Index a = 0; a < P; ++a)
    for (Eigen::Index b = a; b < P; ++b)
      for (Eigen::Index c = b; c < P; ++c)
        for (Eigen::Index d = c; d < P; ++d) out.push_back({a, b, c, d});
  return out;
}

// E[s₁s₂s₃s₄], s_i = sign(w_i), w ~ N(0, S) (S 4×4 positive definite). Price's theorem
// along S(t) = diag S + t·offdiag S, t ∈ [0, 1] (E = 0 at t = 0):
//   ∂E/∂S_ij = E[2δ(w_i) 2δ(w_j) s_k s_l] = 4 p_ij(0, 0) (2/π) asin ρ_{kl·ij},
// with p_ij the (i, j) marginal density and ρ_{kl·ij} the partial correlation of the
// other two given w_i = w_j = 0. The t-integrand is analytic (S(t) stays positive
// definite), so adaptive Gauss–Kronrod reaches rounding level.
double sign_moment(const Eigen::Matrix4d& S) {
  auto integrand = [&](double t) {
    double sum = 0.0;
    for (int i = 0; i < 4; ++i) {
      for (int j = i + 1; j < 4; ++j) {
        if (S(i, j) == 0.0) continue;
        int k = -1, l = -1;
        for (int x = 0; x < 4; ++x)
          if (x != i && x != j) (k < 0 ? k : l) = x;
        const double sij = t * S(i, j);
        const double det = S(i, i) * S(j, j) - sij * sij;
        // x_{[i,j]}ᵀ S_{[ij][ij]}⁻¹ y_{[i,j]} for the cross-covariances with w_k, w_l.
        auto form = [&](double x1, double x2, double y1, double y2) {
          return (x1 * (S(j, j) * y1 - sij * y2) + x2 * (S(i, i) * y2 - sij * y1)) / det;
        };
        const double ki = t * S(k, i), kj = t * S(k, j), li = t * S(l, i), lj = t * S(l, j);
        const double kk = S(k, k) - form(ki, kj, ki, kj);
        const double ll = S(l, l) - form(li, lj, li, lj);
        const double kl = t * S(k, l) - form(ki, kj, li, lj);
        sum += S(i, j) * std::asin(std::clamp(kl / std::sqrt(kk * ll), -1.0, 1.0)) / std::sqrt(det);
      }
    }
    return sum * 4.0 / (kPi * kPi);
  };
  // Boost's stopping rule is relative to the estimate; integrating 1 + F and subtracting
  // the 1 turns it into an absolute 1e-14, so that values near 0 do not drive the
  // recursion to its full depth.
  return boost::math::quadrature::gauss_kronrod<double, 21>::integrate(
             [&](double t) { return 1.0 + integrand(t); }, 0.0, 1.0, 15, 1e-14) -
         1.0;
}

}  // namespace

core::FourPointMethod resolve_four_point_method(const core::TheorySettings& settings,
                                                core::Activation activation, Eigen::Index points,
                                                double max_variance) {
  if (settings.four_point != core::FourPointMethod::automatic) return settings.four_point;
  if (points > settings.quadrature_max_points) return core::FourPointMethod::monte_carlo;
  switch (activation) {
    case Activation::linear:
    case Activation::erf: return core::FourPointMethod::quadrature;
    case Activation::relu: return core::FourPointMethod::monte_carlo;
    case Activation::tanh: break;
  }
  // tanh: tensor Gauss–Hermite, if it is affordable and converged.
  const double sets = static_cast<double>(points) * static_cast<double>(points - 1) *
                      static_cast<double>(points - 2) * static_cast<double>(points - 3) / 24.0;
  const double cost = std::max(sets, 1.0) * std::pow(static_cast<double>(settings.four_point_nodes), 4);
  if (cost > kMaxGaussHermiteNodes) return core::FourPointMethod::monte_carlo;
  return gauss_hermite_four_point_error(activation, max_variance, settings.four_point_nodes) <=
                 kFourPointQuadratureAccuracy
             ? core::FourPointMethod::quadrature
             : core::FourPointMethod::monte_carlo;
}

double gauss_hermite_four_point_error(core::Activation activation, double variance,
                                      Eigen::Index nodes) {
  const double r = std::sqrt(std::max(variance, 0.0));
  const GaussHermiteRule coarse = gauss_hermite_rule(nodes);
  const GaussHermiteRule fine = gauss_hermite_rule(2 * nodes);
  double worst = 0.0;
  for (int power : {2, 4}) {
    auto moment = [&](const GaussHermiteRule& rule) {
      double sum = 0.0;
      for (Eigen::Index i = 0; i < rule.nodes.size(); ++i)
        sum += rule.weights(i) * std::pow(core::activation_value(activation, r * rule.nodes(i)), power);
      return sum;
    };
    worst = std::max(worst, std::abs(moment(coarse) - moment(fine)));
  }
  return worst;
}

double four_point_gauss_hermite(core::Activation activation,
                                const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Index a,
                                Eigen::Index b, Eigen::Index c, Eigen::Index d, Eigen::Index nodes) {
  const Quadruple q = sorted(a, b, c, d);
  std::vector<Eigen::Index> set;
  Pattern p{0, 0, 0, 0};
  for (Eigen::Index i : q) {
    if (set.empty() || set.back() != i) set.push_back(i);
    ++p[set.size() - 1];
  }
  return set_moments(activation, C, set, {p}, gauss_hermite_rule(nodes))[0];
}

double erf_four_point(const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Index a, Eigen::Index b,
                      Eigen::Index c, Eigen::Index d) {
  // erf(h) = E_u[sign(√2 h − u)], u ~ N(0, 1) independent per factor, so the product of
  // four erfs is a sign moment of w_i = √2 h_{q_i} − u_i, Cov w = 2 C_q + I.
  const std::array<Eigen::Index, 4> q{a, b, c, d};
  Eigen::Matrix4d S;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      S(i, j) = 2.0 * C(q[static_cast<std::size_t>(i)], q[static_cast<std::size_t>(j)]) + (i == j ? 1.0 : 0.0);
  return sign_moment(S);
}

Eigen::MatrixXd product_covariance_gauss_hermite(core::Activation activation,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                 Eigen::Index nodes) {
  const Eigen::Index P = C.rows();
  const GaussHermiteRule rule = gauss_hermite_rule(nodes);
  // Jobs: every distinct set of 1..4 inputs with the patterns of degree 4, and every set
  // of 1..2 inputs with the patterns of degree 2 (the subtracted 2-point functions).
  struct Job {
    std::vector<Eigen::Index> set;
    std::vector<Pattern> patterns;
  };
  std::vector<Job> jobs;
  for (int degree : {2, 4}) {
    for (Eigen::Index m = 1; m <= std::min<Eigen::Index>(degree, P); ++m) {
      const std::vector<Pattern> patterns = patterns_for(m, degree);
      for (auto& set : subsets(P, m)) jobs.push_back({std::move(set), patterns});
    }
  }
  std::vector<std::vector<double>> results(jobs.size());
  detail::parallel_for(static_cast<Eigen::Index>(jobs.size()), [&](Eigen::Index i) {
    const Job& job = jobs[static_cast<std::size_t>(i)];
    results[static_cast<std::size_t>(i)] = set_moments(activation, C, job.set, job.patterns, rule);
  });
  std::map<Quadruple, double> moment;  // keyed by the sorted multiset (−1 pads degree 2)
  for (std::size_t i = 0; i < jobs.size(); ++i)
    for (std::size_t p = 0; p < jobs[i].patterns.size(); ++p)
      moment[multiset_of(jobs[i].set, jobs[i].patterns[p])] = results[i][p];
  return assemble_product_covariance(
      P, [&](const Quadruple& q) { return moment.at(q); },
      [&](Eigen::Index a, Eigen::Index b) { return moment.at(sorted(-1, -1, a, b)); });
}

Eigen::MatrixXd product_covariance_quadrature(core::Activation activation,
                                              const Eigen::Ref<const Eigen::MatrixXd>& C,
                                              Eigen::Index nodes) {
  const Eigen::Index P = C.rows();
  switch (activation) {
    case Activation::linear:
      // Isserlis: ⟨h_ah_bh_ch_d⟩ = C_ab C_cd + C_ac C_bd + C_ad C_bc.
      return assemble_product_covariance(
          P,
          [&](const Quadruple& q) {
            return C(q[0], q[1]) * C(q[2], q[3]) + C(q[0], q[2]) * C(q[1], q[3]) +
                   C(q[0], q[3]) * C(q[1], q[2]);
          },
          [&](Eigen::Index a, Eigen::Index b) { return C(a, b); });
    case Activation::erf: {
      const std::vector<Quadruple> quadruples = sorted_quadruples(P);
      std::vector<double> values(quadruples.size());
      detail::parallel_for(static_cast<Eigen::Index>(quadruples.size()), [&](Eigen::Index i) {
        const Quadruple& q = quadruples[static_cast<std::size_t>(i)];
        values[static_cast<std::size_t>(i)] = erf_four_point(C, q[0], q[1], q[2], q[3]);
      });
      std::map<Quadruple, double> moment;
      for (std::size_t i = 0; i < quadruples.size(); ++i) moment[quadruples[i]] = values[i];
      const Eigen::MatrixXd two_point = expected_phi_phi(Activation::erf, C, 0.0);
      return assemble_product_covariance(
          P, [&](const Quadruple& q) { return moment.at(q); },
          [&](Eigen::Index a, Eigen::Index b) { return two_point(a, b); });
    }
    case Activation::relu:
    case Activation::tanh: break;
  }
  return product_covariance_gauss_hermite(activation, C, nodes);
}

std::vector<Eigen::MatrixXd> product_covariance_monte_carlo(core::Activation activation,
                                                            const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                            Eigen::Index samples, core::Engine& engine) {
  const Eigen::Index P = C.rows();
  const Eigen::Index K = core::triangle_size(P);
  const std::vector<Eigen::Index> starts = batch_starts(samples);
  const Eigen::MatrixXd R = symmetric_square_root(C);
  std::vector<Eigen::MatrixXd> batches;
  Eigen::RowVectorXd shift;  // first block's column means: keeps Σ yyᵀ − n ȳȳᵀ free of cancellation
  for (Eigen::Index b = 0; b < kFourPointBatches; ++b) {
    const Eigen::Index n = starts[static_cast<std::size_t>(b + 1)] - starts[static_cast<std::size_t>(b)];
    Eigen::MatrixXd moment = Eigen::MatrixXd::Zero(K, K);  // Σ (y − shift)(y − shift)ᵀ, lower half
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(K);
    for (Eigen::Index done = 0; done < n;) {
      const Eigen::Index rows = std::min(kChunkRows, n - done);
      Eigen::MatrixXd phi(rows, P);
      draw_block(activation, R, engine, phi);
      Eigen::MatrixXd Y(rows, K);  // products φ_aφ_b, column k = (a, b)
      for (Eigen::Index k = 0; k < K; ++k) {
        const auto [a1, b1] = core::triangle_pair(k, P);
        Y.col(k) = phi.col(a1).cwiseProduct(phi.col(b1));
      }
      if (shift.size() == 0) shift = Y.colwise().mean();
      Y.rowwise() -= shift;
      moment.selfadjointView<Eigen::Lower>().rankUpdate(Y.transpose());
      sum += Y.colwise().sum().transpose();
      done += rows;
    }
    moment.triangularView<Eigen::StrictlyUpper>() = moment.transpose();
    const double count = static_cast<double>(n);
    Eigen::MatrixXd Q = (moment - sum * sum.transpose() / count) / (count - 1.0);
    batches.push_back(std::move(Q));
  }
  return batches;
}

ActivationDraws draw_activations(core::Activation activation,
                                 const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Index samples,
                                 core::Engine& engine) {
  ActivationDraws draws;
  draws.batch_starts = batch_starts(samples);
  draws.phi.resize(samples, C.rows());
  const Eigen::MatrixXd R = symmetric_square_root(C);
  for (Eigen::Index b = 0; b < kFourPointBatches; ++b) {
    const Eigen::Index first = draws.batch_starts[static_cast<std::size_t>(b)];
    const Eigen::Index n = draws.batch_starts[static_cast<std::size_t>(b + 1)] - first;
    for (Eigen::Index done = 0; done < n;) {
      const Eigen::Index rows = std::min(kChunkRows, n - done);
      draw_block(activation, R, engine, draws.phi.middleRows(first + done, rows));
      done += rows;
    }
  }
  return draws;
}

std::vector<Eigen::MatrixXd> apply_product_covariance(const ActivationDraws& draws,
                                                      const Eigen::Ref<const Eigen::MatrixXd>& M) {
  // THEORY.md §9.2: Q[M] = Cov(φφᵀ, φᵀMφ), per batch Φᵀ diag(t − t̄) Φ / (n − 1).
  std::vector<Eigen::MatrixXd> out;
  for (Eigen::Index b = 0; b < draws.batches(); ++b) {
    const Eigen::Index first = draws.batch_starts[static_cast<std::size_t>(b)];
    const Eigen::Index n = draws.batch_starts[static_cast<std::size_t>(b + 1)] - first;
    const auto Phi = draws.phi.middleRows(first, n);
    Eigen::MatrixXd PhiM(n, M.cols());
    PhiM.noalias() = Phi * M;
    Eigen::VectorXd t = PhiM.cwiseProduct(Phi).rowwise().sum();
    t.array() -= t.mean();
    Eigen::MatrixXd Q(Phi.cols(), Phi.cols());
    Q.noalias() = Phi.transpose() * t.asDiagonal() * Phi;
    out.push_back(Q / static_cast<double>(n - 1));
  }
  return out;
}

Eigen::MatrixXd apply_triangle_covariance(const Eigen::Ref<const Eigen::MatrixXd>& Q,
                                          const Eigen::Ref<const Eigen::MatrixXd>& M) {
  const Eigen::Index P = M.rows();
  // Σ over ordered (c, d) = Σ over c ≤ d with weight 2 off the diagonal.
  Eigen::MatrixXd weighted = 2.0 * M;
  weighted.diagonal() = M.diagonal();
  const Eigen::VectorXd x = Q * core::upper_triangle(weighted);
  return core::from_upper_triangle(x, P);
}

}  // namespace kernelmc::theory
