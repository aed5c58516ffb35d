#pragma once
// A progress bar with an ETA on stderr, shown only on a terminal and without --quiet.
#include <chrono>
#include <cstdint>
#include <string>

#include "validation/observer.hpp"

namespace kernelmc::cli {

class ProgressBar final : public validation::Observer {
 public:
  // enabled = false draws nothing (quiet, or stderr not a TTY).
  explicit ProgressBar(bool enabled);
  void begin_stage(std::string_view name, std::int64_t total) override;
  void advance(std::int64_t done) override;
  void end_stage() override;

 private:
  void draw(bool final_draw);
  bool enabled_;
  std::string stage_;
  std::int64_t total_ = 0;
  std::int64_t done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// True when progress should be shown: not quiet and stderr is a terminal.
bool progress_wanted(bool quiet);

}  // namespace kernelmc::cli
