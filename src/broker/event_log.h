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

class EventLog {
 public:
  // Numbers `event` (last() + 1), passes it to every sink, returns its Seq.
  Seq append(const Event& event);
  Seq last() const { return last_; }
  // Recovery and the slave continue the numbering they replay.
  void reset_last(Seq s) { last_ = s; }

  void add_sink(EventSink* sink);
  void remove_sink(EventSink* sink);

 private:
  Seq last_{0};
  std::vector<EventSink*> sinks_;
};

}  // namespace twinmq::broker
