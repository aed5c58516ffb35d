#pragma once
// Progress of parallel work, reported through a callback from one thread only.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>

namespace kernelmc::sampling::detail {

// Counts work units done by any thread; only the thread that constructed the counter (the
// one that called the run function) calls the callback, about kReports times per run, so
// the callback needs no locking and works under nested parallelism. An exception from the
// callback cancels the run and is kept for rethrowing after the parallel region.
class ProgressCounter {
 public:
  static constexpr std::int64_t kReports = 200;

  ProgressCounter(const std::function<void(std::int64_t)>& callback, std::int64_t total)
      : callback_(callback), step_(std::max<std::int64_t>(1, total / kReports)), owner_(std::this_thread::get_id()) {}

  void add(std::int64_t units) {
    const std::int64_t done = done_.fetch_add(units, std::memory_order_relaxed) + units;
    if (!callback_ || std::this_thread::get_id() != owner_ || cancelled() || done - last_reported_ < step_) return;
    last_reported_ = done;
    try {
      callback_(done);
    } catch (...) {
      error_ = std::current_exception();
      cancelled_.store(true);
    }
  }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  const std::exception_ptr& error() const { return error_; }

 private:
  const std::function<void(std::int64_t)>& callback_;
  std::int64_t step_;
  std::thread::id owner_;
  std::atomic<std::int64_t> done_{0};
  std::atomic<bool> cancelled_{false};
  std::int64_t last_reported_ = 0;  // owner only
  std::exception_ptr error_;        // owner only
};

}  // namespace kernelmc::sampling::detail
