// broker/reply_gate.h — holds replies back until the state change they confirm is
// safe (durable in the journal, applied by the slave), and releases them in order.
//
// Every frame that changes state produces events; its receipt must wait for the Seq
// of its last event. Gating sources (journal, replication link) each report a
// position: "everything up to here is done". released() is the minimum over sources;
// with no source (no store, no slave) it is the log's last Seq, so replies go at once.
//
// The gate does not store replies: each connection keeps its own FIFO of pending
// replies tagged with a Seq (so one connection's replies never overtake each other,
// even a receipt for a frame that changed nothing), and registers with wait() when
// its head is beyond released(). When released() advances the gate calls
// on_released() for each waiting connection through the broker.
//
// Loop thread only. Owned by Broker.
#pragma once

#include <cstddef>
#include <unordered_set>
#include <vector>

#include "base/ids.h"

namespace twinmq::broker {

class EventLog;

class ReplyGate {
 public:
  using SourceId = std::size_t;

  explicit ReplyGate(const EventLog& log) : log_(log) {}

  SourceId add_source(Seq initial_position);
  void remove_source(SourceId id);
  // Raise a source's position (never lowers). Returns true if released() advanced.
  bool advance(SourceId id, Seq position);

  Seq released() const;

  // `conn` has replies waiting for Seq > released(); notify it when that moves.
  void wait(ConnId conn) { waiting_.insert(conn); }
  void forget(ConnId conn) { waiting_.erase(conn); }
  // Takes the set of waiting connections (the broker notifies each one, and they
  // call wait() again if they still have replies held).
  std::vector<ConnId> take_waiting();

 private:
  const EventLog& log_;
  struct Source { Seq position; bool active; };
  std::vector<Source> sources_;
  std::unordered_set<ConnId> waiting_;
};

}  // namespace twinmq::broker
