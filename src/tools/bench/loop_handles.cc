// tools/bench/loop_handles.cc — IdleTicker and PreciseTimer (see the header).
#include "tools/bench/loop_handles.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace twinmq::bench {

enum class HandleErrc { ok = 0, timerfd_failed };

IdleTicker::IdleTicker(net::Loop& loop, std::function<void()> fn)
    : HandleBase(loop), fn_(std::move(fn)) {
  uv_idle_init(loop.uv(), &idle_);
  net::bind_handle(&idle_, this);
}

net::HandlePtr<IdleTicker> IdleTicker::create(net::Loop& loop, std::function<void()> fn) {
  return net::HandlePtr<IdleTicker>(new IdleTicker(loop, std::move(fn)));
}

void IdleTicker::start() {
  if (closing_ || active_) return;
  active_ = true;
  uv_idle_start(&idle_, &IdleTicker::on_idle);
}

void IdleTicker::stop() {
  if (closing_ || !active_) return;
  active_ = false;
  uv_idle_stop(&idle_);
}

void IdleTicker::close() {
  if (closing_) return;
  stop();
  fn_ = nullptr;
  close_handle(reinterpret_cast<uv_handle_t*>(&idle_));
}

void IdleTicker::on_idle(uv_idle_t* h) noexcept {
  auto* self = net::owner_of<IdleTicker>(h);
  if (!self->closing_ && self->fn_) self->fn_();
}

PreciseTimer::PreciseTimer(net::Loop& loop, int fd, std::function<void()> fn)
    : HandleBase(loop), fd_(fd), fn_(std::move(fn)) {
  uv_poll_init(loop.uv(), &poll_, fd_);
  net::bind_handle(&poll_, this);
  uv_poll_start(&poll_, UV_READABLE, &PreciseTimer::on_poll);
}

// The fd is closed only after libuv has let go of the poll handle (uv_poll docs).
PreciseTimer::~PreciseTimer() { ::close(fd_); }

Result<net::HandlePtr<PreciseTimer>> PreciseTimer::create(net::Loop& loop, std::function<void()> fn) {
  const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) {
    return make_error(HandleErrc::timerfd_failed, std::string("timerfd_create: ") + std::strerror(errno));
  }
  return net::HandlePtr<PreciseTimer>(new PreciseTimer(loop, fd, std::move(fn)));
}

void PreciseTimer::arm_at(std::int64_t mono_ns) {
  if (closing_) return;
  if (mono_ns <= 0) mono_ns = 1;  // 0 would disarm
  itimerspec spec{};
  spec.it_value.tv_sec = mono_ns / 1'000'000'000;
  spec.it_value.tv_nsec = mono_ns % 1'000'000'000;
  timerfd_settime(fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  armed_ = true;
}

void PreciseTimer::close() {
  if (closing_) return;
  fn_ = nullptr;
  uv_poll_stop(&poll_);
  close_handle(reinterpret_cast<uv_handle_t*>(&poll_));
}

void PreciseTimer::on_poll(uv_poll_t* h, int status, int) noexcept {
  auto* self = net::owner_of<PreciseTimer>(h);
  if (status < 0 || self->closing_) return;
  // Setting the timer resets its expiration count, which is what makes the fd
  // readable; so instead of read() + re-arm (two system calls per paced message)
  // the callback's own re-arm clears it, and only when it does not re-arm do we
  // disarm explicitly.
  self->armed_ = false;
  if (self->fn_) self->fn_();
  if (!self->armed_ && !self->closing_) {
    itimerspec off{};
    timerfd_settime(self->fd_, 0, &off, nullptr);
  }
}

}  // namespace twinmq::bench
