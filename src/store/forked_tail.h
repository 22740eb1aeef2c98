// store/forked_tail.h — what a store holds after the seq where its history forked
// from another's: the part that overwriting it (twinmq-resync) would destroy.
//
// Every event in that tail was durable on its broker, and that broker was serving, so
// a client may have got a RECEIPT for it. The store does not record which receipts
// went out (they are released later, by the reply gate, in memory), so nothing here
// can tell per message: every message is "accepted (a receipt may have been sent)".
// That is also why the tail of a master that died with writes in flight (never
// receipted) looks the same as the tail of one that served alone after a link cut.
//
// read_forked_tail() replays the whole store (checkpoint and segments, as verify-store
// does) into the store's live-message index, and looks at every event with a seq after
// the fork:
//   - messages enqueued there (MessageEnqueued, and the sends of TransactionCommitted),
//     per destination: count, first and last seq, body bytes; and which of them are
//     still live at the store's end (not acknowledged, expired or discarded later in
//     the same tail). Those are what `twinmq salvage` writes out;
//   - messages removed there (acknowledged, expired, discarded) or dead-lettered that
//     were enqueued before the fork: the other store still holds them and will deliver
//     them again — duplicates, not loss;
//   - transactions committed, destinations and durable subscriptions added or removed.
// A checkpoint keeps the seq of each event it stands for, so its records after the fork
// count too; what compaction dropped (removals before the checkpoint's seq) cannot.
//
// Single-threaded, no loop (it builds broker::Messages, which are not thread-safe:
// the CLI's main thread only).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/message.h"
#include "store/identity.h"

namespace twinmq::store {

struct DestinationTail {
  std::uint64_t enqueued = 0;     // messages enqueued after the fork
  Seq first_seq, last_seq;        // of those enqueues
  std::uint64_t bytes = 0;        // their body bytes
  std::uint64_t live = 0;         // of those, still live at the store's end
  std::uint64_t live_bytes = 0;
  std::uint64_t removed = 0;      // messages enqueued before the fork, removed after it
  std::uint64_t acked = 0;        //   of which acknowledged (the rest expired or discarded)
  std::uint64_t dead_lettered = 0;  // messages enqueued before the fork, moved to a DLQ after it
};

struct DurableTail {
  std::string client_id, name, topic;  // topic empty for a removal
};

// A message of the tail still live at the store's end (kept only when asked for).
struct TailMessage {
  Seq seq;                      // of the event that enqueued it
  std::uint32_t member = 0;     // its place among a transaction's sends
  broker::MessageRef message;
  std::string location;         // where it sits at the end: its destination, or the DLQ it was moved to
};

struct ForkedTail {
  std::string dir;
  StoreIdentity identity;
  Seq fork;                     // events after this seq
  Seq checkpoint_seq;           // the store's checkpoint (0: none)
  Seq last_seq;
  std::uint64_t events = 0;     // event records after the fork
  std::uint64_t messages = 0;   // messages enqueued after the fork
  std::uint64_t live = 0;       // of those, still live at the end
  std::uint64_t live_bytes = 0;
  std::uint64_t transactions = 0;
  std::map<std::string, DestinationTail> destinations;  // by destination, queue or durable key
  std::vector<std::string> destinations_added, destinations_removed;
  std::vector<DurableTail> durables_added, durables_removed;
  std::vector<TailMessage> live_messages;  // in enqueue order; filled with keep_messages

  bool empty() const { return events == 0; }
};

// Replays the stopped store in `dir` (resolved as resolve_store_dir does) and describes
// its events after `fork`. With `keep_messages`, the live ones are kept for salvage.
// Fails when the store cannot be read whole (a damaged record is named).
Result<ForkedTail> read_forked_tail(const std::string& dir, Seq fork, bool keep_messages);

}  // namespace twinmq::store
