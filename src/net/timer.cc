#include "net/timer.h"

#include "net/loop.h"

namespace twinmq::net {

Timer::Timer(Loop& loop) : HandleBase(loop) {
  uv_timer_init(loop.uv(), &timer_);
  bind_handle(&timer_, this);
}

HandlePtr<Timer> Timer::create(Loop& loop) { return HandlePtr<Timer>(new Timer(loop)); }

void Timer::start(std::uint64_t timeout_ms, std::uint64_t repeat_ms, std::function<void()> fn) {
  if (closing_) return;
  fn_ = std::move(fn);
  uv_timer_start(&timer_, &Timer::on_timer, timeout_ms, repeat_ms);
}

void Timer::stop() {
  if (!closing_) uv_timer_stop(&timer_);
}

void Timer::close() {
  if (closing_) return;
  uv_timer_stop(&timer_);
  fn_ = nullptr;
  close_handle(reinterpret_cast<uv_handle_t*>(&timer_));
}

void Timer::on_timer(uv_timer_t* t) noexcept {
  auto* self = owner_of<Timer>(t);
  if (self->closing_ || !self->fn_) return;
  // Copy: the callback may restart or close this timer.
  auto fn = self->fn_;
  fn();
}

}  // namespace twinmq::net
