#pragma once
// The one-loop prior and posterior statistics for many inputs, without any K×K object
// (K = P(P+1)/2; THEORY.md §3.4, §4.6, §9.2), the route for P where the explicit Σ does not fit:
// - Σ^(l) only through its pair-local entries (theory/pair_covariance), which give the mean
//   shift μ^(l) and the variance summaries: exact for linear and erf φ (2-input 4-point
//   functions), from the Monte Carlo draws below otherwise;
// - δC^(l) = V^(l)[G^(l)] + J^(l)[δC^(l−1)], δC^(1) = 0 (the recursion of §4.6, which unrolls to
//   Σ^(l)[G^(l)] because G^(l−1) = J^(l)ᵀ[G^(l)]), so L applications of V in all. V^(l)[M] is
//   in closed form for linear φ, (g²/N)(K M K + K Mᵀ K) at K = C_GP^(l−1), and otherwise
//   (g²/N) Cov(φφᵀ, φᵀMφ) over S draws h ~ N(0, C_GP^(l−1)) from make_stream(seed,
//   four_point_mc, 0, l), per batch Φᵀdiag(t − t̄)Φ: O(P²S) flops and S×P doubles per layer.
//   Its standard errors are the spread of the kFourPointBatches batch replicates, each pushed
//   through the whole recursion (δC, and μ when the pair entries come from the draws).
#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "core/layer_stack.hpp"
#include "core/model_spec.hpp"
#include "core/settings/theory.hpp"
#include "theory/one_loop.hpp"
#include "theory/pair_covariance.hpp"

namespace kernelmc::theory {

// Doubles of Monte Carlo draws per layer on this route: S = min(theory.four_point_samples,
// kOperatorDrawBudget / P), 128 MB per layer. Measured: erf, L = 3, P + T = 260 (S = 61538)
// computes μ, Σ's pair entries and δC in ≈ 10 s on the shared 2-core machine.
inline constexpr double kOperatorDrawBudget = 1.6e7;
// The draws S per layer for `points` inputs (at least kFourPointBatches · kMinDrawsPerBatch).
Eigen::Index operator_route_draws(const core::TheorySettings& settings, Eigen::Index points);

struct OperatorOneLoop {
  OneLoopPrediction one_loop;                            // as one_loop_prediction, SEs included
  core::LayerStack<PairCovariance> covariance;                 // layer(l): Σ^(l)'s pair-local entries, l = 1..L+1
  core::LayerStack<PairCovariance> covariance_standard_error;  // layer(l): their Monte Carlo SEs (zero when exact)
  Eigen::Index draws = 0;                                // S per layer (0: V in closed form)
  std::string description;                               // how V and the pair entries were evaluated, in words
};

// The route above on P + T inputs of which the first P = targets.rows() carry the likelihood
// (as one_loop_prediction). Throws as one_loop_prediction does.
OperatorOneLoop operator_one_loop(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                  const Eigen::Ref<const Eigen::MatrixXd>& targets,
                                  const core::TheorySettings& settings, std::uint64_t seed);

}  // namespace kernelmc::theory
