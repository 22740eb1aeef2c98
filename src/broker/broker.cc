// broker/broker.cc — the Broker facade: sessions (attach/detach), SEND, flow control,
// the reply gate hook and observation. The design comment is in broker.h; how the
// pieces fit is in broker_impl.h. Other jobs live in subscribe.cc, ack.cc,
// transaction.cc, apply.cc, dispatch.cc, redelivery.cc, expiry.cc and durable.cc.
#include "broker/broker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

Broker::Impl::Impl(Broker& b, BrokerOptions opts) : broker(b), options(std::move(opts)) {
  memory.limit = options.memory_limit;
}

Broker::Broker(BrokerOptions options) : impl_(std::make_unique<Impl>(*this, std::move(options))) {}

Broker::~Broker() = default;

Seq Broker::Impl::emit(const Event& e) {
  const Seq seq = broker.log_.append(e);
  apply_event(e);
  return seq;
}

bool Broker::Impl::consumed_at_once(const Queue& q, const QueueEntry& e) const {
  // Only the message of the SEND whose event is the log's very last one: nothing has
  // been numbered since, so every sink still holds that event as its last (and a
  // queue's message is on that queue alone: no other backlog still needs it).
  return e.msg->persistent() && !e.redelivered && e.id == last_send_id && last_send_seq == broker.log_.last() &&
         q.name() == e.msg->destination();
}

Seq Broker::Impl::emit_consumed(const MessageRemoved& removal, const Message& m) {
  // The SEND's duplicate-detection id outlives the message (a producer that re-sends
  // after a failover must find it on either broker, and after a restart): it takes the
  // enqueue's place in the journal and on the link.
  const DuplicateId ids[] = {{m.duplicate_id(), true}};
  const bool keeps_id = m.id_cache_size() != 0 && !m.duplicate_id().empty();
  const Event replacement = DuplicateIdsRecorded{m.destination(), ids, m.id_cache_size(), false, true};
  const Event event = removal;
  const Seq seq = broker.log_.append_consumed(event, keeps_id ? &replacement : nullptr, next_message_id);
  apply_event(event);
  return seq;
}

Connection& Broker::Impl::conn(ConnId id) {
  auto it = conns.find(id);
  TWINMQ_ASSERT(it != conns.end(), "call for a connection that is not attached");
  return *it->second;
}

std::int64_t Broker::Impl::now_ms() const { return options.now_ms ? options.now_ms() : wall_ms(); }

DestinationPolicy Broker::Impl::policy_for(std::string_view name) const {
  return options.policy_for ? options.policy_for(name) : DestinationPolicy{};
}

Queue* Broker::Impl::find_queue(std::string_view name) {
  auto it = queues.find(name);
  return it == queues.end() ? nullptr : it->second.get();
}

Topic* Broker::Impl::find_topic(std::string_view name) {
  auto it = topics.find(name);
  return it == topics.end() ? nullptr : it->second.get();
}

Queue* Broker::Impl::find_durable(std::string_view key) {
  auto it = durables.find(key);
  return it == durables.end() ? nullptr : it->second.get();
}

Queue* Broker::Impl::find_store(std::string_view name) {
  // Destination names start with '/', durable keys never do (see durable_key).
  return name.starts_with('/') ? find_queue(name) : find_durable(name);
}

Queue& Broker::Impl::make_queue(std::string_view name) {
  if (Queue* q = find_queue(name)) return *q;
  auto q = std::make_unique<Queue>(std::string(name), policy_for(name));
  q->memory.bind(&memory, q->policy().memory_limit);
  if (q->memory.limit() != 0) queue_limits = true;
  Queue& ref = *q;
  queues.emplace(std::string(name), std::move(q));
  return ref;
}

Topic& Broker::Impl::make_topic(std::string_view name) {
  if (Topic* t = find_topic(name)) return *t;
  auto t = std::make_unique<Topic>(std::string(name), policy_for(name));
  t->memory.bind(&memory, t->policy().memory_limit);
  Topic& ref = *t;
  topics.emplace(std::string(name), std::move(t));
  return ref;
}

