// Progress of long work, shown on one rank as a single self-overwriting line on stderr.
#pragma once

#include <chrono>
#include <string>

namespace rgflow {

/// Wall-clock seconds since an arbitrary origin (monotonic).
double wall_seconds();
/// The current time as UTC ISO 8601 ("2026-11-22T12:00:00Z"), for provenance attributes.
std::string utc_timestamp();

class Progress {
 public:
  /// `enabled` should be false on all ranks but one; it is also off when stderr is not a
  /// terminal (batch logs get the closing summary instead of hundreds of carriage returns).
  Progress(std::string label, double total, std::string unit, bool enabled);
  /// Reports that `done` of `total` units are finished, with an optional `note` after the rate
  /// and ETA; prints at most every half second.
  void update(double done, const std::string& note = "");
  /// True when the next update() would print: callers build costly notes only then.
  bool due() const;
  /// Clears the line.
  void finish();

 private:
  std::string label_;
  double total_;
  std::string unit_;
  bool enabled_;
  double start_;
  double last_print_;
  double start_done_ = -1;
};

}  // namespace rgflow
