// store/index_decoder.h — what the index needs of a stored message, read off its
// record without building the message (index-only recovery, store/recovery.h).
//
// A MessageEnqueued or TransactionCommitted record becomes a broker::IndexedEnqueue:
// per send its id, destination, priority, expiry, duplicate-detection id and window
// size (views into the record), per ack its queue and id. Headers are walked only to
// find `_AMQ_DUPL_ID`; the body is never touched. The record must have passed
// verified_event() (store/event_codec.h): nothing here trusts bytes from disk that the
// flatbuffers Verifier has not checked.
//
// Lifecycle: one per recovery walk (store/recovery.cc), on the thread that recovers. A
// decoded IndexedEnqueue is valid until the next decode() or until the record's bytes
// go away.
#pragma once

#include <vector>

#include "broker/event.h"
#include "event_generated.h"

namespace twinmq::store {

class IndexDecoder {
 public:
  // The index of a verified MessageEnqueued or TransactionCommitted event; nullptr when
  // only a full decode can rebuild it: a send that is not persistent (the journal
  // writes none; a replay of such a record keeps its message in memory, as before) or
  // a MessageEnqueued without a message (the caller's decode reports it).
  const broker::IndexedEnqueue* decode(const fb::Event& ev);

 private:
  bool add(const fb::Message* m);

  broker::IndexedEnqueue out_;
  std::vector<broker::StoredMessageIndex> sends_;
  std::vector<broker::AckedMessage> acks_;
};

}  // namespace twinmq::store