Seq Broker::Impl::ensure_destination(std::string_view name, DestKind kind, Seq last) {
  const bool exists = kind == DestKind::topic ? find_topic(name) != nullptr : find_queue(name) != nullptr;
  return exists ? last : emit(DestinationAdded{name});
}

MessageRef Broker::Impl::make_message(const SendRequest& req, std::uint64_t id, std::uint32_t id_cache_size) {
  MessageInit init;
  init.id = id;
  init.id_prefix = options.id_prefix;
  init.destination = req.destination;
  init.headers = req.headers;
  init.body = req.body;
  init.persistent = req.persistent;
  init.priority = std::min<std::uint8_t>(req.priority, 9);
  init.expires_ms = req.expires_ms;
  init.timestamp_ms = now_ms();
  init.id_cache_size = id_cache_size;
  return Message::create(init);
}

MessageRef Broker::Impl::with_id(const Message& draft, std::uint64_t id, std::uint32_t id_cache_size) {
  MessageInit init;
  init.id = id;
  init.id_prefix = options.id_prefix;
  init.destination = draft.destination();
  init.headers = draft.headers();
  init.body = draft.body();
  init.persistent = draft.persistent();
  init.priority = draft.priority();
  init.expires_ms = draft.expires_ms();
  init.timestamp_ms = draft.timestamp_ms();
  init.id_cache_size = id_cache_size;
  return Message::create(init);
}

std::uint32_t Broker::Impl::id_cache_size_of(std::string_view name) {
  if (classify_destination(name) == DestKind::topic) {
    if (const Topic* t = find_topic(name)) return t->policy().id_cache_size;
  } else if (const Queue* q = find_queue(name)) {
    return q->policy().id_cache_size;
  }
  return policy_for(name).id_cache_size;
}

void Broker::Impl::drop_duplicate(ConnId conn, std::string_view destination, std::string_view id, bool in_commit) {
  duplicates.count_dropped(destination);
  if (log_debug())
    spdlog::debug("connection {}: {} to {} with {}:{:?} dropped: that id is in the destination's window "
                  "(a re-sent duplicate; answered as if stored)",
                  conn.value, in_commit ? "a send of a COMMIT" : "SEND", destination, kDuplicateIdHeader, id);
}

// --- sessions -------------------------------------------------------------------

ConnId Broker::attach(Client& client, std::string_view client_id) {
  Impl& im = *impl_;
  const ConnId id{im.next_conn++};
  auto c = std::make_unique<Connection>();
  c->id = id;
  c->client = &client;
  c->client_id = std::string(client_id);
  im.conns.emplace(id, std::move(c));
  return id;
}

void Broker::detach(ConnId id) {
  Impl& im = *impl_;
  auto it = im.conns.find(id);
  if (it == im.conns.end()) return;
  Connection& c = *it->second;
  // 1. Open transactions abort: their sends vanish, their acks are undone, so
  // 2. every delivery still held goes back to its queue (or durable backlog) below.
  for (auto& [name, tx] : c.txs) im.abort_tx(tx);
  c.txs.clear();
  for (auto& [sid, s] : c.subs) im.remove_subscription(*s, Seq{0});
  c.subs.clear();
  gate_.forget(id);
  im.conns.erase(it);
  // 3. What came back is dispatched to the remaining consumers.
  im.run_dispatch();
}

std::size_t Broker::connection_count() const { return impl_->conns.size(); }

bool Broker::destination_exists(std::string_view destination) const {
  switch (classify_destination(destination)) {
    case DestKind::queue: return impl_->queues.find(destination) != impl_->queues.end();
    case DestKind::topic: return impl_->topics.find(destination) != impl_->topics.end();
    case DestKind::invalid: break;
  }
  return false;
}

