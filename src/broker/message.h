// broker/message.h — an immutable, reference-counted message.
//
// One allocation per message holds everything: the fixed fields, the destination,
// the user headers and the body. Fan-out shares it (refcount++), nothing is
// copied per subscriber. Refcounting is not atomic: a Message belongs to the loop
// thread (the journal's writer thread only ever sees bytes serialised on the loop).
//
// The id is a 64-bit number assigned by the broker at enqueue and carried in the
// event, so the same number means the same message on master and slave, and after
// recovery. Its text form is "ID:<prefix>-<number>" where the prefix is the store's
// identity (or a per-process random value when the store is off).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

namespace twinmq::broker {

struct HeaderView {
  std::string_view name;
  std::string_view value;
};

// Everything needed to build a Message. Views are copied into the allocation.
struct MessageInit {
  std::uint64_t id = 0;
  std::string_view id_prefix;     // "ID:<prefix>-<id>"
  std::string_view destination;   // "/queue/a", "/topic/b"
  std::span<const HeaderView> headers;  // user headers to pass on in MESSAGE frames
  std::string_view body;
  bool persistent = false;
  std::uint8_t priority = 4;      // 0..9 (JMS default 4)
  std::int64_t expires_ms = 0;    // ms since epoch, 0 = never
  std::int64_t timestamp_ms = 0;  // when the broker accepted it
  // The size of the duplicate-detection window its `_AMQ_DUPL_ID` entered (the
  // destination's idCacheSize when it was accepted); 0 = it entered none.
  std::uint32_t id_cache_size = 0;
};

class Message {
 public:
  static class MessageRef create(const MessageInit& init);

  std::uint64_t id() const { return id_; }
  std::string_view id_text() const;       // "ID:<prefix>-<id>"
  std::string_view destination() const;
  std::span<const HeaderView> headers() const;  // views into this allocation
  std::string_view body() const;
  bool persistent() const { return persistent_; }
  std::uint8_t priority() const { return priority_; }
  std::int64_t expires_ms() const { return expires_ms_; }
  std::int64_t timestamp_ms() const { return timestamp_ms_; }
  bool expired_at(std::int64_t now_ms) const { return expires_ms_ != 0 && now_ms >= expires_ms_; }
  // Its `_AMQ_DUPL_ID` header (broker/duplicates.h); empty if it has none.
  std::string_view duplicate_id() const {
    return duplicate_header_ == 0 ? std::string_view{} : headers()[duplicate_header_ - 1].value;
  }
  std::uint32_t id_cache_size() const { return id_cache_size_; }
  // Bytes this message occupies (for memory accounting).
  std::size_t footprint() const { return size_; }
  // At least the bytes the event encoding (schemas/event.fbs, store/event_codec.h)
  // takes for this message inside any event: what a transaction's size is counted in,
  // so a commit that is accepted always fits a journal record and a link frame.
  // test/unit/store/event_codec_test.cc checks it against the real encoder.
  std::size_t encoded_size_bound() const;

 private:
  friend class MessageRef;
  Message() = default;
  std::uint32_t refs_ = 0;
  std::uint32_t size_ = 0;
  std::uint64_t id_ = 0;
  std::int64_t expires_ms_ = 0;
  std::int64_t timestamp_ms_ = 0;
  bool persistent_ = false;
  std::uint8_t priority_ = 4;
  std::uint32_t header_count_ = 0;
  // Offsets into the trailing bytes (set by create()).
  std::uint32_t id_text_off_ = 0, id_text_len_ = 0;
  std::uint32_t dest_off_ = 0, dest_len_ = 0;
  std::uint32_t headers_off_ = 0;  // HeaderView array, aligned, views point into trailing bytes
  std::uint32_t body_off_ = 0, body_len_ = 0;
  std::uint32_t duplicate_header_ = 0;  // index + 1 of its _AMQ_DUPL_ID header; 0 = none
  std::uint32_t id_cache_size_ = 0;
};

// Intrusive smart pointer; the message is freed when the last ref goes.
class MessageRef {
 public:
  MessageRef() = default;
  MessageRef(const MessageRef& o) : m_(o.m_) { if (m_) ++m_->refs_; }
  MessageRef(MessageRef&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  MessageRef& operator=(MessageRef o) noexcept { std::swap(m_, o.m_); return *this; }
  ~MessageRef() { release(); }

  const Message* get() const { return m_; }
  const Message& operator*() const { return *m_; }
  const Message* operator->() const { return m_; }
  explicit operator bool() const { return m_ != nullptr; }

 private:
  friend class Message;
  explicit MessageRef(Message* m) : m_(m) { ++m_->refs_; }
  void release();
  Message* m_ = nullptr;
};

}  // namespace twinmq::broker
