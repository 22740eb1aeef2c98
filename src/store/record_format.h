// store/record_format.h — the bytes of the journal on disk: segment and checkpoint
// files, their header, and the frame around every record.
//
// A data directory holds:
//   lock                       flock + pid of the broker using it (store/dir_lock.h)
//   identity                   store id and epoch (store/identity.h)
//   <first seq, 20 digits>.seg a log segment: the records from `first seq` on
//   <seq, 20 digits>.ckpt      a checkpoint: the state as of `seq`, written by compaction
//   <seq>.ckpt.tmp             a checkpoint being written (removed at start-up)
//
// Every file starts with a 64-byte header, then records, each 8-byte aligned:
//
//   file:    | header (64) | record | record | ... |
//   header:  0 magic "TWINMQJ\0"   8 u32 format version   12 u32 kind (1 seg, 2 ckpt)
//            16 store id (16 bytes) 32 u64 epoch at creation
//            40 u64 seq (segment: first seq it covers; checkpoint: last seq it covers)
//            48 i64 created, ms since epoch   56 u32 reserved (0)   60 u32 CRC-32C of 0..60
//   record:  0 u32 length (payload bytes)  4 u32 skipped  8 u64 seq  16 u16 type
//            18 u16 flags (0)  20 u32 CRC-32C of bytes 0..20 and the payload
//            24 payload (length bytes), then zero padding to a multiple of 8
//
// All integers little-endian. The payload of an event record is one flatbuffer
// `twinmq.fb.Event` (schemas/event.fbs); `type` repeats its union type so a reader can
// skip or route a record without parsing it.
//
// Sequence numbers: every Seq the event log hands out is accounted for on disk. A
// record with seq S and skipped K covers seqs S-K .. S: the K before S were events the
// journal does not write (non-persistent messages). So in a segment each record's
// S-K is the previous record's S + 1 (the first one's is the header's first seq), and
// each segment starts where the previous ended: `verify-store` checks exactly that.
// Record type `skip` carries no event: its seq is not journaled either (written when
// a segment is closed after non-persistent events, and at shut-down).
//
// A checkpoint holds, in seq order, the records that rebuild the persistent state as
// of its seq (messages still live, destinations, durable subscriptions, and the
// dead-letter moves and removals that put live messages where they are); seqs are
// non-decreasing and need not be continuous (records keep the seq of the event they
// stand for). Its last record is `checkpoint_end`. The log continues in the segment
// whose first seq is the checkpoint's seq + 1.
//
// COMPATIBILITY NOTES
//  - Format version 1. A reader refuses a file with another version, naming it.
//  - Record types 1..9 are the union types of schemas/event.fbs (never renumbered);
//    100 and up are the journal's own. A reader refuses a type it does not know
//    (with a valid CRC) rather than skip state it cannot apply. Type 9
//    (DuplicateIdsRecorded) came with duplicate detection: older readers refuse a
//    journal that holds one (schemas/event.fbs notes). Type 10 (Handover) came with
//    `twinmq switchover`, likewise.
//  - `flags` must be 0 in version 1; a future flag that changes meaning bumps the version.
//  - checkpoint_end payload: u64 next message id, u64 number of records before it.
//  - The header's reserved word and the padding after a payload are written as zero
//    and ignored when read.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "store/identity.h"

namespace twinmq::store {

static_assert(std::endian::native == std::endian::little, "the journal format is little-endian");

inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kFileHeaderSize = 64;
inline constexpr std::size_t kRecordHeaderSize = 24;
inline constexpr std::size_t kRecordAlign = 8;
// Larger lengths are treated as damage (a message this large is refused long before).
inline constexpr std::uint32_t kMaxRecordPayload = 1u << 30;
inline constexpr std::uint64_t kMinSegmentSize = 4096;

enum class FileKind : std::uint32_t { segment = 1, checkpoint = 2 };

enum class RecordType : std::uint16_t {
  message_enqueued = 1,
  message_removed = 2,
  message_dead_lettered = 3,
  transaction_committed = 4,
  destination_added = 5,
  destination_removed = 6,
  durable_subscription_added = 7,
  durable_subscription_removed = 8,
  duplicate_ids_recorded = 9,
  handover = 10,
  skip = 100,            // no event; seqs S-K .. S were not journaled
  checkpoint_end = 101,  // last record of a checkpoint file
  // Never in a journal file (readers refuse it): on the replication link only. The seqs
  // after the previous record up to this one's carried a SEND consumed before it was
  // written and its removal (README "Consumed before written"): no state. Payload: u64
  // the master's next message id (0 = not known), so a promoted slave does not hand the
  // consumed message's id out again.
  cancelled = 102,
};

bool is_known_record_type(std::uint16_t type);
bool is_event_record(RecordType type);
std::string_view record_type_name(RecordType type);

struct FileHeader {
  FileKind kind = FileKind::segment;
  std::uint32_t version = kFormatVersion;
  StoreId store_id;
  std::uint64_t epoch = 0;
  Seq seq;  // segment: first seq covered; checkpoint: last seq covered
  std::int64_t created_ms = 0;
};

void encode_file_header(const FileHeader& h, std::byte* out /* kFileHeaderSize bytes */);

enum class HeaderCheck { ok, too_short, bad_magic, bad_crc, unsupported_version, bad_kind };
HeaderCheck decode_file_header(std::span<const std::byte> file, FileHeader& out);
std::string_view describe(HeaderCheck c);

struct RecordFrame {
  std::uint32_t length = 0;
  std::uint32_t skipped = 0;
  Seq seq;
  std::uint16_t type = 0;
  std::uint16_t flags = 0;
  std::uint32_t crc = 0;
};

constexpr std::size_t padded(std::size_t n) { return (n + kRecordAlign - 1) & ~(kRecordAlign - 1); }
constexpr std::size_t frame_size(std::size_t payload) { return kRecordHeaderSize + padded(payload); }

// Appends one framed record (header, payload, padding) to `out`; returns its size.
std::size_t append_record(std::vector<std::byte>& out, Seq seq, std::uint32_t skipped,
                          RecordType type, std::span<const std::byte> payload);

enum class RecordCheck {
  ok,
  truncated,   // the file ends inside the header, payload or padding
  bad_header,  // nonzero flags or an impossible length
  bad_crc,     // checksum mismatch
};
std::string_view describe(RecordCheck c);

struct RecordAt {
  RecordFrame frame;
  std::span<const std::byte> payload;
  std::size_t size = 0;  // whole frame, padding included
};

// Reads the record at `offset` of `file`.
RecordCheck read_record(std::span<const std::byte> file, std::uint64_t offset, RecordAt& out);
// The CRC a record's header should carry.
std::uint32_t record_crc(const std::byte* header, std::span<const std::byte> payload);

// checkpoint_end payload.
struct CheckpointEnd {
  std::uint64_t next_message_id = 0;
  std::uint64_t records = 0;
};
std::array<std::byte, 16> encode_checkpoint_end(const CheckpointEnd& e);
bool decode_checkpoint_end(std::span<const std::byte> payload, CheckpointEnd& out);

// File names (see the table at the top).
std::string segment_file_name(Seq first);
std::string checkpoint_file_name(Seq upto);
inline constexpr std::string_view kTempSuffix = ".tmp";
struct ParsedName {
  FileKind kind;
  Seq seq;
  bool temporary = false;
};
// nullopt for names that are not journal files (lock, identity, anything else).
std::optional<ParsedName> parse_file_name(std::string_view name);

}  // namespace twinmq::store
