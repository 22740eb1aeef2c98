// verify-store: what it reports about a clean store, and how it names each kind of
// damage (file, offset, expected vs found) without changing anything.
#include <doctest.h>

#include <cstdio>

#include "store/errors.h"
#include "store/verify.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

void make_store(const config::JournalConfig& cfg, const JournalOptions& opts = no_compaction(), int churn = 0) {
  Node n(cfg, opts);
  for (int i = 0; i < churn; ++i) n.send_ok("/queue/churn", std::string(200, 'c'));
  n.subscribe("churn", "/queue/churn");
  n.subscribe("d", "/topic/t", broker::AckMode::auto_ack, "sub");
  REQUIRE(n.broker.unsubscribe(n.conn, "d").has_value());
  for (int i = 0; i < 30; ++i) n.send_ok("/queue/a", std::string(100, 'a'));
  for (int i = 0; i < 5; ++i) n.send_ok("/queue/b", "b");
  for (int i = 0; i < 3; ++i) n.send_ok("/topic/t", "t");
  n.send_ok("/queue/a", "np", false);
  REQUIRE(n.settle());
  n.subscribe("b", "/queue/b");  // consumes all five
  REQUIRE(n.settle());
}

std::string name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// run_verify_store's output, captured.
struct Captured {
  int code = 0;
  std::string out, err;
};

Captured run_cli(const std::string& dir) {
  Captured c;
  auto report = verify_store(dir);
  if (!report) {
    c.code = 1;
    c.err = report.error().message;
    return c;
  }
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  print_verify_report(*report, out, err);
  auto slurp = [](std::FILE* f) {
    std::string s;
    std::rewind(f);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  };
  c.out = slurp(out);
  c.err = slurp(err);
  c.code = report->ok() ? 0 : 1;
  return c;
}

}  // namespace

TEST_CASE("verify-store on a clean store: identity, epoch, sequence range, counts, exit 0") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  make_store(cfg);
  auto r = verify_store(dir.path());
  REQUIRE(r.has_value());
  CHECK(r->ok());
  auto id = load_identity(dir.path());
  REQUIRE(r->identity);
  CHECK(r->identity->id == (*id)->id);
  CHECK(r->identity->epoch == 0);
  CHECK(r->first_seq == Seq{1});
  CHECK(r->last_seq > Seq{40});
  CHECK(r->files.size() >= 2);
  CHECK(r->live_messages == 33);
  CHECK(r->messages_per_destination["/queue/a"] == 30);
  CHECK(r->messages_per_destination["/queue/b"] == 0);
  CHECK(r->messages_per_destination[broker::durable_key("c1", "sub")] == 3);
  CHECK(r->notes.empty());
  const Captured c = run_cli(dir.path());
  CHECK(c.code == 0);
  CHECK(c.out.find("identity     " + (*id)->id.to_string()) != std::string::npos);
  CHECK(c.out.find("OK\n") != std::string::npos);
  CHECK(c.err.empty());
}

TEST_CASE("verify-store takes the broker's dataDirectory too (the store is its journal/)") {
  TempDir data;
  const std::string store = data.path() + "/journal";
  make_store(journal_config(store, 4096));
  auto by_data = verify_store(data.path());
  REQUIRE(by_data.has_value());
  CHECK(by_data->ok());
  CHECK(by_data->dir == store);
  auto by_store = verify_store(store);
  REQUIRE(by_store.has_value());
  CHECK(by_data->live_messages == by_store->live_messages);
  CHECK(by_data->last_seq == by_store->last_seq);
}

TEST_CASE("verify-store --json: the same facts as the text report, for scripts") {
  TempDir dir;
  make_store(journal_config(dir.path(), 4096));
  auto r = verify_store(dir.path());
  REQUIRE(r.has_value());
  const std::string json = verify_report_json(*r);
  CHECK(json.find("\"ok\": true") != std::string::npos);
  CHECK(json.find("\"store_id\": \"" + r->identity->id.to_string() + "\"") != std::string::npos);
  CHECK(json.find("\"last_seq\": " + std::to_string(r->last_seq.value) + ",") != std::string::npos);
  CHECK(json.find("\"live_messages\": 33") != std::string::npos);
  CHECK(json.find("\"/queue/a\": 30") != std::string::npos);
  CHECK(json.find("\"kind\": \"segment\"") != std::string::npos);
  CHECK(json.find("\"problems\": []") != std::string::npos);
}

