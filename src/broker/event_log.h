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

class EventSink {
 public:
  virtual void on_event(Seq seq, const Event& event) = 0;

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
  Seq last() const { return last_; }
  // Recovery and the slave continue the numbering they replay.
  void reset_last(Seq s) { last_ = s; }

  // Sinks run by `order`, equal orders in registration order; registering a sink
  // again does nothing.
  void add_sink(EventSink* sink, SinkOrder order = SinkOrder::other);
  void remove_sink(EventSink* sink);

 private:
  Seq last_{0};
  std::vector<EventSink*> sinks_;      // sorted by order_
  std::vector<SinkOrder> orders_;     // parallel to sinks_
};

}  // namespace twinmq::broker
