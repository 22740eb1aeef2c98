// broker/transaction.cc — BEGIN, COMMIT, ABORT.
//
// COMMIT, in order:
//   1. refuse (changing nothing) if it holds persistent sends and the store refuses, or
//      if a send finds no room (memory or store limit: broker/limits.cc);
//   2. DestinationAdded for every destination the sends need that does not exist yet;
//   3. drop the sends whose duplicate-detection id is in their destination's window,
//      or was used by an earlier send of this transaction (counted, logged at debug:
//      the rest commits, so a transaction redone with the same ids after an unknown
//      outcome stores each message once); give the others their ids (in send order,
//      after every id already used) and the window size their id enters;
//   4. ONE TransactionCommitted event with the sends that are state (queue sends,
//      topic sends that durable subscriptions will keep, and topic sends whose
//      duplicate-detection id enters a window) and the acks that are state
//      (deliveries from queues and durable backlogs) — applied atomically;
//   5. what is not state: topic fan-out to live subscribers, settling the acked
//      deliveries, giving back the NACKed ones (which may dead-letter: more events);
//   6. dispatch.
// ABORT (and detach) drops the sends and turns acked deliveries back into plain
// unacked ones, still held by their subscription: they are redelivered only if that
// consumer goes away or NACKs them, as if the ACK had never been sent.
#include <fmt/format.h>

#include <string>
#include <unordered_set>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

Transaction* Broker::Impl::find_tx(Connection& c, std::string_view name) {
  auto it = c.txs.find(name);
  return it == c.txs.end() ? nullptr : &it->second;
}

Result<void> Broker::Impl::charge_tx(Transaction& tx, std::string_view name, std::size_t bytes,
                                     std::string_view what) {
  const std::size_t limit = options.max_transaction_bytes;
  if (tx.bytes + bytes <= limit) {
    tx.bytes += bytes;
    return {};
  }
  constexpr double kMiB = 1024.0 * 1024.0;
  return make_error(Errc::transaction_too_large,
                    fmt::format("transaction '{}' would hold {:.1f} MiB with this {} ({} messages and {} acks "
                                "before it), more than maxTransactionSize allows ({:.1f} MiB): the transaction is "
                                "rolled back; commit in smaller transactions, or raise maxTransactionSize (at most "
                                "{} MiB)",
                                shown(name), static_cast<double>(tx.bytes + bytes) / kMiB, what, tx.sends.size(),
                                tx.acks.size(), static_cast<double>(limit) / kMiB, kMaxTransactionBytes >> 20));
}

void Broker::Impl::abort_tx(Transaction& tx) {
  for (const TxAck& a : tx.acks) {
    std::size_t index = 0;
    if (a.sub != nullptr && a.sub->find_tag(a.tag, DeliveryState::tx_settled, &index))
      a.sub->unacked()[index].state = DeliveryState::held;
  }
  tx.acks.clear();
  tx.sends.clear();
  tx.bytes = 0;
  tx.memory.release(tx.memory.used());
}

void Broker::Impl::forget_tx_acks(Connection& c, const Subscription& s) {
  for (auto& [name, tx] : c.txs)
    for (TxAck& a : tx.acks)
      if (a.sub == &s) {
        std::size_t index = 0;
        if (a.sub->find_tag(a.tag, DeliveryState::tx_settled, &index))
          a.sub->unacked()[index].state = DeliveryState::held;
        a.sub = nullptr;
      }
}

Result<Seq> Broker::begin(ConnId id, std::string_view tx) {
  Impl& im = *impl_;
  Connection& c = im.conn(id);
  if (tx.empty())
    return make_error(Errc::unknown_transaction, "a transaction needs a non-empty name");
  if (c.txs.contains(tx))
    return make_error(Errc::duplicate_transaction,
                      fmt::format("transaction '{}' is already open on this connection", shown(tx)));
  c.txs.try_emplace(std::string(tx)).first->second.memory.bind(&im.memory, 0);
  return Seq{0};
}

Result<Seq> Broker::abort(ConnId id, std::string_view tx) {
  Impl& im = *impl_;
  Connection& c = im.conn(id);
  auto it = c.txs.find(tx);
  if (it == c.txs.end())
    return make_error(Errc::unknown_transaction,
                      fmt::format("transaction '{}' is not open on this connection", shown(tx)));
  im.abort_tx(it->second);
  c.txs.erase(it);
  return Seq{0};
}

