// base/clock.h — the two clocks: wall time in ms since the epoch (STOMP `expires`,
// `timestamp`) and a monotonic clock for timeouts and latency.
#pragma once

#include <chrono>
#include <cstdint>

namespace twinmq {

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t mono_ms() { return mono_ns() / 1'000'000; }

}  // namespace twinmq
