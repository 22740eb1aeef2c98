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
