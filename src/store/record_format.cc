#include "store/record_format.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>

#include "base/crc32c.h"

namespace twinmq::store {

namespace {

constexpr char kMagic[8] = {'T', 'W', 'I', 'N', 'M', 'Q', 'J', '\0'};

template <class T>
void put(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
template <class T>
T get(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

// The last event record type (the union's last member in schemas/event.fbs).
constexpr std::uint16_t kLastEventType = static_cast<std::uint16_t>(RecordType::handover);

bool is_known_record_type(std::uint16_t type) {
  return (type >= 1 && type <= kLastEventType) || type == static_cast<std::uint16_t>(RecordType::skip) ||
         type == static_cast<std::uint16_t>(RecordType::checkpoint_end);
}

bool is_event_record(RecordType type) {
  return static_cast<std::uint16_t>(type) >= 1 && static_cast<std::uint16_t>(type) <= kLastEventType;
}

std::string_view record_type_name(RecordType type) {
  switch (type) {
    case RecordType::message_enqueued: return "MessageEnqueued";
    case RecordType::message_removed: return "MessageRemoved";
    case RecordType::message_dead_lettered: return "MessageDeadLettered";
    case RecordType::transaction_committed: return "TransactionCommitted";
    case RecordType::destination_added: return "DestinationAdded";
    case RecordType::destination_removed: return "DestinationRemoved";
    case RecordType::durable_subscription_added: return "DurableSubscriptionAdded";
    case RecordType::durable_subscription_removed: return "DurableSubscriptionRemoved";
    case RecordType::duplicate_ids_recorded: return "DuplicateIdsRecorded";
    case RecordType::handover: return "Handover";
    case RecordType::skip: return "skip";
    case RecordType::cancelled: return "cancelled";
    case RecordType::checkpoint_end: return "checkpoint_end";
  }
  return "unknown";
}

void encode_file_header(const FileHeader& h, std::byte* out) {
  std::memset(out, 0, kFileHeaderSize);
  std::memcpy(out, kMagic, 8);
  put<std::uint32_t>(out + 8, h.version);
  put<std::uint32_t>(out + 12, static_cast<std::uint32_t>(h.kind));
  std::memcpy(out + 16, h.store_id.bytes.data(), 16);
  put<std::uint64_t>(out + 32, h.epoch);
  put<std::uint64_t>(out + 40, h.seq.value);
  put<std::int64_t>(out + 48, h.created_ms);
  put<std::uint32_t>(out + 60, crc32c(out, 60));
}

HeaderCheck decode_file_header(std::span<const std::byte> file, FileHeader& out) {
  if (file.size() < kFileHeaderSize) return HeaderCheck::too_short;
  const std::byte* p = file.data();
  if (std::memcmp(p, kMagic, 8) != 0) return HeaderCheck::bad_magic;
  if (get<std::uint32_t>(p + 60) != crc32c(p, 60)) return HeaderCheck::bad_crc;
  out.version = get<std::uint32_t>(p + 8);
  if (out.version != kFormatVersion) return HeaderCheck::unsupported_version;
  const auto kind = get<std::uint32_t>(p + 12);
  if (kind != 1 && kind != 2) return HeaderCheck::bad_kind;
  out.kind = static_cast<FileKind>(kind);
  std::memcpy(out.store_id.bytes.data(), p + 16, 16);
  out.epoch = get<std::uint64_t>(p + 32);
  out.seq = Seq{get<std::uint64_t>(p + 40)};
  out.created_ms = get<std::int64_t>(p + 48);
  return HeaderCheck::ok;
}

std::string_view describe(HeaderCheck c) {
  switch (c) {
    case HeaderCheck::ok: return "ok";
    case HeaderCheck::too_short: return "file shorter than its 64-byte header";
    case HeaderCheck::bad_magic: return "not a twinmq journal file (bad magic)";
    case HeaderCheck::bad_crc: return "header checksum mismatch";
    case HeaderCheck::unsupported_version: return "unsupported format version";
    case HeaderCheck::bad_kind: return "unknown file kind";
  }
  return "?";
}

std::uint32_t record_crc(const std::byte* header, std::span<const std::byte> payload) {
  return crc32c(payload.data(), payload.size(), crc32c(header, 20));
}

std::size_t append_record(std::vector<std::byte>& out, Seq seq, std::uint32_t skipped,
                          RecordType type, std::span<const std::byte> payload) {
  // Header, payload and padding are appended as ranges: resize() would zero the
  // payload's bytes first, only for them to be overwritten (this is the hot path).
  std::byte h[kRecordHeaderSize];
  put<std::uint32_t>(h, static_cast<std::uint32_t>(payload.size()));
  put<std::uint32_t>(h + 4, skipped);
  put<std::uint64_t>(h + 8, seq.value);
  put<std::uint16_t>(h + 16, static_cast<std::uint16_t>(type));
  put<std::uint16_t>(h + 18, 0);
  put<std::uint32_t>(h + 20, record_crc(h, payload));
  const std::size_t size = frame_size(payload.size());
  static constexpr std::byte kZeros[kRecordAlign] = {};
  out.insert(out.end(), h, h + kRecordHeaderSize);
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), kZeros, kZeros + (size - kRecordHeaderSize - payload.size()));
  return size;
}

std::string_view describe(RecordCheck c) {
  switch (c) {
    case RecordCheck::ok: return "ok";
    case RecordCheck::truncated: return "record cut short by the end of the file";
    case RecordCheck::bad_header: return "record header invalid (impossible length or flags)";
    case RecordCheck::bad_crc: return "record checksum mismatch";
  }
  return "?";
}

RecordCheck read_record(std::span<const std::byte> file, std::uint64_t offset, RecordAt& out) {
  if (offset > file.size() || file.size() - offset < kRecordHeaderSize) return RecordCheck::truncated;
  const std::byte* p = file.data() + offset;
  RecordFrame& f = out.frame;
  f.length = get<std::uint32_t>(p);
  f.skipped = get<std::uint32_t>(p + 4);
  f.seq = Seq{get<std::uint64_t>(p + 8)};
  f.type = get<std::uint16_t>(p + 16);
  f.flags = get<std::uint16_t>(p + 18);
  f.crc = get<std::uint32_t>(p + 20);
  if (f.length > kMaxRecordPayload || f.flags != 0) return RecordCheck::bad_header;
  const std::size_t size = frame_size(f.length);
  if (file.size() - offset < size) return RecordCheck::truncated;
  out.payload = file.subspan(offset + kRecordHeaderSize, f.length);
  out.size = size;
  if (record_crc(p, out.payload) != f.crc) return RecordCheck::bad_crc;
  return RecordCheck::ok;
}

std::array<std::byte, 16> encode_checkpoint_end(const CheckpointEnd& e) {
  std::array<std::byte, 16> b{};
  put<std::uint64_t>(b.data(), e.next_message_id);
  put<std::uint64_t>(b.data() + 8, e.records);
  return b;
}

bool decode_checkpoint_end(std::span<const std::byte> payload, CheckpointEnd& out) {
  if (payload.size() != 16) return false;
  out.next_message_id = get<std::uint64_t>(payload.data());
  out.records = get<std::uint64_t>(payload.data() + 8);
  return true;
}

namespace {
std::string seq_digits(Seq s) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(s.value));
  return buf;
}
}  // namespace

std::string segment_file_name(Seq first) { return seq_digits(first) + ".seg"; }
std::string checkpoint_file_name(Seq upto) { return seq_digits(upto) + ".ckpt"; }

std::optional<ParsedName> parse_file_name(std::string_view name) {
  ParsedName out{};
  if (name.ends_with(kTempSuffix)) {
    out.temporary = true;
    name.remove_suffix(kTempSuffix.size());
  }
  if (name.size() < 21) return std::nullopt;
  std::string_view digits = name.substr(0, 20);
  std::string_view ext = name.substr(20);
  if (ext == ".seg") {
    out.kind = FileKind::segment;
  } else if (ext == ".ckpt") {
    out.kind = FileKind::checkpoint;
  } else {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || p != digits.data() + digits.size()) return std::nullopt;
  out.seq = Seq{v};
  return out;
}

}  // namespace twinmq::store
