// replication/slave_ack_watch.h — lets a master's loop sleep through its own journal's
// durability report while the slave's Applied is still to come.
//
// DESIGN
//  - A receipt needs both sources of the reply gate: the master's journal (its writer
//    reports through an eventfd) and the slave's Applied. When the slave's Applied is
//    the later one (with the slave acknowledging from its writer thread,
//    replication/direct_ack.h, it often is not; with a shared disk it often is), the
//    journal's report wakes the loop for nothing: it can release no receipt. On two
//    busy cores that wake-up costs the core the slave's answer then waits for.
//  - SlaveAckWatch is the master journal's store::DurableListener. Asked after a
//    report is queued, it lets the loop sleep on (loop_may_wait) only while a slave
//    follows the gate and has acknowledged nothing after `from` (the previous
//    report's cover): then no reply the report covers can pass the gate before an
//    Applied beyond `from` arrives, and that Applied wakes the loop, which takes the
//    queued report first (MasterLink::on_applied calls Journal::take_reports) and
//    releases the RECEIPTs in the same callback.
//  - No lost wake-up: the loop publishes the slave's acknowledgement (acknowledged())
//    before it takes the queue; the writer queues the report before it asks.
//    Whichever comes second sees the other: the loop finds the report, or the writer
//    sees the acknowledgement and wakes the loop.
//
// Lifecycle: owned by the MasterLink, registered with its journal from open() to
// close(). following()/acknowledged() on the loop thread, loop_may_wait() on the
// journal's writer thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/ids.h"
#include "store/journal.h"

namespace twinmq::replication {

class SlaveAckWatch final : public store::DurableListener {
 public:
  // Loop thread: a slave's Applied gates every reply (true), or none does.
  void following(bool yes) { following_.store(yes); }
  // Loop thread: the slave acknowledged up to `seq`. Before the loop's next prepare.
  void acknowledged(Seq seq) { acked_.store(seq.value); }

  void durable(Seq) noexcept override {}
  bool loop_may_wait(Seq from, Seq) noexcept override {
    return following_.load() && acked_.load() <= from.value;
  }

 private:
  std::atomic<bool> following_{false};
  std::atomic<std::uint64_t> acked_{0};
};

}  // namespace twinmq::replication
