// net/timer.h — a repeating or one-shot timer (uv_timer_t).
// Owned through HandlePtr<Timer>; loop thread only. Used for housekeeping ticks,
// never per message.
#pragma once

#include <cstdint>
#include <functional>

#include "net/handle.h"

namespace twinmq::net {

class Timer final : public HandleBase {
 public:
  static HandlePtr<Timer> create(Loop& loop);

  // Fires after `timeout_ms`, then every `repeat_ms` (0 = once). Restarting replaces.
  void start(std::uint64_t timeout_ms, std::uint64_t repeat_ms, std::function<void()> fn);
  void stop();
  // Does not keep the loop alive (for housekeeping timers).
  void unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&timer_)); }
  void close() override;

 private:
  explicit Timer(Loop& loop);
  static void on_timer(uv_timer_t* t) noexcept;
  uv_timer_t timer_{};
  std::function<void()> fn_;
};

}  // namespace twinmq::net
