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
  sampling::write_chain_result(r, w);
  w.matrices(observables.state());
  return w.framed(kChainMagic);
}

void decode_chain(core::BinaryReader& in, sampling::ChainResult& r, sampling::KernelObservables& observables,
                  const std::string& source) {
  r = sampling::read_chain_result(in);
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
                                         const core::Dataset& data, bool resume, const CheckpointSchedule& schedule)
    : folder_(output_dir, "sample", config, data, chain_names(config.posterior.chains), resume), schedule_(schedule) {}

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
  folder_.remove_file(partial_file_name(chain_file_name(chain)));
}

std::unique_ptr<core::PartialStateStore> PosteriorCheckpoint::partial(Eigen::Index chain) {
  return std::make_unique<PartialStateFile>(folder_, partial_file_name(chain_file_name(chain)), schedule_);
}

}  // namespace kernelmc::validation
