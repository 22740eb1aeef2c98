// net/side_writer.h — lets one thread other than the loop write small, whole frames
// on a plain TCP connection, in between the loop's own writes.
//
// Why it exists: a slave acknowledges (Applied) what its journal made durable, and the
// journal's writer thread is the first to know. Telling the loop first costs a thread
// wake-up (an eventfd, then the loop's turn) on the receipt path of every synchronous
// message (README "The receipt path of the pair"); with a SideWriter the writer thread
// sends the frame itself, right after its fdatasync returned. It is an optimisation
// only: when a side write cannot happen now, the caller leaves the frame to the loop.
//
// THE RULE that keeps the byte stream a sequence of whole frames: a side write happens
// only while none of the connection's own bytes are half-way onto the wire, and the
// loop's writes and the side writes exclude each other through one mutex.
//  1. The loop holds mu_ around every write it makes itself (TcpConnection::flush,
//     uv_try_write). When libuv keeps the rest of a write (uv_write), libuv writes it
//     later from inside its poll, without us: busy_ stays set until that write's
//     callback, and no side write happens meanwhile.
//  2. A side frame that the socket takes only in part leaves its rest in remainder_
//     and sets busy_: the loop's next flush writes that rest before anything else
//     (TcpConnection::commit_output() registers the flush).
//  3. Closing: the loop clears fd_ under mu_ before uv_close, so a side write never
//     reaches a closed, or reused, descriptor.
// Plain TCP only (TLS encrypts on the loop), and not for a connection with a write
// guard: TcpConnection::side_writer() refuses both.
//
// Lifecycle: made by TcpConnection::side_writer() on the loop thread; shared with the
// other thread through a shared_ptr, and harmless after the connection is gone (every
// send then returns not_sent). send() from any thread; the rest is TcpConnection's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

namespace twinmq::net {

class SideWriter {
 public:
  enum class Sent {
    whole,     // the frame is on the socket
    partly,    // its start is; the rest waits for the loop's next flush (rule 2): wake the loop
    not_sent,  // nothing was written (the loop is writing, the socket is full or closed)
  };
  // Any thread. Never blocks on the socket (MSG_DONTWAIT).
  Sent send(std::span<const char> frame);

  // Frames sent (whole or partly), for tests.
  std::uint64_t frames() const;

 private:
  friend class TcpConnection;
  explicit SideWriter(int fd) : fd_(fd) {}

  mutable std::mutex mu_;
  int fd_ = -1;           // guarded by mu_; -1 once the connection closes
  bool busy_ = false;     // guarded by mu_; a write of the loop's is in libuv's hands
  std::string remainder_; // guarded by mu_; the unsent rest of a side frame (rule 2)
  std::uint64_t frames_ = 0;
};

}  // namespace twinmq::net
