// broker/message.cc — building a Message in one allocation.
//
// Layout of the allocation (offsets are relative to the Message object itself):
//
//   +---------+---------+-------------+--------+--------------------+------------------+------+
//   | Message | id text | destination | (pad)  | HeaderView[count]  | header names and | body |
//   | struct  |         |             | to 8   | views point right  | values, packed   |      |
//   +---------+---------+-------------+--------+--------------------+------------------+------+
//
// The HeaderView array is aligned for its string_views; every view points into the
// same allocation, so a Message is position-independent only through its accessors
// (it is never copied or moved: MessageRef shares it).
#include "broker/message.h"

#include <charconv>
#include <cstring>
#include <new>

#include "base/assert.h"
#include "broker/duplicates.h"

namespace twinmq::broker {

namespace {

constexpr std::size_t align_up(std::size_t n, std::size_t a) { return (n + a - 1) & ~(a - 1); }

}  // namespace

MessageRef Message::create(const MessageInit& init) {
  // "ID:" + prefix + "-" + decimal id
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), init.id);
  TWINMQ_ASSERT(ec == std::errc{}, "message id does not fit its buffer");
  const std::size_t digit_len = static_cast<std::size_t>(end - digits);
  const std::size_t id_len = 3 + init.id_prefix.size() + 1 + digit_len;

  std::size_t size = sizeof(Message);
  const std::size_t id_off = size;
  size += id_len;
  const std::size_t dest_off = size;
  size += init.destination.size();
  size = align_up(size, alignof(HeaderView));
  const std::size_t headers_off = size;
  size += init.headers.size() * sizeof(HeaderView);
  const std::size_t strings_off = size;
  for (const HeaderView& h : init.headers) size += h.name.size() + h.value.size();
  const std::size_t body_off = size;
  size += init.body.size();
  TWINMQ_ASSERT(size <= UINT32_MAX, "message larger than 4 GiB");

  void* mem = ::operator new(size);
  Message* m = new (mem) Message();
  char* base = static_cast<char*>(mem);

  m->size_ = static_cast<std::uint32_t>(size);
  m->id_ = init.id;
  m->expires_ms_ = init.expires_ms;
  m->timestamp_ms_ = init.timestamp_ms;
  m->persistent_ = init.persistent;
  m->priority_ = init.priority > 9 ? 9 : init.priority;
  m->header_count_ = static_cast<std::uint32_t>(init.headers.size());
  m->id_cache_size_ = init.id_cache_size;

  char* p = base + id_off;
  std::memcpy(p, "ID:", 3);
  p += 3;
  if (!init.id_prefix.empty()) std::memcpy(p, init.id_prefix.data(), init.id_prefix.size());
  p += init.id_prefix.size();
  *p++ = '-';
  std::memcpy(p, digits, digit_len);
  m->id_text_off_ = static_cast<std::uint32_t>(id_off);
  m->id_text_len_ = static_cast<std::uint32_t>(id_len);

  if (!init.destination.empty())
    std::memcpy(base + dest_off, init.destination.data(), init.destination.size());
  m->dest_off_ = static_cast<std::uint32_t>(dest_off);
  m->dest_len_ = static_cast<std::uint32_t>(init.destination.size());

  auto* views = reinterpret_cast<HeaderView*>(base + headers_off);
  char* s = base + strings_off;
  bool duplicate_seen = false;
  for (std::size_t i = 0; i < init.headers.size(); ++i) {
    const HeaderView& h = init.headers[i];
    if (!h.name.empty()) std::memcpy(s, h.name.data(), h.name.size());
    std::string_view name(s, h.name.size());
    s += h.name.size();
    if (!h.value.empty()) std::memcpy(s, h.value.data(), h.value.size());
    std::string_view value(s, h.value.size());
    s += h.value.size();
    new (&views[i]) HeaderView{name, value};
    // The first one counts (STOMP: the first of repeated headers wins); empty = none.
    if (!duplicate_seen && name == kDuplicateIdHeader) {
      duplicate_seen = true;
      if (!value.empty()) m->duplicate_header_ = static_cast<std::uint32_t>(i + 1);
    }
  }
  m->headers_off_ = static_cast<std::uint32_t>(headers_off);

  if (!init.body.empty()) std::memcpy(base + body_off, init.body.data(), init.body.size());
  m->body_off_ = static_cast<std::uint32_t>(body_off);
  m->body_len_ = static_cast<std::uint32_t>(init.body.size());
  return MessageRef(m);
}

std::string_view Message::id_text() const {
  return {reinterpret_cast<const char*>(this) + id_text_off_, id_text_len_};
}

std::string_view Message::destination() const {
  return {reinterpret_cast<const char*>(this) + dest_off_, dest_len_};
}

std::span<const HeaderView> Message::headers() const {
  return {reinterpret_cast<const HeaderView*>(reinterpret_cast<const char*>(this) + headers_off_),
          header_count_};
}

std::string_view Message::body() const {
  return {reinterpret_cast<const char*>(this) + body_off_, body_len_};
}

std::size_t Message::encoded_size_bound() const {
  // A flatbuffers string or byte vector costs its bytes plus a length word, a NUL and
  // alignment (< 12); a Header table with its two strings < 56 beyond them; the Message
  // table, its vtable, the event wrapper and the vector slot it sits in < 256.
  constexpr std::size_t kFixed = 256, kPerField = 12, kPerHeader = 56;
  std::size_t n = kFixed + id_text_len_ + kPerField + dest_len_ + kPerField + body_len_ + kPerField;
  for (const HeaderView& h : headers()) n += kPerHeader + h.name.size() + h.value.size();
  return n;
}

void MessageRef::release() {
  if (m_ != nullptr && --m_->refs_ == 0) {
    // HeaderView and Message are trivially destructible apart from nothing owning
    // memory, so ending the object and freeing the block is all there is.
    m_->~Message();
    ::operator delete(static_cast<void*>(m_));
  }
  m_ = nullptr;
}

}  // namespace twinmq::broker
