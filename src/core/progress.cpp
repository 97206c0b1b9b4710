#include "rgflow/core/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace rgflow {

double wall_seconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

Progress::Progress(std::string label, double total, std::string unit, bool enabled)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      enabled_(enabled && isatty(STDERR_FILENO)),
      start_(wall_seconds()),
      last_print_(start_) {}

bool Progress::due() const {
  return enabled_ && wall_seconds() - last_print_ >= 0.5;
}

void Progress::update(double done, const std::string& note) {
  if (!enabled_) return;
  // A resumed run starts part-way: measure the rate from the first report, not from zero.
  if (start_done_ < 0) start_done_ = done;
  const double now = wall_seconds();
  if (now - last_print_ < 0.5 && done < total_) return;
  last_print_ = now;
  const double elapsed = now - start_;
  const double rate = elapsed > 0 ? (done - start_done_) / elapsed : 0;
  const double eta = rate > 0 ? (total_ - done) / rate : 0;
  std::fprintf(stderr, "\r%s %5.1f%%  %.3g %s/s  ETA %.0f s  %s   ", label_.c_str(),
               total_ > 0 ? 100.0 * done / total_ : 100.0, rate, unit_.c_str(), eta, note.c_str());
  std::fflush(stderr);
}

std::string utc_timestamp() {
  char text[32];
  const time_t now = time(nullptr);
  struct tm parts;
  gmtime_r(&now, &parts);
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

void Progress::finish() {
  if (!enabled_) return;
  std::fprintf(stderr, "\r%*s\r", 72, "");
  std::fflush(stderr);
}

}  // namespace rgflow