TEST_CASE("verify-store names damage in the middle precisely and changes nothing") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  make_store(cfg);
  const auto segs = files_with(dir.path(), ".seg");
  REQUIRE(segs.size() >= 2);
  const auto offsets = record_offsets(segs[0]);
  std::string bytes = read_file(segs[0]);
  bytes[offsets[2] + 30] = static_cast<char>(bytes[offsets[2] + 30] ^ 0x40);
  write_file(segs[0], bytes);
  auto r = verify_store(dir.path());
  REQUIRE(r.has_value());
  REQUIRE_FALSE(r->ok());
  CHECK(r->problems[0].find(name_of(segs[0]) + " offset " + std::to_string(offsets[2]) +
                            ": record checksum mismatch (expected a record covering seq 3)") == 0);
  CHECK(read_file(segs[0]) == bytes);
  const Captured c = run_cli(dir.path());
  CHECK(c.code == 1);
  CHECK(c.err.find("problem: " + name_of(segs[0]) + " offset ") != std::string::npos);
}

TEST_CASE("verify-store: a torn tail is a note (recovery cuts it), the store is OK") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  make_store(cfg);
  const auto seg = files_with(dir.path(), ".seg").at(0);
  const std::string bytes = read_file(seg);
  write_file(seg, bytes.substr(0, bytes.size() - 9));
  auto r = verify_store(dir.path());
  REQUIRE(r.has_value());
  CHECK(r->ok());
  CHECK(r->truncated_bytes > 0);
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].find("torn tail at " + name_of(seg) + " offset ") == 0);
  CHECK(std::filesystem::file_size(seg) == bytes.size() - 9);  // verify changes nothing
}

TEST_CASE("verify-store: a missing segment is a sequence gap with expected and found") {
  TempDir dir;
  make_store(journal_config(dir.path(), 4096));
  const auto segs = files_with(dir.path(), ".seg");
  REQUIRE(segs.size() >= 3);
  const auto expected = parse_file_name(name_of(segs[1]))->seq;
  std::filesystem::remove(segs[1]);
  auto r = verify_store(dir.path());
  REQUIRE(r.has_value());
  REQUIRE_FALSE(r->ok());
  CHECK(r->problems[0] == name_of(segs[2]) + " offset 40: sequence gap: expected the segment to start at seq " +
                              std::to_string(expected.value) + ", found " +
                              std::to_string(parse_file_name(name_of(segs[2]))->seq.value));
}

TEST_CASE("verify-store after compaction: the checkpoint counts, continuity runs from it") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  JournalOptions o;
  o.compaction_min_bytes = 1;
  make_store(cfg, o, 200);
  REQUIRE_FALSE(files_with(dir.path(), ".ckpt").empty());
  auto r = verify_store(dir.path());
  REQUIRE(r.has_value());
  CHECK(r->ok());
  CHECK(r->checkpoint_seq > Seq{0});
  CHECK(r->first_seq == Seq{r->checkpoint_seq.value + 1});
  CHECK(r->messages_per_destination["/queue/a"] == 30);
  CHECK(r->messages_per_destination[broker::durable_key("c1", "sub")] == 3);
}

TEST_CASE("verify-store refuses a store in use and a directory that is not a store") {
  TempDir dir;
  {
    Node n(journal_config(dir.path()));
    auto r = verify_store(dir.path());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("is in use by pid " + std::to_string(::getpid())) != std::string::npos);
  }
  TempDir empty;
  auto r = verify_store(empty.path());
  REQUIRE(r.has_value());
  REQUIRE_FALSE(r->ok());
  CHECK(r->problems[0].find("no identity file") == 0);
  CHECK_FALSE(verify_store(empty.file("missing")).has_value());
  CHECK(run_verify_store(empty.file("missing")) == 1);
}
