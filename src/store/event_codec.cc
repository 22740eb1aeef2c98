#include "store/event_codec.h"

#include <cstring>
#include <string_view>
#include <type_traits>

#include "store/errors.h"

namespace twinmq::store {

namespace {

// "ID:<prefix>-<n>" -> "<prefix>" (the broker builds the text from these two parts).
std::string_view id_prefix_of(const broker::Message& m) {
  std::string_view text = m.id_text();
  const std::size_t dash = text.rfind('-');
  if (text.size() < 3 || dash == std::string_view::npos || dash < 3) return {};
  return text.substr(3, dash - 3);
}

fb::RemovalReason to_fb(broker::RemovalReason r) { return static_cast<fb::RemovalReason>(r); }

std::span<const std::byte> bytes_of(const flatbuffers::FlatBufferBuilder& fbb) {
  return {reinterpret_cast<const std::byte*>(fbb.GetBufferPointer()), fbb.GetSize()};
}

}  // namespace

RecordType record_type_of(const broker::Event& e) {
  return static_cast<RecordType>(e.index() + 1);
}

flatbuffers::Offset<fb::Message> EventEncoder::put(const broker::Message& m) {
  auto prefix = fbb_.CreateString(id_prefix_of(m));
  auto dest = fbb_.CreateString(m.destination());
  headers_.clear();
  for (const broker::HeaderView& h : m.headers()) {
    auto name = fbb_.CreateString(h.name);
    auto value = fbb_.CreateString(h.value);
    headers_.push_back(fb::CreateHeader(fbb_, name, value));
  }
  auto headers = fbb_.CreateVector(headers_);
  auto body = fbb_.CreateVector(reinterpret_cast<const std::uint8_t*>(m.body().data()), m.body().size());
  return fb::CreateMessage(fbb_, m.id(), prefix, dest, headers, body, m.persistent(), m.priority(),
                           m.expires_ms(), m.timestamp_ms(), m.id_cache_size());
}

flatbuffers::Offset<fb::Message> EventEncoder::copy(const fb::Message& m) {
  auto prefix = fbb_.CreateString(fb_view(m.id_prefix()));
  auto dest = fbb_.CreateString(fb_view(m.destination()));
  headers_.clear();
  if (m.headers() != nullptr) {
    for (const fb::Header* h : *m.headers()) {
      auto name = fbb_.CreateString(fb_view(h->name()));
      auto value = fbb_.CreateString(fb_view(h->value()));
      headers_.push_back(fb::CreateHeader(fbb_, name, value));
    }
  }
  auto headers = fbb_.CreateVector(headers_);
  const std::uint8_t* body_data = m.body() ? m.body()->data() : nullptr;
  const std::size_t body_size = m.body() ? m.body()->size() : 0;
  auto body = fbb_.CreateVector(body_data, body_size);
  return fb::CreateMessage(fbb_, m.id(), prefix, dest, headers, body, m.persistent(), m.priority(),
                           m.expires_ms(), m.timestamp_ms(), m.id_cache_size());
}

std::span<const std::byte> EventEncoder::finish(fb::EventBody type, flatbuffers::Offset<void> body) {
  fbb_.Finish(fb::CreateEvent(fbb_, type, body));
  return bytes_of(fbb_);
}

std::span<const std::byte> EventEncoder::encode_enqueued(const fb::Message& m) {
  fbb_.Clear();
  auto msg = copy(m);
  return finish(fb::EventBody::MessageEnqueued, fb::CreateMessageEnqueued(fbb_, msg).Union());
}

std::span<const std::byte> EventEncoder::encode(const broker::Event& event, bool persistent_only) {
  fbb_.Clear();
  return std::visit(
      [&](const auto& e) -> std::span<const std::byte> {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, broker::MessageEnqueued>) {
          auto msg = put(*e.message);
          return finish(fb::EventBody::MessageEnqueued, fb::CreateMessageEnqueued(fbb_, msg).Union());
        } else if constexpr (std::is_same_v<T, broker::MessageRemoved>) {
          auto q = fbb_.CreateString(e.queue);
          return finish(fb::EventBody::MessageRemoved,
                        fb::CreateMessageRemoved(fbb_, q, e.message_id, e.persistent, to_fb(e.reason)).Union());
        } else if constexpr (std::is_same_v<T, broker::MessageDeadLettered>) {
          auto q = fbb_.CreateString(e.queue);
          auto dlq = fbb_.CreateString(e.dlq);
          return finish(fb::EventBody::MessageDeadLettered,
                        fb::CreateMessageDeadLettered(fbb_, q, e.message_id, e.persistent, dlq).Union());
        } else if constexpr (std::is_same_v<T, broker::TransactionCommitted>) {
          sends_.clear();
          for (const broker::MessageRef& m : e.sends) {
            if (persistent_only && !m->persistent()) continue;
            sends_.push_back(put(*m));
          }
          acks_.clear();
          for (const broker::AckedMessage& a : e.acks) {
            if (persistent_only && !a.persistent) continue;
            auto q = fbb_.CreateString(a.queue);
            acks_.push_back(fb::CreateAckedMessage(fbb_, q, a.message_id, a.persistent));
          }
          auto sends = fbb_.CreateVector(sends_);
          auto acks = fbb_.CreateVector(acks_);
          return finish(fb::EventBody::TransactionCommitted,
                        fb::CreateTransactionCommitted(fbb_, sends, acks).Union());
        } else if constexpr (std::is_same_v<T, broker::DestinationAdded>) {
          auto n = fbb_.CreateString(e.name);
          return finish(fb::EventBody::DestinationAdded, fb::CreateDestinationAdded(fbb_, n).Union());
        } else if constexpr (std::is_same_v<T, broker::DestinationRemoved>) {
          auto n = fbb_.CreateString(e.name);
          return finish(fb::EventBody::DestinationRemoved, fb::CreateDestinationRemoved(fbb_, n).Union());
        } else if constexpr (std::is_same_v<T, broker::DurableSubscriptionAdded>) {
          auto c = fbb_.CreateString(e.client_id);
          auto n = fbb_.CreateString(e.name);
          auto t = fbb_.CreateString(e.topic);
          return finish(fb::EventBody::DurableSubscriptionAdded,
                        fb::CreateDurableSubscriptionAdded(fbb_, c, n, t).Union());
        } else if constexpr (std::is_same_v<T, broker::DurableSubscriptionRemoved>) {
          auto c = fbb_.CreateString(e.client_id);
          auto n = fbb_.CreateString(e.name);
          return finish(fb::EventBody::DurableSubscriptionRemoved,
                        fb::CreateDurableSubscriptionRemoved(fbb_, c, n).Union());
        } else if constexpr (std::is_same_v<T, broker::Handover>) {
          auto f = fbb_.CreateString(e.from);
          auto t = fbb_.CreateString(e.to);
          return finish(fb::EventBody::Handover, fb::CreateHandover(fbb_, f, t).Union());
        } else {
          static_assert(std::is_same_v<T, broker::DuplicateIdsRecorded>);
          // The journal keeps only the ids of persistent SENDs (as it keeps only
          // persistent messages); the flags are written only when some id is not.
          ids_.clear();
          flags_.clear();
          bool mixed = false;
          for (const broker::DuplicateId& d : e.ids) {
            if (persistent_only && !d.persistent) continue;
            ids_.push_back(fbb_.CreateString(d.id));
            flags_.push_back(d.persistent);
            mixed = mixed || !d.persistent;
          }
          auto d = fbb_.CreateString(e.destination);
          auto ids = fbb_.CreateVector(ids_);
          auto flags = mixed ? fbb_.CreateVector(flags_) : flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>>();
          return finish(fb::EventBody::DuplicateIdsRecorded,
                        fb::CreateDuplicateIdsRecorded(fbb_, d, ids, flags, e.id_cache_size, e.replace, e.persistent)
                            .Union());
        }
      },
      event);
}

