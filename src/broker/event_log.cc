// broker/event_log.cc — numbering state changes and handing them to the sinks.
#include "broker/event_log.h"

#include <algorithm>

namespace twinmq::broker {

Seq EventLog::append(const Event& event) {
  last_ = Seq{last_.value + 1};
  // Sinks run synchronously and in registration order; a sink must not add or remove
  // sinks from inside on_event (the runtime registers them before traffic starts).
  for (EventSink* sink : sinks_) sink->on_event(last_, event);
  return last_;
}

Seq EventLog::append_consumed(const Event& removal, const Event* replacement, std::uint64_t next_message_id) {
  const Seq enqueued = last_;
  // All or none: a sink that dropped the pair while another wrote it would leave the
  // journal and the slave with different records at the same seqs (which the catch-up's
  // record check reads as a diverged history).
  const bool all = !sinks_.empty() && std::all_of(sinks_.begin(), sinks_.end(),
                                                  [&](const EventSink* s) { return s->can_cancel(enqueued); });
  if (!all) return append(removal);
  last_ = Seq{last_.value + 1};
  const Cancellation c{enqueued, last_, removal, replacement, next_message_id};
  for (EventSink* sink : sinks_) sink->cancel(c);
  ++cancelled_;
  return last_;
}

void EventLog::add_sink(EventSink* sink, SinkOrder order) {
  if (std::find(sinks_.begin(), sinks_.end(), sink) != sinks_.end()) return;
  const auto at = std::upper_bound(orders_.begin(), orders_.end(), order);
  sinks_.insert(sinks_.begin() + (at - orders_.begin()), sink);
  orders_.insert(at, order);
}

void EventLog::remove_sink(EventSink* sink) {
  const auto it = std::find(sinks_.begin(), sinks_.end(), sink);
  if (it == sinks_.end()) return;
  orders_.erase(orders_.begin() + (it - sinks_.begin()));
  sinks_.erase(it);
}

}  // namespace twinmq::broker
