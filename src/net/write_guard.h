// net/write_guard.h — a condition every write of a connection must pass.
//
// A broker of a pair with a witness may confirm work and deliver messages only while
// it surely holds the right to serve (witness/serving_clock.h). The right is checked
// where bytes leave the process: a guarded TcpConnection asks its guard before every
// write it starts (the flush at the end of a loop turn and the write that follows a
// completed one), and drops its queued output when the answer is no. So no RECEIPT,
// MESSAGE or CONNECTED frame is handed to the kernel after the deadline, whatever part
// of the loop produced it.
//
// Lifecycle: owned by whoever decides (app::Runtime's witness); it must outlive every
// connection that points at it. Loop thread only.
#pragma once

namespace twinmq::net {

class WriteGuard {
 public:
  // Called before each write is started; must be cheap (a clock read and a compare).
  virtual bool may_write() const = 0;

 protected:
  ~WriteGuard() = default;
};

}  // namespace twinmq::net