const fb::Event* verified_event(std::span<const std::byte> payload, RecordType type, std::string* why) {
  auto fail = [&](const char* reason) -> const fb::Event* {
    if (why != nullptr) *why = reason;
    return nullptr;
  };
  if (!is_event_record(type)) return fail("not an event record type");
  const auto* data = reinterpret_cast<const std::uint8_t*>(payload.data());
  // Nesting is shallow (event -> body -> message -> header); a transaction may hold
  // many tables, so the table limit is generous.
  flatbuffers::Verifier verifier(data, payload.size(), 16, 1u << 24);
  if (!fb::VerifyEventBuffer(verifier)) return fail("payload is not a valid Event flatbuffer");
  const fb::Event* ev = fb::GetEvent(data);
  if (static_cast<std::uint16_t>(ev->body_type()) != static_cast<std::uint16_t>(type))
    return fail("payload's event type differs from the record type");
  if (ev->body() == nullptr) return fail("event has no body");
  return ev;
}

const fb::Message* stored_message(const fb::Event& e, std::uint32_t member) {
  if (const auto* enq = e.body_as_MessageEnqueued()) return member == 0 ? enq->message() : nullptr;
  if (const auto* tx = e.body_as_TransactionCommitted()) {
    if (tx->sends() == nullptr || member >= tx->sends()->size()) return nullptr;
    return tx->sends()->Get(member);
  }
  return nullptr;
}

broker::MessageRef EventDecoder::make_message(const fb::Message& m) { return decode_stored_message(m, headers_); }

broker::MessageRef decode_stored_message(const fb::Message& m, std::vector<broker::HeaderView>& scratch) {
  scratch.clear();
  if (m.headers() != nullptr) {
    for (const fb::Header* h : *m.headers()) scratch.push_back({fb_view(h->name()), fb_view(h->value())});
  }
  broker::MessageInit init;
  init.id = m.id();
  init.id_prefix = fb_view(m.id_prefix());
  init.destination = fb_view(m.destination());
  init.headers = scratch;
  if (m.body() != nullptr)
    init.body = std::string_view(reinterpret_cast<const char*>(m.body()->data()), m.body()->size());
  init.persistent = m.persistent();
  init.priority = m.priority();
  init.expires_ms = m.expires_ms();
  init.timestamp_ms = m.timestamp_ms();
  init.id_cache_size = m.id_cache_size();
  return broker::Message::create(init);
}

