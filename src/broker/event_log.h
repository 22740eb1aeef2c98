// broker/event_log.h — the one place every state change passes through.
//
// Broker code decides a change, then calls append(): the log gives it the next Seq and
// hands it, synchronously and in order, to every sink (the journal, the replication
// link). Sinks serialise what they need before returning (views die with the call).
// Sinks then report progress ("everything up to Seq N is durable / applied by the
// slave") to the ReplyGate, which releases held receipts.
//
// Lifecycle: owned by Broker; sinks are non-owning pointers registered by app::Runtime
// and removed before they die. Loop thread only.
#pragma once

#include <vector>

#include "base/ids.h"
#include "broker/event.h"

namespace twinmq::broker {

// A message consumed in the turn it was sent (README "Consumed before written"): the
// event at `enqueued` put a persistent message on a queue, and `removal` (at
// `removed` = enqueued + 1) took it off again, acknowledged. If every sink still holds
// the first event unsent (not handed to the journal's writer, not queued for the slave)
// they all drop both: nothing of the message leaves the process. `replacement`, when
// set, takes the enqueue's place (the SEND's duplicate-detection id, which outlives the
// message: a DuplicateIdsRecorded). `next_message_id` keeps a slave from handing the
// consumed message's id out again after a failover.
struct Cancellation {
  Seq enqueued;
  Seq removed;
  const Event& removal;
  const Event* replacement = nullptr;
  std::uint64_t next_message_id = 0;
};

class EventSink {
 public:
  virtual void on_event(Seq seq, const Event& event) = 0;
  // Whether the sink can still take back the event it was given at `enqueued` (its
  // last one): nothing of it left the process yet. A sink that cannot say no takes
  // part in no cancellation.
  virtual bool can_cancel(Seq enqueued) const {
    (void)enqueued;
    return false;
  }
  // Takes the enqueue back and stands for the removal instead of on_event(removal):
  // called only when every sink's can_cancel(c.enqueued) said yes.
  virtual void cancel(const Cancellation& c) { (void)c; }

 protected:
  ~EventSink() = default;
};

// Where a sink runs among the sinks, and where its end-of-turn hook runs among the
// loop's prepare hooks (net::Loop::add_prepare_hook takes the same number). The
// replication link depends on the journal having gone first per event (it sends the
// bytes the journal just encoded, Journal::encoded, and asks what the journal holds,
// last_unjournaled_seq). Declaring the order makes that hold whatever order
// app::Runtime creates them in. At the end of a turn it is the other way round: the
// journal hands its batch to its writer only after the turn's socket writes
// (net::Loop::kAfterFlush), so the events reach the slave first. The slave's path
// (link, its fsync, Applied back) is the longer of the two that a RECEIPT waits for,
// and waking the writer first let it take the core ahead of that write (issue 14).
enum class SinkOrder : int { journal = 0, replication = 1, other = 2 };

class EventLog {
 public:
  // Numbers `event` (last() + 1), passes it to every sink, returns its Seq.
  Seq append(const Event& event);
  // Numbers `removal`, which takes off a queue the message that the event at last()
  // put there (an auto-acknowledged delivery in the same turn as its SEND). If every
  // sink can take that event back, the two cancel (each sink's cancel()); otherwise
  // `removal` goes to every sink like append(). Returns its Seq either way.
  Seq append_consumed(const Event& removal, const Event* replacement, std::uint64_t next_message_id);
  // Pairs cancelled by append_consumed since start.
  std::uint64_t cancelled() const { return cancelled_; }
  Seq last() const { return last_; }
  // Recovery and the slave continue the numbering they replay.
  void reset_last(Seq s) { last_ = s; }

  // Sinks run by `order`, equal orders in registration order; registering a sink
  // again does nothing.
  void add_sink(EventSink* sink, SinkOrder order = SinkOrder::other);
  void remove_sink(EventSink* sink);

 private:
  Seq last_{0};
  std::uint64_t cancelled_ = 0;
  std::vector<EventSink*> sinks_;      // sorted by order_
  std::vector<SinkOrder> orders_;     // parallel to sinks_
};

}  // namespace twinmq::broker
