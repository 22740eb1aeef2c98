// broker/transaction.h — an open STOMP transaction (BEGIN .. COMMIT/ABORT).
//
// Nothing in here is state the event log knows about: until COMMIT the sends are
// private copies and the acks only marks on the subscription's deliveries. COMMIT
// turns them into one TransactionCommitted event; ABORT (or the connection going
// away) forgets them. That is why a failover loses open transactions, as ARCHITECTURE.md
// says it may.
//
// Lifecycle: owned by its Connection (txs map), keyed by the client's name for it.
// Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "broker/memory_usage.h"
#include "broker/message.h"

namespace twinmq::broker {

class Subscription;

struct TxAck {
  Subscription* sub;   // cleared from every transaction when the subscription goes
  std::uint64_t tag;   // the delivery's ack tag within that subscription
  bool nack;
};

struct Transaction {
  // Validated sends, in send order. Their message id is 0: the real id is assigned at
  // commit so that ids stay in enqueue order (queue lanes are sorted by id).
  std::vector<MessageRef> sends;
  std::vector<TxAck> acks;
  // What the commit event may take at most (Message::encoded_size_bound of the sends,
  // kAckedMessageBound + queue name of the acks): bounded by maxTransactionSize.
  std::size_t bytes = 0;
  // The sends' memory (memory_cost each), counted in the broker's memoryUsage from the
  // SEND until the commit (where the destinations count them instead) or the abort:
  // open transactions are memory like any other the broker holds for messages.
  MemoryAccount memory;
};

// At least what one acknowledged message takes in a TransactionCommitted event, beyond
// its queue's name (an AckedMessage table with its vtable and vector slot).
inline constexpr std::size_t kAckedMessageBound = 96;

}  // namespace twinmq::broker
