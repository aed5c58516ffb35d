#pragma once
// How long-running studies report progress without knowing about terminals or files
// (STYLE.md §9, Stan's callbacks). The CLI implements it with a progress bar.
#include <cstdint>
#include <string_view>

namespace kernelmc::validation {

class Observer {
 public:
  virtual ~Observer() = default;
  // A new stage of `total` work units (any unit proportional to run time).
  virtual void begin_stage(std::string_view /*name*/, std::int64_t /*total*/) {}
  // Cumulative units done in the current stage; called from the calling thread only.
  virtual void advance(std::int64_t /*done*/) {}
  virtual void end_stage() {}
};

// Reports nothing.
class SilentObserver final : public Observer {};

}  // namespace kernelmc::validation
