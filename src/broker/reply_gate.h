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

  // What a source's position vouches for. The journal only matters to work that must
  // be durable: a receipt for a non-persistent SEND need not wait for the disk (and
  // must not, when the disk is full and persistent work is refused).
  enum class Gates : bool { all_work, persistent_work };

  SourceId add_source(Seq initial_position, Gates gates = Gates::all_work);
  void remove_source(SourceId id);
  // Raise a source's position (never lowers). Returns true if released() advanced.
  bool advance(SourceId id, Seq position);

  // Everything up to here is released for all work (minimum over every source).
  Seq released() const;
  // Released for work that need not be durable: minimum over the sources that gate all
  // work (e.g. the slave link), ignoring persistence-only ones; log.last() if none.
  Seq released_non_persistent() const;
  Seq released_for(bool persistent) const { return persistent ? released() : released_non_persistent(); }

  // `conn` has replies waiting for Seq > released(); notify it when that moves.
  void wait(ConnId conn) { waiting_.insert(conn); }
  void forget(ConnId conn) { waiting_.erase(conn); }
  // Takes the set of waiting connections (the broker notifies each one, and they
  // call wait() again if they still have replies held).
  std::vector<ConnId> take_waiting();

 private:
  const EventLog& log_;
  struct Source { Seq position; bool active; Gates gates; };
  Seq lowest(bool include_persistence_only) const;
  std::vector<Source> sources_;
  std::unordered_set<ConnId> waiting_;
};

}  // namespace twinmq::broker
