#pragma once
// The checkpoint of a long run: for a validation study (`kernelmc validate`, also with
// --shard) every finished unit (validation/study_units.hpp) is kept in <out>/checkpoint/ as soon as it is
// done, so that `kernelmc validate --resume <out>` after a kill computes only the missing
// units and, the units being deterministic, writes a result bit-identical to an
// uninterrupted run's.
//   manifest.json       format, kernelmc version, command, the config's and the data's
//                       FNV-1a 64 hashes (core/checkpoint_io.hpp), the unit list, and the
//                       config as TOML (to name what differs when a resume is refused);
//   units/<unit>.bin    one framed binary record per finished unit (prior_N8, chain_N8_c0,
//                       route_N8; chain_c0 for `kernelmc sample`, posterior_checkpoint.hpp),
//                       written durably: a unit file is complete or absent;
//   units/<unit>.partial.bin  the partial state of a unit still running (a chain unit, an
//                       SMC route unit, a sampled chain), rewritten durably every
//                       CheckpointSchedule interval and removed once the unit's file is
//                       written: a resumed unit continues from it, bit for bit.
// The config hash leaves out run.output_dir and the thread counts (core::comparable_config);
// the data hash covers the inputs and targets (a changed CSV is a different study).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint_io.hpp"
#include "core/config.hpp"
#include "core/dataset.hpp"
#include "validation/study_units.hpp"

namespace kernelmc::validation {

inline constexpr int kCheckpointFormatVersion = 1;

// When a running unit saves its partial state (`--checkpoint-interval SECONDS`): whenever
// interval_seconds of wall time have passed since its start or its last save, checked at its
// safe points (a chain: after each warmup transition and each kept draw; SMC: after each
// tempering step); 0 keeps finished units only. The test hook every_safe_points = k > 0
// (environment KERNELMC_CHECKPOINT_EVERY=k, read by the CLI) saves at every k-th safe point
// instead, so that a test can kill a run at a known point. Results never depend on it.
struct CheckpointSchedule {
  double interval_seconds = 60.0;
  std::int64_t every_safe_points = 0;
};

// <output_dir>/checkpoint
std::filesystem::path checkpoint_directory(const std::filesystem::path& output_dir);

// The checkpoint folder of a run: its manifest and its unit files.
class CheckpointFolder {
 public:
  // A new folder for `units` (resume = false: an old checkpoint folder in `output_dir` is
  // replaced), or the one in `output_dir` opened to continue (resume = true). A resume is
  // refused unless the checkpoint is this run's: InputFileError if there is none, DataError
  // naming the file if the manifest is corrupt, ConfigError naming what differs (kernelmc
  // version, command, the first differing config field, the data, the unit list).
  CheckpointFolder(const std::filesystem::path& output_dir, const std::string& command, const core::Config& config,
                   const core::Dataset& data, const std::vector<std::string>& units, bool resume);
  // The bytes of units/<file>; false if there is no such file.
  bool read(const std::string& file, std::string& bytes) const;
  std::filesystem::path path(const std::string& file) const { return directory_ / "units" / file; }
  // Writes units/<file> durably (core::write_file_durable); thread-safe for distinct files.
  void write(const std::string& file, const std::string& bytes) const;
  // Deletes units/<file> if it exists.
  void remove_file(const std::string& file) const;
  // Deletes the checkpoint folder (once the run's result is written).
  void remove() const;

 private:
  std::filesystem::path directory_;
};

// The partial state of one running unit in units/<file> of a checkpoint folder, saved on
// `schedule` (core::PartialStateStore; the folder must outlive it).
class PartialStateFile final : public core::PartialStateStore {
 public:
  PartialStateFile(const CheckpointFolder& folder, std::string file, const CheckpointSchedule& schedule);
  std::optional<core::BinaryReader> load() override;
  bool due() override;
  void save(const core::BinaryWriter& state) override;

 private:
  const CheckpointFolder& folder_;
  std::string file_;
  CheckpointSchedule schedule_;
  std::chrono::steady_clock::time_point last_save_;
  std::int64_t safe_points_ = 0;
};

// The file of a unit in the checkpoint folder: prior_N8.bin, chain_N8_c0.bin, route_N8.bin.
std::string unit_file_name(const StudyUnit& unit);
// The partial-state file name of a unit file name: chain_N8_c0.bin → chain_N8_c0.partial.bin.
std::string partial_file_name(const std::string& unit_file);

// The UnitStore of a validation study (compute_records): one file per finished unit.
class StudyCheckpoint final : public UnitStore {
 public:
  // CheckpointFolder's constructor for the units of this call.
  StudyCheckpoint(const std::filesystem::path& output_dir, const std::string& command, const core::Config& config,
                  const core::Dataset& data, const std::vector<StudyUnit>& units, bool resume,
                  const CheckpointSchedule& schedule = {});
  // The units of one part of a larger run (a member of a study family) in a folder that parts
  // share, their files named `file_prefix` + the unit's file name.
  StudyCheckpoint(std::shared_ptr<const CheckpointFolder> folder, std::string file_prefix,
                  const CheckpointSchedule& schedule);

  // A unit's stored record (DataError naming the file if it is corrupt); false if absent.
  bool load(const StudyUnit& unit, UnitRecord& record) override;
  // Writes the unit's file, then removes its partial state.
  void save(const StudyUnit& unit, const UnitRecord& record) override;
  // The partial state of a chain or route unit (none for a prior unit).
  std::unique_ptr<core::PartialStateStore> partial(const StudyUnit& unit) override;
  // Units taken from the checkpoint so far.
  std::size_t loaded() const { return loaded_; }
  void remove() const { folder_->remove(); }

 private:
  std::string file_name(const StudyUnit& unit) const { return file_prefix_ + unit_file_name(unit); }
  std::shared_ptr<const CheckpointFolder> folder_;
  std::string file_prefix_;
  CheckpointSchedule schedule_;
  std::size_t loaded_ = 0;  // load runs before compute_records' pool, on one thread
};

// The checkpoint file of one unit, with its record encoded; and the record decoded from such
// a file's bytes (DataError naming `source` if the bytes are not a complete record of `unit`).
std::string encode_unit_record(const StudyUnit& unit, const UnitRecord& record);
UnitRecord decode_unit_record(const StudyUnit& unit, std::string bytes, const std::string& source);

}  // namespace kernelmc::validation
