// tools/bench/loop_handles.h — two libuv handles the bench needs and net/ has no use
// for, written to net/handle.h's ownership rules (HandlePtr, freed in the close
// callback, loop thread only).
//
//  - IdleTicker (uv_idle_t): runs its callback once per loop turn while started and
//    keeps the loop from blocking. Producers going flat out use it to send a batch
//    per turn, so the prepare hook writes each batch in one write and reads still
//    get served between batches.
//  - PreciseTimer (a CLOCK_MONOTONIC timerfd polled by uv_poll_t): wakes at an
//    absolute time with microsecond resolution. uv_timer_t has 1 ms resolution,
//    which would add up to 1 ms of pacing jitter to every latency measured at a
//    fixed rate (--rate 5000 sends every 200 us).
#pragma once

#include <cstdint>
#include <functional>

#include "base/result.h"
#include "net/handle.h"
#include "net/loop.h"

namespace twinmq::bench {

class IdleTicker final : public net::HandleBase {
 public:
  static net::HandlePtr<IdleTicker> create(net::Loop& loop, std::function<void()> fn);
  void start();  // idempotent
  void stop();   // idempotent
  bool active() const { return active_; }
  void close() override;

 private:
  IdleTicker(net::Loop& loop, std::function<void()> fn);
  static void on_idle(uv_idle_t* h) noexcept;
  uv_idle_t idle_{};
  std::function<void()> fn_;
  bool active_ = false;
};

class PreciseTimer final : public net::HandleBase {
 public:
  static Result<net::HandlePtr<PreciseTimer>> create(net::Loop& loop, std::function<void()> fn);
  // Fires once at `mono_ns` (std::chrono::steady_clock / CLOCK_MONOTONIC), at once
  // if that is already past. Re-arming replaces.
  void arm_at(std::int64_t mono_ns);
  void close() override;

 private:
  PreciseTimer(net::Loop& loop, int fd, std::function<void()> fn);
  ~PreciseTimer() override;
  static void on_poll(uv_poll_t* h, int status, int events) noexcept;
  uv_poll_t poll_{};
  int fd_;
  std::function<void()> fn_;
  bool armed_ = false;  // arm_at() was called since the last wake-up
};

}  // namespace twinmq::bench
