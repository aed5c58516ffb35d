#include "cli/family_study.hpp"

#include <omp.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/dataset_generators.hpp"
#include "validation/study_family.hpp"
#include "validation/study_family_io.hpp"
#include "validation/study_family_report.hpp"

namespace kernelmc::cli {

namespace {

int finish_family(const validation::FamilyResult& result, const std::string& preface, std::ostream& out) {
  const std::filesystem::path directory = result.config.run.output_dir;
  const std::vector<std::filesystem::path> unrendered = validation::write_family_report(result, directory);
  out << preface << validation::format_family_table(result) << "\n";
  if (result.config.validation.figures) out << "figures: " << (directory / "figures").string() << "\n";
  for (const auto& script : unrendered)
    out << "gnuplot not found; to render, run: cd " << script.parent_path().string() << " && gnuplot "
        << script.filename().string() << "\n";
  out << "report: " << (directory / "study.json").string() << "\n";
  return 0;
}

// The checkpoint of a family run: one folder, one StudyCheckpoint per member over it, unit
// files prefixed by their member.
struct FamilyCheckpoint {
  std::shared_ptr<const validation::CheckpointFolder> folder;
  std::vector<validation::StudyCheckpoint> members;
  std::vector<validation::UnitStore*> stores;  // into `members`: not copyable

  FamilyCheckpoint(const FamilyCheckpoint&) = delete;
  FamilyCheckpoint& operator=(const FamilyCheckpoint&) = delete;
  FamilyCheckpoint(const core::Config& config, const core::Dataset& pool, std::size_t member_count,
                   const std::vector<validation::FamilyUnit>& units, const std::string& command, bool resume,
                   const validation::CheckpointSchedule& schedule) {
    std::vector<std::string> names;
    for (const validation::FamilyUnit& u : units) names.push_back(validation::unit_name(u));
    folder = std::make_shared<const validation::CheckpointFolder>(config.run.output_dir, command, config, pool, names,
                                                                  resume);
    members.reserve(member_count);
    for (std::size_t m = 0; m < member_count; ++m) {
      members.emplace_back(folder, "member_" + std::to_string(m + 1) + "_", schedule);
      stores.push_back(&members.back());
    }
  }
  std::size_t loaded() const {
    std::size_t n = 0;
    for (const validation::StudyCheckpoint& m : members) n += m.loaded();
    return n;
  }
};

}  // namespace

int run_family_validate(const core::Config& config, const core::Dataset& pool, Eigen::Index shard_index,
                        Eigen::Index shard_count, validation::Observer& observer, std::ostream& out, bool resume,
                        const validation::CheckpointSchedule& schedule) {
  const std::vector<validation::FamilyMember> members = validation::family_members(config, pool);
  std::vector<validation::FamilyUnit> units = validation::family_units(members);
  if (shard_count > 0) units = validation::shard_family_units(units, shard_index, shard_count);
  const std::string shard = std::to_string(shard_index) + "/" + std::to_string(shard_count);
  FamilyCheckpoint checkpoint(config, pool, members.size(), units,
                              shard_count == 0 ? "validate" : "validate --shard " + shard, resume, schedule);
  const validation::FamilyRecords records =
      validation::compute_family_records(config, members, units, observer, checkpoint.stores);
  if (resume)
    out << "resumed: " << checkpoint.loaded() << " of " << units.size() << " units from "
        << validation::checkpoint_directory(config.run.output_dir).string() << "\n";
  if (shard_count == 0) {
    // Kept before the analysis, as for a width-scaling study: `kernelmc merge <out>/records`
    // redoes it.
    validation::write_family_records(records, std::filesystem::path(config.run.output_dir) / "records");
    const int status = finish_family(validation::analyze_family(records, members, observer), "", out);
    checkpoint.folder->remove();
    return status;
  }
  const auto path = validation::write_family_records(records, config.run.output_dir);
  checkpoint.folder->remove();
  out << "shard " << shard << ": " << units.size() << " units (" << validation::unit_name(units.front()) << " .. "
      << validation::unit_name(units.back()) << ")\nrecords: " << path.string() << "\n";
  return 0;
}

int run_family_merge(const std::vector<std::string>& directories, const std::string& output_dir,
                     validation::Observer& observer, std::ostream& out) {
  std::vector<validation::FamilyRecords> parts;
  for (const std::string& dir : directories) parts.push_back(validation::read_family_records(dir));
  validation::FamilyRecords records = validation::merge_family_records(parts);
  records.config.run.output_dir = output_dir.empty() ? core::RunSettings{}.output_dir : output_dir;
  if (records.config.run.threads > 0) omp_set_num_threads(records.config.run.threads);
  const core::Dataset pool = core::make_dataset(records.config.data, records.config.run.seed);
  std::vector<validation::FamilyMember> members = validation::family_members(records.config, pool);
  // The members' configs name the output directory too: the merged records carry the shards'.
  for (std::size_t m = 0; m < members.size(); ++m) records.members[m].config = members[m].config;
  return finish_family(validation::analyze_family(records, members, observer),
                       "merged " + std::to_string(directories.size()) + " parts\n\n", out);
}

}  // namespace kernelmc::cli
