// store/event_codec.h — broker::Event <-> the flatbuffer of schemas/event.fbs.
//
// One encoding for the journal and the replication link. The encoder reuses one
// FlatBufferBuilder (Clear() per event), so encoding allocates only while the builder
// grows to the largest event seen. The decoder verifies the buffer (flatbuffers
// Verifier: a CRC only proves the bytes are the ones written, not that a future or
// buggy writer wrote a valid table) and rebuilds each message with one allocation
// (Message::create); every other field of the decoded Event is a view into the payload.
//
// Lifecycle: each user owns its encoder/decoder (the Journal one of each on the loop
// thread, compaction its own encoder on the writer thread). A decoded Event is valid
// until the next decode() or until the payload bytes go away. Messages are not
// atomically refcounted: decode() runs where the broker lives; the writer thread only
// uses verified_event() and the encoder's copy_message path, which touch no
// broker::Message; the page-in reader builds whole messages it hands over once
// (decode_stored_message).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "broker/event.h"
#include "event_generated.h"
#include "store/record_format.h"

namespace twinmq::store {

// A flatbuffers string as a view of the record's bytes (empty for an absent field): what
// the full decoder and the index-only decoder (store/index_decoder.h) both read names with.
inline std::string_view fb_view(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view{} : std::string_view(s->c_str(), s->size());
}

// The record type of an event: its variant index + 1 (= the schema's union type).
RecordType record_type_of(const broker::Event& e);

class EventEncoder {
 public:
  EventEncoder() : fbb_(4096) {}

  // Encodes `e`. With `persistent_only` (the journal), a TransactionCommitted keeps
  // only its persistent sends and acks: non-persistent messages never reach the disk.
  // The view is valid until the next call.
  std::span<const std::byte> encode(const broker::Event& e, bool persistent_only = false);
  // A stored message again, as a MessageEnqueued event (compaction copies live messages
  // into a checkpoint without building a broker::Message).
  std::span<const std::byte> encode_enqueued(const fb::Message& m);

 private:
  flatbuffers::Offset<fb::Message> put(const broker::Message& m);
  flatbuffers::Offset<fb::Message> copy(const fb::Message& m);
  std::span<const std::byte> finish(fb::EventBody type, flatbuffers::Offset<void> body);

  flatbuffers::FlatBufferBuilder fbb_;
  std::vector<flatbuffers::Offset<fb::Header>> headers_;
  std::vector<flatbuffers::Offset<fb::Message>> sends_;
  std::vector<flatbuffers::Offset<fb::AckedMessage>> acks_;
  std::vector<flatbuffers::Offset<flatbuffers::String>> ids_;
  std::vector<std::uint8_t> flags_;
};

// Verifies `payload` as an Event whose body is of record type `type`. nullptr and a
// reason in `why` when it is not.
const fb::Event* verified_event(std::span<const std::byte> payload, RecordType type, std::string* why);

// The message a MessageEnqueued or TransactionCommitted record stores as its
// `member`-th message (0 for MessageEnqueued); nullptr if there is none.
const fb::Message* stored_message(const fb::Event& e, std::uint32_t member);

// A stored message as a broker::Message (one allocation; `scratch` holds the header
// views while it is built). Any thread: the page-in reader (store/page_reader.h) builds
// messages on its own thread and hands each one, whole, to the loop through a mutex;
// no two threads ever touch one Message's refcount at once.
broker::MessageRef decode_stored_message(const fb::Message& m, std::vector<broker::HeaderView>& scratch);

class EventDecoder {
 public:
  // Decodes a record's payload into a broker::Event (see the lifetime rules above).
  Result<const broker::Event*> decode(RecordType type, std::span<const std::byte> payload);

 private:
  broker::MessageRef make_message(const fb::Message& m);

  broker::Event event_;
  std::vector<broker::HeaderView> headers_;
  std::vector<broker::MessageRef> sends_;
  std::vector<broker::AckedMessage> acks_;
  std::vector<broker::DuplicateId> ids_;
  std::vector<std::uint64_t> aligned_;  // copy of a payload that arrived misaligned
};

}  // namespace twinmq::store
