// Start-up recovery against damaged stores: a torn or corrupt tail is cut (every byte
// offset of the last record), real damage is refused with the file and offset named
// and nothing changed, left-overs are cleaned up.
#include <doctest.h>

#include <algorithm>
#include <cstring>

#include "base/crc32c.h"
#include "store/errors.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

// A store with /queue/a holding m0..m{n-1}, each its own record; compaction off.
void make_store(const config::JournalConfig& cfg, int n) {
  Node node(cfg, no_compaction());
  for (int i = 0; i < n; ++i) {
    node.send_ok("/queue/a", "m" + std::to_string(i));
    REQUIRE(node.settle());
  }
}

// Starts a broker on `cfg`; the error message if recovery refuses.
std::optional<std::string> start_error(const config::JournalConfig& cfg) {
  net::Loop loop;
  broker::Broker broker(broker_options(poison_policy));
  auto j = Journal::open(loop, cfg, no_compaction());
  REQUIRE(j.has_value());
  auto r = (*j)->start(broker);
  if (r) return std::nullopt;
  return r.error().message;
}

std::string name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

}  // namespace

TEST_CASE("a torn tail at every byte offset of the last record: earlier records recovered, tail cut") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg, 10);
  const auto segs = files_with(dir.path(), ".seg");
  REQUIRE(segs.size() == 1);
  const std::string original = read_file(segs[0]);
  const auto offsets = record_offsets(segs[0]);
  REQUIRE(offsets.size() == 11);  // DestinationAdded + 10 messages
  const std::uint64_t last = offsets.back();
  for (std::uint64_t cut = last; cut < original.size(); ++cut) {
    CAPTURE(cut);
    write_file(segs[0], original.substr(0, cut));
    {
      Node n(cfg, no_compaction());
      CHECK(n.queued()["/queue/a"] == 9);
      CHECK(n.report.truncated_bytes == cut - last);
      CHECK(n.report.last_seq == Seq{10});
      if (cut > last) CHECK(n.report.truncation.find(name_of(segs[0]) + " offset " + std::to_string(last)) == 0);
    }
    CHECK(std::filesystem::file_size(segs[0]) == last);
  }
}

TEST_CASE("a corrupt last record (any byte of it flipped) is a damaged tail: cut, earlier records kept") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg, 5);
  const auto seg = files_with(dir.path(), ".seg").at(0);
  const std::string original = read_file(seg);
  const std::uint64_t last = record_offsets(seg).back();
  RecordAt rec;
  REQUIRE(read_record(std::as_bytes(std::span(original.data(), original.size())), last, rec) == RecordCheck::ok);
  const std::uint64_t checked_end = last + kRecordHeaderSize + rec.frame.length;  // padding is not checked
  for (std::uint64_t at = last; at < checked_end; ++at) {
    CAPTURE(at);
    std::string damaged = original;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    write_file(seg, damaged);
    {
      Node n(cfg, no_compaction());
      CHECK(n.queued()["/queue/a"] == 4);
      CHECK(n.report.truncated_bytes == original.size() - last);
    }
    CHECK(std::filesystem::file_size(seg) == last);
  }
}

TEST_CASE("damage in the middle of the newest segment is refused, naming file and offset; nothing changes") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg, 10);
  const auto seg = files_with(dir.path(), ".seg").at(0);
  const auto offsets = record_offsets(seg);
  std::string bytes = read_file(seg);
  const std::uint64_t at = offsets[3] + kRecordHeaderSize + 4;
  bytes[at] = static_cast<char>(bytes[at] ^ 1);
  write_file(seg, bytes);
  auto err = start_error(cfg);
  REQUIRE(err);
  CHECK(err->find(name_of(seg) + " offset " + std::to_string(offsets[3]) + ": record checksum mismatch") == 0);
  CHECK(err->find("a valid record (seq 5) follows at offset " + std::to_string(offsets[4])) != std::string::npos);
  CHECK(read_file(seg) == bytes);
}

TEST_CASE("damage at the end of an older segment is refused: later segments exist") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  make_store(cfg, 60);
  const auto segs = files_with(dir.path(), ".seg");
  REQUIRE(segs.size() >= 3);
  const std::string victim = segs[1];
  const auto offsets = record_offsets(victim);
  const std::string bytes = read_file(victim);
  write_file(victim, bytes.substr(0, bytes.size() - 5));
  auto err = start_error(cfg);
  REQUIRE(err);
  CHECK(err->find(name_of(victim) + " offset " + std::to_string(offsets.back()) + ": record cut short") == 0);
  CHECK(err->find("later segments follow") != std::string::npos);
  CHECK(std::filesystem::file_size(victim) == bytes.size() - 5);
}

TEST_CASE("a missing middle segment is a sequence gap, with expected and found") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  make_store(cfg, 60);
  const auto segs = files_with(dir.path(), ".seg");
  REQUIRE(segs.size() >= 3);
  const auto third = parse_file_name(name_of(segs[2]));
  const auto second = parse_file_name(name_of(segs[1]));
  std::filesystem::remove(segs[1]);
  auto err = start_error(cfg);
  REQUIRE(err);
  CHECK(*err == name_of(segs[2]) + " offset 40: sequence gap: expected the segment to start at seq " +
                    std::to_string(second->seq.value) + ", found " + std::to_string(third->seq.value));
}

