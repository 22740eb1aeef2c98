// broker/snapshot.h — the broker's current state as a list of events, for a slave's
// initial sync (replication/initial_sync.h).
//
// Applying the events of a snapshot, in order, to an empty broker (Broker::apply), or
// replaying them from a journal checkpoint, rebuilds the same destinations, durable
// subscriptions and messages, each in the queue or durable backlog(s) where it sits.
// Like the event log, a snapshot leaves out what is not mirrored: which consumer holds
// which message (held messages come back as ready ones), open transactions (their
// sends are not state yet) and pending messages of non-durable topic subscribers.
//
// Order of the events:
//  1. DestinationAdded for every queue, then every topic;
//  2. DurableSubscriptionAdded for every durable subscription;
//  3. per live message, in id order: MessageEnqueued, and for a topic message a
//     MessageRemoved (reason discarded) for each durable subscription of its topic that
//     does not hold it — MessageEnqueued of a topic message reaches every durable
//     backlog of the topic, exactly as the journal's checkpoints rebuild it;
//  4. per destination with a duplicate-detection window (broker/duplicates.h), sorted
//     by name: DuplicateIdsRecorded events of at most kDuplicateIdsPerEvent ids, oldest
//     first, the first one with `replace` — last, because the messages of step 3 enter
//     their own ids on the way, and the window must end exactly as the master's (ids
//     of consumed messages included, each with its SEND's persistence).
//
// A memory-only snapshot (Broker::take_memory_snapshot) has steps 3 and 4 only, and
// only for what a journal cannot supply: non-persistent messages, and the windows that
// hold the id of a non-persistent SEND.
//
// A Snapshot owns what it refers to (names are copies, messages are shared references),
// so the broker may go on changing while the snapshot is sent. Taking one is O(live
// messages) on the loop thread, in one go: that is what makes it a consistent cut at
// `upto` while clients keep working.
//
// Lifecycle: made by Broker::take_snapshot(), owned by the caller. Loop thread only
// (messages are not atomically reference counted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/ids.h"
#include "broker/event.h"
#include "broker/message.h"

namespace twinmq::broker {

struct Snapshot {
  struct Durable {
    std::string client_id;
    std::string name;
    std::string topic;
    std::string key;  // durable_key(client_id, name)
  };
  struct Window {
    std::string destination;
    std::uint32_t id_cache_size = 0;
    std::vector<std::string> ids;   // oldest first
    std::vector<bool> persistent;   // per id
  };
  struct Item {
    MessageRef message;
    std::uint32_t first_absent = 0;  // range in `absent`
    std::uint32_t absent_count = 0;
  };

  Seq upto;                               // the state after this event
  std::uint64_t next_message_id = 1;
  std::vector<std::string> queues;        // sorted
  std::vector<std::string> topics;        // sorted
  std::vector<Durable> durables;          // sorted by key
  std::vector<Item> messages;             // by id
  std::vector<std::uint32_t> absent;      // indexes into `durables`
  std::vector<Window> windows;            // sorted by destination
  std::uint64_t body_bytes = 0;
  // take_memory_snapshot(): `durables` only name the backlogs for `absent`; no
  // Added events are produced for any structure.
  bool memory_only = false;

  std::size_t structures() const { return memory_only ? 0 : queues.size() + topics.size() + durables.size(); }
  // Events the windows take (each at least one, see SnapshotCursor).
  std::size_t window_events() const;
  // Every event the snapshot stands for.
  std::size_t event_count() const { return structures() + messages.size() + absent.size() + window_events(); }
};

// Walks a snapshot's events in order. An event's views point into the snapshot.
class SnapshotCursor {
 public:
  explicit SnapshotCursor(const Snapshot& snapshot) : s_(snapshot) {}

  // The next event; false after the last one.
  bool next(Event& out);
  std::size_t events_done() const { return events_; }
  std::size_t messages_done() const { return message_; }

 private:
  const Snapshot& s_;
  std::size_t structure_ = 0;  // queues, topics, durables, in that order
  std::size_t message_ = 0;
  std::size_t removal_ = 0;    // within the current message's absent range
  bool enqueued_ = false;      // the current message's MessageEnqueued was produced
  std::size_t window_ = 0;
  std::size_t window_pos_ = 0;  // ids of the current window already produced
  std::vector<DuplicateId> ids_;  // the current DuplicateIdsRecorded's ids (views into s_)
  std::size_t events_ = 0;
};

}  // namespace twinmq::broker
