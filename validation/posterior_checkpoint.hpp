#pragma once
// The checkpoint of a posterior run (`kernelmc sample`, posterior.route = chains): each
// finished chain, its sampling::ChainResult and everything its KernelObservables
// accumulated, kept in <out>/checkpoint/units/chain_c<c>.bin (study_checkpoint.hpp's folder,
// manifest and refusal rules), so that `kernelmc sample --resume <out>` runs only the
// missing chains (each continued from its partial state, units/chain_c<c>.partial.bin, if it
// had saved one) and writes the uninterrupted run's result bit for bit.
#include <filesystem>
#include <string>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "validation/posterior_run.hpp"
#include "validation/study_checkpoint.hpp"

namespace kernelmc::validation {

class PosteriorCheckpoint final : public ChainStore {
 public:
  // CheckpointFolder's constructor for config.posterior.chains chains.
  PosteriorCheckpoint(const std::filesystem::path& output_dir, const core::Config& config, const core::Dataset& data,
                      bool resume, const CheckpointSchedule& schedule = {});
  // Chain `chain`'s stored result and observables (DataError naming the file if corrupt).
  bool load(Eigen::Index chain, sampling::ChainResult& result, sampling::KernelObservables& observables) override;
  // Writes the chain's file, then removes its partial state.
  void save(Eigen::Index chain, const sampling::ChainResult& result,
            const sampling::KernelObservables& observables) override;
  // units/chain_c<c>.partial.bin, saved on the schedule.
  std::unique_ptr<core::PartialStateStore> partial(Eigen::Index chain) override;
  std::size_t loaded() const { return loaded_; }
  void remove() const { folder_.remove(); }

 private:
  CheckpointFolder folder_;
  CheckpointSchedule schedule_;
  std::size_t loaded_ = 0;  // load runs before the chains, on one thread
};

}  // namespace kernelmc::validation
