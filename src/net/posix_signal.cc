#include "net/posix_signal.h"

#include "net/loop.h"

namespace twinmq::net {

Signal::Signal(Loop& loop, std::function<void(int)> fn) : HandleBase(loop), fn_(std::move(fn)) {
  uv_signal_init(loop.uv(), &signal_);
  bind_handle(&signal_, this);
}

HandlePtr<Signal> Signal::create(Loop& loop, int signum, std::function<void(int)> fn) {
  HandlePtr<Signal> s(new Signal(loop, std::move(fn)));
  uv_signal_start(&s->signal_, &Signal::on_signal, signum);
  return s;
}

void Signal::close() {
  if (closing_) return;
  uv_signal_stop(&signal_);
  fn_ = nullptr;
  close_handle(reinterpret_cast<uv_handle_t*>(&signal_));
}

void Signal::on_signal(uv_signal_t* s, int signum) noexcept {
  auto* self = owner_of<Signal>(s);
  if (self->closing_ || !self->fn_) return;
  auto fn = self->fn_;
  fn(signum);
}

}  // namespace twinmq::net