Result<Seq> Broker::commit(ConnId id, std::string_view name) {
  Impl& im = *impl_;
  Connection& c = im.conn(id);
  auto it = c.txs.find(name);
  if (it == c.txs.end())
    return make_error(Errc::unknown_transaction,
                      fmt::format("transaction '{}' is not open on this connection", shown(name)));
  Transaction& tx = it->second;

  // 1.
  if (!im.refusal.empty())
    for (const MessageRef& m : tx.sends)
      if (m->persistent()) return make_error(Errc::persistence_unavailable, im.refusal);

  // 1b. Room for every send (broker/limits.cc); the transaction stays open if not. Its
  // own sends, counted since their SEND, do not stand in their way: they move to the
  // destinations now.
  const std::uint64_t own = tx.memory.used();
  tx.memory.release(own);
  for (const MessageRef& m : tx.sends)
    if (auto room = im.check_room(m->destination(), m->persistent()); !room) {
      tx.memory.charge(own);
      return std::unexpected(room.error());
    }

  // 2.
  Seq last{0};
  for (const MessageRef& m : tx.sends)
    last = im.ensure_destination(m->destination(), classify_destination(m->destination()), last);

  // 3.
  std::vector<MessageRef> sends;
  std::vector<MessageRef> state_sends;
  sends.reserve(tx.sends.size());
  std::unordered_set<std::string> committed_ids;  // "destination\n_AMQ_DUPL_ID" of earlier sends
  bool dropped = false;
  for (const MessageRef& draft : tx.sends) {
    const std::string_view duplicate_id = draft->duplicate_id();
    std::uint32_t id_cache_size = 0;
    if (!duplicate_id.empty()) {
      id_cache_size = im.id_cache_size_of(draft->destination());
      if (id_cache_size != 0) {
        std::string key = fmt::format("{}\n{}", draft->destination(), duplicate_id);
        if (im.duplicates.contains(draft->destination(), duplicate_id) || committed_ids.contains(key)) {
          im.drop_duplicate(id, draft->destination(), duplicate_id, true);
          dropped = true;
          continue;
        }
        committed_ids.insert(std::move(key));
      }
    }
    MessageRef m = im.with_id(*draft, im.next_message_id++, id_cache_size);
    const std::string_view dest = m->destination();
    // A topic send that no durable subscription keeps is state only for its id: it
    // travels in the event so that the id is recorded atomically with the commit.
    if (classify_destination(dest) == DestKind::queue || !im.find_topic(dest)->durables().empty() ||
        id_cache_size != 0)
      state_sends.push_back(m);
    sends.push_back(std::move(m));
  }
  struct Settle {
    Subscription* sub;
    std::size_t index;
    bool nack;
  };
  std::vector<Settle> settles;
  std::vector<AckedMessage> state_acks;
  for (const TxAck& a : tx.acks) {
    std::size_t index = 0;
    if (a.sub == nullptr || !a.sub->find_tag(a.tag, DeliveryState::tx_settled, &index)) continue;
    settles.push_back(Settle{a.sub, index, a.nack});
    if (!a.nack && a.sub->kind() != SubKind::topic) {
      const Message& m = *a.sub->unacked()[index].msg;
      state_acks.push_back(AckedMessage{a.sub->queue->name(), m.id(), m.persistent()});
    }
  }

  // 4.
  if (!state_sends.empty() || !state_acks.empty())
    last = im.emit(TransactionCommitted{state_sends, state_acks});

  // 5.
  for (const MessageRef& m : sends) {
    if (classify_destination(m->destination()) != DestKind::topic) continue;
    Topic& t = *im.find_topic(m->destination());
    t.count_published();
    im.fan_out(t, m);
  }
  for (const Settle& st : settles) {
    Unacked& u = st.sub->unacked()[st.index];
    u.state = DeliveryState::held;  // settle_* take a held delivery
    if (st.nack) {
      last = im.settle_nack(*st.sub, st.index, last);
    } else {
      st.sub->settle(st.index);  // already removed from its queue by the event
      if (st.sub->kind() == SubKind::topic) st.sub->topic->count_consumed();
    }
  }
  for (const Settle& st : settles) {
    st.sub->trim();
    im.room_opened(*st.sub);
  }
  c.txs.erase(it);
  // A dropped send's original may not be safe yet: the receipt waits for everything
  // decided so far, as for a SEND dropped outside a transaction.
  if (dropped) last = log_.last();

  // 6.
  im.run_dispatch();
  return last;
}

}  // namespace twinmq::broker
