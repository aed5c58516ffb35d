#pragma once
// The posterior run (`kernelmc sample`): MCMC chains on the posterior of THEORY.md §1.4
// (full) or §1.5 (collapsed) for a config and data set, the streamed kernel observables of
// every layer (sampling/kernel_observables.hpp), the sampler's health, and the convergence
// gate (validation/convergence_gate.hpp). Algorithms from sampling/, files from
// validation/posterior_report.hpp: this layer only wires them (Stan's services).
#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "sampling/chain_runner.hpp"
#include "sampling/kernel_observables.hpp"
#include "validation/convergence_gate.hpp"
#include "validation/observer.hpp"

namespace kernelmc::validation {

// [posterior] (core/config.hpp; core::validate checks it, run_posterior checks
// draw_layers against the model).
using PosteriorRunSettings = core::PosteriorSettings;

// The chain settings of a posterior run of `posterior` at hidden width `width` (every
// stream's width id): all posterior.chains chains from chain 0. The one place where
// [posterior] becomes sampling::ChainSettings (`kernelmc sample` and every chain unit of a
// validation study).
sampling::ChainSettings chain_settings(const core::PosteriorSettings& posterior, std::uint64_t seed,
                                       Eigen::Index width);

struct PosteriorRunResult {
  core::Config config;                  // as resolved; config.sampler is the sampler used
  core::ModelSpec spec;
  std::string dataset_name;
  Eigen::MatrixXd targets;              // Y, for the report
  sampling::ChainSettings chain_settings;
  std::vector<sampling::ChainResult> chains;
  sampling::SamplerSummary sampler_summary;
  sampling::KernelPosteriorSummary kernels;
  ConvergenceGate gate;
  std::string entry_draws_note;         // why entry draws were not kept (empty if they were)
  double seconds = 0.0;                 // wall time of the chains and the summary
};

// Where the finished chains of a posterior run are kept beyond the process
// (validation/posterior_checkpoint.hpp). run_posterior asks `load` for every chain before
// sampling (true: `result` and `observables`, built for this run, hold the chain, which is
// not run again) and hands each chain it runs to `save` as soon as it is done, from the
// chains' threads: `save` must be thread-safe.
class ChainStore {
 public:
  virtual ~ChainStore() = default;
  virtual bool load(Eigen::Index chain, sampling::ChainResult& result, sampling::KernelObservables& observables) = 0;
  virtual void save(Eigen::Index chain, const sampling::ChainResult& result,
                    const sampling::KernelObservables& observables) = 0;
  // Where chain `chain` keeps its partial state while it runs (core::PartialStateStore), or
  // null: the chain starts again after a kill.
  virtual std::unique_ptr<core::PartialStateStore> partial(Eigen::Index) { return nullptr; }
};

// Runs the chains of config.posterior with config.sampler on `data` for config.model and
// config.run.seed, and summarises them (the result keeps `config` for the report).
// Validates every input (ConfigError naming the field, DataError); NumericalError if a
// chain cannot start or a kernel is not finite.
// Progress: one stage, "sampling", counted in transitions. With a `store`, the chains it
// holds are taken from it and every other chain is run on its own (chain c alone draws
// exactly what it draws among all chains) and saved into it when done.
PosteriorRunResult run_posterior(const core::Config& config, const core::Dataset& data, Observer& observer,
                                 ChainStore* store = nullptr);

}  // namespace kernelmc::validation
