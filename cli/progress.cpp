#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace kernelmc::cli {

bool progress_wanted(bool quiet) { return !quiet && isatty(fileno(stderr)) != 0; }

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled) {}

void ProgressBar::begin_stage(std::string_view name, std::int64_t total) {
  stage_ = std::string(name);
  total_ = total;
  done_ = 0;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  draw(false);
}

void ProgressBar::advance(std::int64_t done) {
  done_ = done;
  // Redraw at most five times a second.
  if (std::chrono::steady_clock::now() - last_draw_ > std::chrono::milliseconds(200)) draw(false);
}

void ProgressBar::end_stage() {
  done_ = total_;
  draw(true);
}

void ProgressBar::draw(bool final_draw) {
  if (!enabled_) return;
  last_draw_ = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(last_draw_ - start_).count();
  const double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  char eta[32] = "--:--";
  if (fraction > 0.0) {
    const int seconds = static_cast<int>(elapsed * (1.0 - fraction) / fraction + 0.5);
    std::snprintf(eta, sizeof eta, "%d:%02d", seconds / 60, seconds % 60);
  }
  std::fprintf(stderr, "\r%s [%s] %3d%%  elapsed %.0fs  ETA %s   ", stage_.c_str(), bar.c_str(),
               static_cast<int>(100.0 * fraction), elapsed, eta);
  if (final_draw) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace kernelmc::cli
