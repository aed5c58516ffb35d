#include "validation/posterior_checkpoint.hpp"

#include "core/checkpoint_io.hpp"
#include "core/error.hpp"

namespace kernelmc::validation {

namespace {

constexpr std::string_view kChainMagic = "kernelmc-checkpoint-chain 1\n";

std::string chain_file_name(Eigen::Index chain) { return "chain_c" + std::to_string(chain) + ".bin"; }

std::vector<std::string> chain_names(Eigen::Index chains) {
  std::vector<std::string> names;
  for (Eigen::Index c = 0; c < chains; ++c) names.push_back("chain " + std::to_string(c));
  return names;
}

std::string encode_chain(const sampling::ChainResult& r, const sampling::KernelObservables& observables) {
  core::BinaryWriter w;
  w.integer(r.chain);
  for (const Eigen::VectorXd* v : {&r.energy, &r.accept_stat, &r.divergent}) w.vector(*v);
  w.vector(r.tree_depth.cast<double>());
  w.vector(r.n_leapfrog.cast<double>());
  for (const Eigen::Index n : {r.sampling_transitions, r.sampling_divergences, r.max_tree_depth_hits,
                               r.warmup_divergences})
    w.integer(n);
  w.integer(r.gradient_evaluations);
  for (const double x : {r.mean_accept_stat, r.step_size, r.warmup_seconds, r.sampling_seconds}) w.real(x);
  w.vector(r.inverse_mass);
  w.matrices(observables.state());
  return w.framed(kChainMagic);
}

void decode_chain(core::BinaryReader& in, sampling::ChainResult& r, sampling::KernelObservables& observables,
                  const std::string& source) {
  r.chain = in.integer();
  for (Eigen::VectorXd* v : {&r.energy, &r.accept_stat, &r.divergent}) *v = in.vector();
  r.tree_depth = in.vector().cast<int>();
  r.n_leapfrog = in.vector().cast<int>();
  for (Eigen::Index* n : {&r.sampling_transitions, &r.sampling_divergences, &r.max_tree_depth_hits,
                          &r.warmup_divergences})
    *n = in.integer();
  r.gradient_evaluations = in.integer();
  for (double* x : {&r.mean_accept_stat, &r.step_size, &r.warmup_seconds, &r.sampling_seconds}) *x = in.real();
  r.inverse_mass = in.vector();
  const std::vector<Eigen::MatrixXd> state = in.matrices();
  in.finish();
  try {
    observables.restore(state);
  } catch (const DataError& e) {
    throw DataError(source + ": " + e.what());
  }
}

}  // namespace

PosteriorCheckpoint::PosteriorCheckpoint(const std::filesystem::path& output_dir, const core::Config& config,
                                         const core::Dataset& data, bool resume)
    : folder_(output_dir, "sample", config, data, chain_names(config.posterior.chains), resume) {}

bool PosteriorCheckpoint::load(Eigen::Index chain, sampling::ChainResult& result,
                               sampling::KernelObservables& observables) {
  std::string bytes;
  if (!folder_.read(chain_file_name(chain), bytes)) return false;
  const std::string source = folder_.path(chain_file_name(chain)).string();
  core::BinaryReader in(std::move(bytes), kChainMagic, source);
  decode_chain(in, result, observables, source);
  if (result.chain != chain) throw DataError(source + ": holds chain " + std::to_string(result.chain));
  ++loaded_;
  return true;
}

void PosteriorCheckpoint::save(Eigen::Index chain, const sampling::ChainResult& result,
                               const sampling::KernelObservables& observables) {
  folder_.write(chain_file_name(chain), encode_chain(result, observables));
}

}  // namespace kernelmc::validation
