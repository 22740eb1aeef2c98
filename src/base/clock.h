// base/clock.h — the two clocks: wall time in ms since the epoch (STOMP `expires`,
// `timestamp`), a monotonic clock for timeouts and latency, and the boot clock for
// deadlines that another machine relies on.
#pragma once

#include <time.h>

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

// CLOCK_BOOTTIME: like the monotonic clock, but it also counts time the machine was
// suspended. Deadlines that must hold in real time against another machine (a
// witness lease, a peer's promise) use it: a broker whose VM was suspended must see
// that its lease ran out meanwhile, which CLOCK_MONOTONIC would hide.
inline std::int64_t boot_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
inline std::int64_t boot_ms() { return boot_ns() / 1'000'000; }

}  // namespace twinmq