Result<Seq> Broker::send(ConnId id, const SendRequest& req) {
  Impl& im = *impl_;
  Connection& c = im.conn(id);
  const DestKind kind = classify_destination(req.destination);
  if (kind == DestKind::invalid)
    return make_error(Errc::invalid_destination,
                      fmt::format("destination '{}' is not valid: use {}", shown(req.destination),
                                  kDestinationForms));
  c.note_produced(req.destination);
  const std::string_view duplicate_id = find_duplicate_id(req.headers);
  if (duplicate_id.size() > kMaxDuplicateIdBytes)
    return make_error(Errc::invalid_duplicate_id,
                      fmt::format("header {} is {} bytes long; at most {} bytes are allowed (an opaque id "
                                  "that names the message for duplicate detection)",
                                  kDuplicateIdHeader, duplicate_id.size(), kMaxDuplicateIdBytes));
  if (req.persistent && !im.refusal.empty())
    return make_error(Errc::persistence_unavailable, im.refusal);

  // A transacted send is checked at COMMIT (transaction.cc): the window may change
  // before then, and only the commit stores anything.
  std::uint32_t id_cache_size = 0;
  if (!duplicate_id.empty() && req.transaction.empty()) {
    id_cache_size = im.id_cache_size_of(req.destination);
    if (id_cache_size != 0 && im.duplicates.contains(req.destination, duplicate_id)) {
      im.drop_duplicate(id, req.destination, duplicate_id, false);
      // Answered as if stored, but no sooner than the original may be: the receipt
      // waits for everything decided so far (the original's event is among it).
      return log_.last();
    }
  }

  if (!req.transaction.empty()) {
    Transaction* tx = im.find_tx(c, req.transaction);
    if (tx == nullptr)
      return make_error(Errc::unknown_transaction,
                        fmt::format("transaction '{}' is not open on this connection",
                                    shown(req.transaction)));
    // Held until the commit, so it takes memory now: a full broker makes it wait (or
    // fail) like any SEND. Its destination's own limit is checked at the commit.
    if (im.memory.full())
      return make_error(Errc::memory_full,
                        fmt::format("the broker's memory limit is reached (systemUsage memoryUsage), counting "
                                    "open transactions: {:.1f} MiB used of {:.1f} MiB",
                                    static_cast<double>(im.memory.used) / (1024.0 * 1024.0),
                                    static_cast<double>(im.memory.limit) / (1024.0 * 1024.0)));
    MessageRef m = im.make_message(req, 0);
    if (auto charged = im.charge_tx(*tx, req.transaction, m->encoded_size_bound(), "SEND"); !charged)
      return std::unexpected(std::move(charged.error()));
    tx->memory.charge(memory_cost(*m));
    tx->sends.push_back(std::move(m));
    return Seq{0};
  }

  if (auto room = im.check_room(req.destination, req.persistent); !room) return std::unexpected(room.error());

  Seq last = im.ensure_destination(req.destination, kind, Seq{0});
  if (kind == DestKind::queue) {
    const std::uint64_t message_id = im.next_message_id++;
    last = im.emit(MessageEnqueued{im.make_message(req, message_id, id_cache_size)});
    im.last_send_seq = last;
    im.last_send_id = message_id;
  } else {
    Topic& t = *im.find_topic(req.destination);
    t.count_published();
    // No durable subscription keeps the message, so no message event carries its id:
    // the id is state on its own (a re-send after a failover must find it on the slave).
    if (id_cache_size != 0 && t.durables().empty()) {
      const DuplicateId ids[] = {{duplicate_id, req.persistent}};
      last = im.emit(DuplicateIdsRecorded{req.destination, ids, id_cache_size, false, req.persistent});
    }
    // No subscriber of any kind: the message goes nowhere and is not state.
    if (!t.subscribers().empty() || !t.durables().empty()) {
      MessageRef m = im.make_message(req, im.next_message_id++, id_cache_size);
      if (!t.durables().empty()) last = im.emit(MessageEnqueued{m});
      im.fan_out(t, m);
    }
  }
  im.run_dispatch();
  return last;
}

