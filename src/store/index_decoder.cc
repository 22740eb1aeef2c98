// store/index_decoder.cc — see index_decoder.h.
#include "store/index_decoder.h"

#include <string_view>

#include "broker/duplicates.h"
#include "store/event_codec.h"

namespace twinmq::store {

namespace {

// As Message::create finds it: the first `_AMQ_DUPL_ID` header counts; empty = none.
std::string_view duplicate_id_of(const fb::Message& m) {
  if (m.headers() == nullptr) return {};
  for (const fb::Header* h : *m.headers()) {
    if (fb_view(h->name()) == broker::kDuplicateIdHeader) return fb_view(h->value());
  }
  return {};
}

}  // namespace

bool IndexDecoder::add(const fb::Message* m) {
  if (m == nullptr || !m->persistent()) return false;
  broker::StoredMessageIndex s;
  s.id = m->id();
  s.destination = fb_view(m->destination());
  s.duplicate_id = duplicate_id_of(*m);
  s.id_cache_size = m->id_cache_size();
  s.expires_ms = m->expires_ms();
  s.priority = m->priority();
  sends_.push_back(s);
  return true;
}

const broker::IndexedEnqueue* IndexDecoder::decode(const fb::Event& ev) {
  sends_.clear();
  acks_.clear();
  if (const auto* enq = ev.body_as_MessageEnqueued()) {
    if (!add(enq->message())) return nullptr;
  } else if (const auto* tx = ev.body_as_TransactionCommitted()) {
    if (tx->sends() != nullptr) {
      for (const fb::Message* m : *tx->sends())
        if (!add(m)) return nullptr;
    }
    if (tx->acks() != nullptr) {
      for (const fb::AckedMessage* a : *tx->acks())
        acks_.push_back({fb_view(a->queue()), a->message_id(), a->persistent()});
    }
  } else {
    return nullptr;
  }
  out_ = broker::IndexedEnqueue{sends_, acks_};
  return &out_;
}

}  // namespace twinmq::store
