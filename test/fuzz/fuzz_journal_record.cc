// Fuzz target: the journal's record reader (store/record_format.h read_record,
// decode_file_header) and the event decoder behind it (store/event_codec.h), as
// recovery and verify-store use them on a file that may be torn or damaged.
//
// Input: byte 0 picks the mode.
//  - even: the rest is a segment file's bytes. The header is decoded, then records are
//    read one after another from offset 64 as recovery does, each event record verified
//    and decoded. A CRC guards every record, so random bytes rarely get past it: this
//    mode is about framing, lengths and offsets.
//  - odd: byte 1 picks a record type and the rest is its payload, framed with a correct
//    CRC by append_record, read back and decoded: this mode reaches the flatbuffers
//    Verifier and the decoder with bytes no CRC protects them from.
// Checks, beyond "no crash, no sanitizer report":
//  1. A record read back is the one written; offsets only move forward and stay inside
//     the file.
//  2. An event that decodes, encoded again (EventEncoder, as the journal writes it),
//     decodes again, and encoding that gives the same bytes: decode and encode agree on
//     every field the decoder accepts.
//  3. Every payload decode() accepts passes verified_event() (the writer thread's check).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "store/event_codec.h"
#include "store/record_format.h"

using namespace twinmq;
using namespace twinmq::store;

namespace {

std::vector<std::byte> copy_of(std::span<const std::byte> bytes) { return {bytes.begin(), bytes.end()}; }

void decode(EventDecoder& decoder, RecordType type, std::span<const std::byte> payload) {
  if (type == RecordType::checkpoint_end) {
    CheckpointEnd end;
    (void)decode_checkpoint_end(payload, end);
    return;
  }
  if (!is_event_record(type)) return;
  std::string why;
  const bool verified = verified_event(payload, type, &why) != nullptr;
  auto event = decoder.decode(type, payload);
  if (event && !verified) std::abort();  // 3.
  if (!event) return;
  // 2. Encoded again; the bytes copied into 8-aligned storage, as in a mapped file.
  EventEncoder encoder;
  const std::vector<std::byte> once = copy_of(encoder.encode(**event));
  std::vector<std::uint64_t> aligned(once.size() / 8 + 1);
  std::memcpy(aligned.data(), once.data(), once.size());
  EventDecoder again;
  auto back = again.decode(type, std::span(reinterpret_cast<const std::byte*>(aligned.data()), once.size()));
  if (!back) std::abort();
  const std::span<const std::byte> twice = encoder.encode(**back);
  if (twice.size() != once.size() || std::memcmp(twice.data(), once.data(), once.size()) != 0) std::abort();
}

constexpr std::uint16_t kTypes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 101};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  EventDecoder decoder;
  // The journal reads files into 8-aligned buffers; so does this.
  std::vector<std::uint64_t> aligned((size + 7) / 8 + 1);
  std::memcpy(aligned.data(), data + 1, size - 1);
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(aligned.data()), size - 1);

  if (data[0] % 2 == 0) {
    FileHeader header;
    (void)decode_file_header(bytes, header);
    std::uint64_t offset = kFileHeaderSize;
    while (offset < bytes.size()) {
      RecordAt at;
      if (read_record(bytes, offset, at) != RecordCheck::ok) break;
      if (at.size == 0 || offset + at.size > bytes.size() + kRecordAlign) std::abort();  // 1.
      if (is_known_record_type(at.frame.type)) decode(decoder, static_cast<RecordType>(at.frame.type), at.payload);
      offset += at.size;
    }
    return 0;
  }

  if (bytes.empty()) return 0;
  const std::uint16_t type = kTypes[static_cast<std::size_t>(std::to_integer<std::uint8_t>(bytes[0])) % std::size(kTypes)];
  const std::span<const std::byte> payload = bytes.subspan(1);
  std::vector<std::byte> file;
  const std::size_t written = append_record(file, Seq{42}, 0, static_cast<RecordType>(type), payload);
  RecordAt at;
  if (read_record(file, 0, at) != RecordCheck::ok) std::abort();
  if (at.size != written || at.frame.type != type || at.payload.size() != payload.size() ||
      (!payload.empty() && std::memcmp(at.payload.data(), payload.data(), payload.size()) != 0)) {
    std::abort();  // 1.
  }
  decode(decoder, static_cast<RecordType>(type), at.payload);
  return 0;
}