void Broker::resume(ConnId id) {
  Impl& im = *impl_;
  Connection& c = im.conn(id);
  for (auto& [sid, s] : c.subs) im.room_opened(*s);
  im.run_dispatch();
}

void Broker::set_persistence_refusal(std::string reason) { impl_->refusal = std::move(reason); }

Seq Broker::record_handover(std::string_view from, std::string_view to) { return impl_->emit(Handover{from, to}); }

void Broker::set_next_message_id(std::uint64_t next) { impl_->next_message_id = next; }

void Broker::notify_released() {
  Impl& im = *impl_;
  const Seq released = gate_.released();
  for (ConnId id : gate_.take_waiting()) {
    auto it = im.conns.find(id);
    if (it != im.conns.end()) it->second->client->on_released(released);
  }
  if (released_waiters_.empty()) return;
  // Taken out before any runs: a callback may add another.
  std::vector<std::function<void()>> due;
  std::erase_if(released_waiters_, [&](auto& w) {
    if (w.first > released) return false;
    due.push_back(std::move(w.second));
    return true;
  });
  for (auto& f : due) f();
}

std::vector<Broker::DestinationStats> Broker::stats() const {
  const Impl& im = *impl_;
  std::vector<DestinationStats> out;
  out.reserve(im.queues.size() + im.topics.size() + im.durables.size());
  auto store_stats = [&](const Queue& q) {
    DestinationStats s;
    s.name = q.name();
    s.depth = q.depth();
    s.inflight = q.inflight();
    s.consumers = q.consumers().size();
    s.enqueued = q.enqueued();
    s.dequeued = q.dequeued();
    s.expired = q.expired();
    s.dead_lettered = q.dead_lettered();
    s.memory_used = q.memory.used();
    s.memory_limit = q.memory.limit();
    out.push_back(std::move(s));
  };
  for (const auto& [name, q] : im.queues) store_stats(*q);
  for (const auto& [key, q] : im.durables) store_stats(*q);
  for (const auto& [name, t] : im.topics) {
    DestinationStats s;
    s.name = name;
    s.consumers = t->subscribers().size();
    s.enqueued = t->published();
    s.dequeued = t->consumed();
    s.topic = true;
    s.memory_used = t->memory.used();
    s.memory_limit = t->memory.limit();
    for (Subscription* sub : t->subscribers()) {
      s.depth += sub->pending().size();
      s.inflight += sub->held();
    }
    for (const Queue* d : t->durables()) {
      if (d->durable->active != nullptr) ++s.consumers;
      s.expired += d->expired();
      s.dead_lettered += d->dead_lettered();
    }
    out.push_back(std::move(s));
  }
  for (DestinationStats& s : out)
    if (const DuplicateWindow* w = im.duplicates.find(s.name)) s.duplicates_dropped = w->dropped();
  std::sort(out.begin(), out.end(),
            [](const DestinationStats& a, const DestinationStats& b) { return a.name < b.name; });
  // Producers: counted here rather than kept per destination, so a destination that is
  // removed and made again never inherits a stale count.
  for (const auto& [id, c] : im.conns)
    for (const std::string& d : c->produced_to) {
      auto it = std::lower_bound(out.begin(), out.end(), d,
                                 [](const DestinationStats& a, const std::string& n) { return a.name < n; });
      if (it != out.end() && it->name == d) ++it->producers;
    }
  return out;
}

Broker::DuplicateStats Broker::duplicate_stats() const {
  const DuplicateIds& d = impl_->duplicates;
  return DuplicateStats{d.windows(), d.ids(), d.non_persistent_ids(), d.dropped()};
}

std::vector<std::string> Broker::duplicate_window(std::string_view destination) const {
  std::vector<std::string> out;
  if (const DuplicateWindow* w = impl_->duplicates.find(destination))
    w->for_each([&](std::string_view id, bool) { out.emplace_back(id); });
  return out;
}

}  // namespace twinmq::broker