TEST_CASE("a newest segment whose header never reached the disk is removed") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg, 3);
  const std::string empty = dir.file(segment_file_name(Seq{5}));
  write_file(empty, std::string(40, '\0'));
  Node n(cfg, no_compaction());
  CHECK(n.queued()["/queue/a"] == 3);
  CHECK_FALSE(std::filesystem::exists(empty));
  REQUIRE(n.report.notes.size() == 1);
  CHECK(n.report.notes[0].find("removed " + segment_file_name(Seq{5})) == 0);
}

TEST_CASE("a checkpoint whose writing was interrupted is removed at start-up") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg, 3);
  const std::string tmp = dir.file(checkpoint_file_name(Seq{3}) + ".tmp");
  write_file(tmp, "half a checkpoint");
  Node n(cfg, no_compaction());
  CHECK(n.queued()["/queue/a"] == 3);
  CHECK_FALSE(std::filesystem::exists(tmp));
}

TEST_CASE("a segment of another store is refused, naming both identities") {
  TempDir a, b;
  make_store(journal_config(a.path()), 2);
  make_store(journal_config(b.path()), 5);
  const auto foreign = files_with(b.path(), ".seg").at(0);
  // b's segment dropped into a where a's next segment would start.
  std::string bytes = read_file(foreign);
  FileHeader h;
  REQUIRE(decode_file_header(std::as_bytes(std::span(bytes.data(), bytes.size())), h) == HeaderCheck::ok);
  const std::string target = a.file(segment_file_name(Seq{4}));
  h.seq = Seq{4};
  encode_file_header(h, reinterpret_cast<std::byte*>(bytes.data()));
  write_file(target, bytes);
  auto id_a = load_identity(a.path());
  REQUIRE(id_a.has_value());
  auto err = start_error(journal_config(a.path()));
  REQUIRE(err);
  CHECK(*err == segment_file_name(Seq{4}) + " offset 16: belongs to store " + h.store_id.to_string() +
                    ", this store is " + (*id_a)->id.to_string());
}

TEST_CASE("a record type from a newer format is refused, not skipped") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg, 2);
  const auto seg = files_with(dir.path(), ".seg").at(0);
  std::string bytes = read_file(seg);
  const std::uint64_t at = bytes.size();
  std::vector<std::byte> rec;
  append_record(rec, Seq{4}, 0, RecordType::skip, {});
  const std::uint16_t future = 50;
  std::memcpy(rec.data() + 16, &future, 2);
  const std::uint32_t crc = record_crc(rec.data(), {});
  std::memcpy(rec.data() + 20, &crc, 4);
  bytes.append(reinterpret_cast<const char*>(rec.data()), rec.size());
  write_file(seg, bytes);
  auto err = start_error(cfg);
  REQUIRE(err);
  CHECK(*err == name_of(seg) + " offset " + std::to_string(at) + ": unknown record type 50 (written by a newer twinmq?)");
}

TEST_CASE("the identity file is checked: a flipped digit is refused") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg, 1);
  std::string id = read_file(dir.file("identity"));
  const auto pos = id.find("epoch 0");
  REQUIRE(pos != std::string::npos);
  id[pos + 6] = '7';
  write_file(dir.file("identity"), id);
  net::Loop loop;
  auto j = Journal::open(loop, cfg);
  REQUIRE_FALSE(j.has_value());
  CHECK(j.error().message.find("identity file " + dir.file("identity") + " is damaged: checksum mismatch") == 0);
}

TEST_CASE("identity text round trip") {
  StoreIdentity id{StoreId::random(), 12};
  auto back = parse_identity(format_identity(id), "x");
  REQUIRE(back.has_value());
  CHECK(back->id == id.id);
  CHECK(back->epoch == 12);
  CHECK(StoreId::parse(id.id.to_string()) == id.id);
  CHECK_FALSE(StoreId::parse("xyz"));
  CHECK(StoreId::random() != StoreId::random());
}

TEST_CASE("zeroed space after the last record of the newest segment (a crash) is cut off, not a torn tail") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg, 3);
  const auto segs = files_with(dir.path(), ".seg");
  REQUIRE(segs.size() == 1);
  const std::string original = read_file(segs[0]);
  write_file(segs[0], original + std::string(300000, '\0'));
  {
    Node n(cfg, no_compaction());
    CHECK(n.queued()["/queue/a"] == 3);
    CHECK(n.report.truncated_bytes == 0);
    CHECK(n.report.truncation.empty());
    const bool noted = std::any_of(n.report.notes.begin(), n.report.notes.end(), [](const std::string& s) {
      return s.find("300000 bytes of unused zeroed space") != std::string::npos;
    });
    CHECK(noted);
  }
  CHECK(std::filesystem::file_size(segs[0]) == original.size());
}

TEST_CASE("zeros at the end of an older segment are refused like any damage there") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  make_store(cfg, 60);
  const auto segs = files_with(dir.path(), ".seg");
  REQUIRE(segs.size() >= 2);
  const std::string original = read_file(segs[0]);
  write_file(segs[0], original + std::string(4096, '\0'));
  const auto err = start_error(cfg);
  REQUIRE(err.has_value());
  CHECK(err->find(name_of(segs[0])) != std::string::npos);
  CHECK(read_file(segs[0]).size() == original.size() + 4096);
}