Result<const broker::Event*> EventDecoder::decode(RecordType type, std::span<const std::byte> payload) {
  // Empty is left alone: there is nothing to copy (and memcpy into the empty aligned_'s
  // null data() would be undefined; found by the fuzzer, a peer's EventRecord with an
  // empty payload at an odd address). The Verifier refuses it below.
  if (!payload.empty() && reinterpret_cast<std::uintptr_t>(payload.data()) % alignof(std::uint64_t) != 0) {
    // flatbuffers reads scalars in place; a payload cut from a network buffer may sit
    // at any address.
    aligned_.resize((payload.size() + 7) / 8);
    std::memcpy(aligned_.data(), payload.data(), payload.size());
    payload = {reinterpret_cast<const std::byte*>(aligned_.data()), payload.size()};
  }
  std::string why;
  const fb::Event* ev = verified_event(payload, type, &why);
  if (ev == nullptr) return make_error(Errc::corrupt, why);
  switch (ev->body_type()) {
    case fb::EventBody::MessageEnqueued: {
      const fb::Message* m = ev->body_as_MessageEnqueued()->message();
      if (m == nullptr) return make_error(Errc::corrupt, "MessageEnqueued without a message");
      event_ = broker::MessageEnqueued{make_message(*m)};
      break;
    }
    case fb::EventBody::MessageRemoved: {
      const auto* e = ev->body_as_MessageRemoved();
      event_ = broker::MessageRemoved{fb_view(e->queue()), e->message_id(), e->persistent(),
                                      static_cast<broker::RemovalReason>(e->reason())};
      break;
    }
    case fb::EventBody::MessageDeadLettered: {
      const auto* e = ev->body_as_MessageDeadLettered();
      event_ = broker::MessageDeadLettered{fb_view(e->queue()), e->message_id(), e->persistent(), fb_view(e->dlq())};
      break;
    }
    case fb::EventBody::TransactionCommitted: {
      const auto* e = ev->body_as_TransactionCommitted();
      sends_.clear();
      acks_.clear();
      if (e->sends() != nullptr) {
        for (const fb::Message* m : *e->sends()) sends_.push_back(make_message(*m));
      }
      if (e->acks() != nullptr) {
        for (const fb::AckedMessage* a : *e->acks())
          acks_.push_back({fb_view(a->queue()), a->message_id(), a->persistent()});
      }
      event_ = broker::TransactionCommitted{sends_, acks_};
      break;
    }
    case fb::EventBody::DestinationAdded:
      event_ = broker::DestinationAdded{fb_view(ev->body_as_DestinationAdded()->name())};
      break;
    case fb::EventBody::DestinationRemoved:
      event_ = broker::DestinationRemoved{fb_view(ev->body_as_DestinationRemoved()->name())};
      break;
    case fb::EventBody::DurableSubscriptionAdded: {
      const auto* e = ev->body_as_DurableSubscriptionAdded();
      event_ = broker::DurableSubscriptionAdded{fb_view(e->client_id()), fb_view(e->name()), fb_view(e->topic())};
      break;
    }
    case fb::EventBody::DurableSubscriptionRemoved: {
      const auto* e = ev->body_as_DurableSubscriptionRemoved();
      event_ = broker::DurableSubscriptionRemoved{fb_view(e->client_id()), fb_view(e->name())};
      break;
    }
    case fb::EventBody::DuplicateIdsRecorded: {
      const auto* e = ev->body_as_DuplicateIdsRecorded();
      ids_.clear();
      const auto* flags = e->persistent_ids();
      if (e->ids() != nullptr) {
        if (flags != nullptr && flags->size() != e->ids()->size())
          return make_error(Errc::corrupt, "DuplicateIdsRecorded with " + std::to_string(flags->size()) +
                                               " persistence flags for " + std::to_string(e->ids()->size()) + " ids");
        for (flatbuffers::uoffset_t i = 0; i < e->ids()->size(); ++i)
          ids_.push_back({fb_view(e->ids()->Get(i)), flags == nullptr || flags->Get(i) != 0});
      }
      event_ = broker::DuplicateIdsRecorded{fb_view(e->destination()), ids_, e->id_cache_size(), e->replace(),
                                            e->persistent()};
      break;
    }
    case fb::EventBody::Handover: {
      const auto* e = ev->body_as_Handover();
      event_ = broker::Handover{fb_view(e->from()), fb_view(e->to())};
      break;
    }
    default:
      return make_error(Errc::corrupt, "unknown event type");
  }
  return &event_;
}

}  // namespace twinmq::store
