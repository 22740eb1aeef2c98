// replication/direct_ack.h — the slave's Applied, sent by its journal's writer thread
// the moment the fdatasync returns, instead of after a hand-off to the loop.
//
// DESIGN
//  - The receipt path of the pair (README "The receipt path of the pair") ends with:
//    the slave's fdatasync returns → Applied → the master releases the RECEIPT. Through
//    the loop, the writer reports (eventfd), the loop wakes up, raises its gate and
//    queues the Applied for the turn's flush: one more thread wake-up on two busy cores
//    for every synchronous message. DirectAck is a store::DurableListener: the writer
//    thread calls durable(cover) right after the group's fdatasync, and DirectAck
//    writes Applied(cover) on the link through its net::SideWriter at once.
//  - The promise does not change: Applied(n) still means "applied here, and durable in
//    this journal, up to n". The journal calls durable() only after the group's
//    fdatasync returned, with the cover the loop would report for it, and every event up
//    to that cover was applied before its batch was handed over (SlaveLink::on_events
//    applies, then journals). Nothing below the catch-up floor is acknowledged.
//  - The loop's path (SlaveLink::ack) stays and sends whatever the writer did not (the
//    socket was busy with the loop's own bytes, or full); it skips what sent() says
//    went already, so the master gets one Applied per durable group, not two.
//  - Only while streaming, with a journal, on a plain TCP link (a TLS link encrypts on
//    the loop): SlaveLink::update_direct_ack() starts and stops it with the state.
//
// Lifecycle: owned by the SlaveLink; registered with one journal between start() and
// stop() (loop thread). durable() runs on the writer thread, under the journal's
// listener lock, so stop() returning means no call is running and none will come.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/ids.h"
#include "net/side_writer.h"
#include "replication/protocol.h"
#include "store/journal.h"

namespace twinmq::replication {

class DirectAck final : public store::DurableListener {
 public:
  DirectAck() = default;
  ~DirectAck() { stop(); }
  DirectAck(const DirectAck&) = delete;
  DirectAck& operator=(const DirectAck&) = delete;

  // Loop thread. Acknowledges on `side` what `journal` makes durable from now on, but
  // nothing below `floor` (or at or below what was acknowledged already, `acked`).
  void start(store::Journal& journal, std::shared_ptr<net::SideWriter> side, Seq floor, Seq acked);
  void stop();
  bool active() const { return journal_ != nullptr; }
  // The last Applied the writer thread sent (any thread).
  Seq sent() const { return Seq{sent_.load(std::memory_order_acquire)}; }

  // Writer thread: sends Applied(cover).
  void durable(Seq cover) noexcept override;
  // Writer thread: the loop may sleep on once that Applied is wholly out; its gate and
  // spare buffers can wait for its next wake-up (the master's next events, or the
  // heart-beat timer).
  bool loop_may_wait(Seq, Seq) noexcept override { return out_whole_; }

 private:
  store::Journal* journal_ = nullptr;      // loop thread
  // Written by start() before the journal may call durable(), cleared after stop():
  // the journal's listener lock orders them with the writer thread.
  std::shared_ptr<net::SideWriter> side_;
  Seq floor_;
  std::atomic<std::uint64_t> sent_{0};
  FrameWriter frames_;  // writer thread while registered; one builder, cleared per frame
  std::string frame_;   // keeps its capacity: no allocation per Applied
  bool out_whole_ = false;  // writer thread: the last durable()'s Applied is wholly sent
};

}  // namespace twinmq::replication
