// Record framing and file headers: round trips, padding, and that every kind of damage
// is seen (each single flipped bit, each cut).
#include <doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "store/record_format.h"

using namespace twinmq;
using namespace twinmq::store;

namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

}  // namespace

TEST_CASE("a record round-trips with its seq, skipped count, type and payload, padded to 8") {
  for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 100u}) {
    std::vector<std::byte> out(kFileHeaderSize);  // records start after the header
    const std::string payload(len, 'p');
    const std::size_t size = append_record(out, Seq{42}, 3, RecordType::message_removed, bytes_of(payload));
    CHECK(size == frame_size(len));
    CHECK(size % 8 == 0);
    RecordAt rec;
    REQUIRE(read_record(out, kFileHeaderSize, rec) == RecordCheck::ok);
    CHECK(rec.frame.seq == Seq{42});
    CHECK(rec.frame.skipped == 3);
    CHECK(rec.frame.type == static_cast<std::uint16_t>(RecordType::message_removed));
    CHECK(rec.size == size);
    CHECK(std::string(reinterpret_cast<const char*>(rec.payload.data()), rec.payload.size()) == payload);
  }
}

TEST_CASE("every flipped bit of a record is caught, every cut is seen as truncation") {
  std::vector<std::byte> out;
  append_record(out, Seq{7}, 0, RecordType::destination_added, bytes_of("a payload of some length"));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool padding = i >= kRecordHeaderSize + 24;  // the padding is not checksummed
    for (int bit = 0; bit < 8; ++bit) {
      auto copy = out;
      copy[i] ^= std::byte(1u << bit);
      RecordAt rec;
      const RecordCheck c = read_record(copy, 0, rec);
      if (padding) {
        CHECK(c == RecordCheck::ok);
      } else {
        CHECK_MESSAGE(c != RecordCheck::ok, "byte " << i << " bit " << bit);
      }
    }
  }
  for (std::size_t cut = 0; cut < out.size(); ++cut) {
    RecordAt rec;
    CHECK(read_record(std::span(out.data(), cut), 0, rec) == RecordCheck::truncated);
  }
}

TEST_CASE("impossible lengths and nonzero flags are header damage") {
  std::vector<std::byte> out;
  append_record(out, Seq{1}, 0, RecordType::skip, {});
  auto copy = out;
  const std::uint32_t huge = kMaxRecordPayload + 1;
  std::memcpy(copy.data(), &huge, 4);
  RecordAt rec;
  CHECK(read_record(copy, 0, rec) == RecordCheck::bad_header);
  copy = out;
  copy[18] = std::byte{1};
  CHECK(read_record(copy, 0, rec) == RecordCheck::bad_header);
}

TEST_CASE("file header round trip and damage") {
  FileHeader h;
  h.kind = FileKind::checkpoint;
  h.store_id = StoreId::random();
  h.epoch = 9;
  h.seq = Seq{1234};
  h.created_ms = 1700000000000;
  std::vector<std::byte> buf(kFileHeaderSize);
  encode_file_header(h, buf.data());
  FileHeader back;
  REQUIRE(decode_file_header(buf, back) == HeaderCheck::ok);
  CHECK(back.kind == FileKind::checkpoint);
  CHECK(back.store_id == h.store_id);
  CHECK(back.epoch == 9);
  CHECK(back.seq == Seq{1234});
  CHECK(back.created_ms == h.created_ms);

  CHECK(decode_file_header(std::span(buf.data(), 63), back) == HeaderCheck::too_short);
  auto bad = buf;
  bad[0] = std::byte{'X'};
  CHECK(decode_file_header(bad, back) == HeaderCheck::bad_magic);
  bad = buf;
  bad[33] ^= std::byte{1};
  CHECK(decode_file_header(bad, back) == HeaderCheck::bad_crc);
  // A future version, with a checksum that fits it.
  h.version = 2;
  encode_file_header(h, bad.data());
  CHECK(decode_file_header(bad, back) == HeaderCheck::unsupported_version);
}

TEST_CASE("file names carry the seq, sort by it, and parse back") {
  CHECK(segment_file_name(Seq{1}) == "00000000000000000001.seg");
  CHECK(checkpoint_file_name(Seq{987654321}) == "00000000000987654321.ckpt");
  CHECK(segment_file_name(Seq{9}) < segment_file_name(Seq{10}));
  auto p = parse_file_name("00000000000000000042.seg");
  REQUIRE(p);
  CHECK(p->kind == FileKind::segment);
  CHECK(p->seq == Seq{42});
  CHECK_FALSE(p->temporary);
  p = parse_file_name("00000000000000000042.ckpt.tmp");
  REQUIRE(p);
  CHECK(p->kind == FileKind::checkpoint);
  CHECK(p->temporary);
  CHECK_FALSE(parse_file_name("lock"));
  CHECK_FALSE(parse_file_name("identity"));
  CHECK_FALSE(parse_file_name("0000000000000000004x.seg"));
  CHECK_FALSE(parse_file_name("00000000000000000042.log"));
}

TEST_CASE("checkpoint_end payload round trip") {
  CheckpointEnd e{77, 5};
  auto b = encode_checkpoint_end(e);
  CheckpointEnd back;
  REQUIRE(decode_checkpoint_end(b, back));
  CHECK(back.next_message_id == 77);
  CHECK(back.records == 5);
  CHECK_FALSE(decode_checkpoint_end(std::span(b.data(), 8), back));
}
