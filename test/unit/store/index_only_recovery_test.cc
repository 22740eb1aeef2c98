// Index-only recovery (store/recovery.h "INDEX-ONLY", Broker::apply_indexed): a store
// recovered without decoding its messages must give back exactly what a recovery that
// decodes everything gives — the same queues and durable backlogs, the same messages
// byte for byte (headers, body, priority, expiry, timestamp, ids) in the same order,
// the same duplicate-detection windows and the same journal index — whether the
// records are in segments or in a checkpoint a compaction wrote.
#include <filesystem>

#include "base/clock.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

using Bodies = JournalOptions::RecoveryBodies;

constexpr std::uint64_t kLimit = 256 * 1024;

Seq send_with(Node& n, std::string_view dest, std::string body, std::uint8_t priority, std::int64_t expires_ms,
              std::string_view dup_id, std::string_view tx = {}) {
  std::vector<broker::HeaderView> headers;
  const std::string note = "note-" + body.substr(0, 8);
  headers.push_back({"note", note});
  if (!dup_id.empty()) headers.push_back({"_AMQ_DUPL_ID", dup_id});
  broker::SendRequest r;
  r.destination = dest;
  r.headers = headers;
  r.body = body;
  r.persistent = true;
  r.priority = priority;
  r.expires_ms = expires_ms;
  r.transaction = tx;
  auto s = n.broker.send(n.conn, r);
  REQUIRE_MESSAGE(s.has_value(), (s ? std::string() : s.error().message));
  return *s;
}

std::string body_of(std::string_view tag, int i) { return std::string(tag) + std::to_string(i) + ":" + std::string(700 + i % 300, 'b'); }

// Everything the journal must replay: priorities, expiries (some already passed at
// recovery), duplicate-detection ids, transactions with sends and acks, an offline
// durable subscription's backlog, one removed with its backlog, dead-letter moves,
// acks of earlier records and non-persistent messages (lost by a restart).
void build_store(Node& n) {
  const std::int64_t later = wall_ms() + 3'600'000;
  const std::int64_t soon = wall_ms() + 1;
  n.subscribe("d1", "/topic/t", broker::AckMode::client, "dur1");
  n.subscribe("d2", "/topic/t", broker::AckMode::client, "dur2");
  REQUIRE(n.broker.unsubscribe(n.conn, "d1").has_value());  // offline: keeps a backlog
  REQUIRE(n.broker.unsubscribe(n.conn, "d2").has_value());
  for (int i = 0; i < 400; ++i) {
    const std::string dup = i % 5 == 0 ? "dup-" + std::to_string(i) : std::string();
    const std::int64_t exp = i % 7 == 0 ? later : (i % 50 == 3 ? soon : 0);
    send_with(n, "/queue/a", body_of("a", i), static_cast<std::uint8_t>(i % 10), exp, dup);
    if (i % 4 == 0) send_with(n, "/topic/t", body_of("t", i), static_cast<std::uint8_t>(9 - i % 10), 0, dup);
    if (i % 9 == 0) n.send_ok("/queue/a", "not persistent", /*persistent=*/false);
    if (i % 50 == 49) REQUIRE(n.settle());
  }
  // A transaction sending to a queue and a topic, and one aborted.
  REQUIRE(n.broker.begin(n.conn, "tx1").has_value());
  for (int i = 0; i < 20; ++i) send_with(n, "/queue/b", body_of("b", i), static_cast<std::uint8_t>(i % 3 + 3), 0, "txdup-" + std::to_string(i), "tx1");
  for (int i = 0; i < 5; ++i) send_with(n, "/topic/t", body_of("tt", i), 4, 0, {}, "tx1");
  REQUIRE(n.broker.commit(n.conn, "tx1").has_value());
  REQUIRE(n.broker.begin(n.conn, "tx2").has_value());
  send_with(n, "/queue/b", "never", 4, 0, {}, "tx2");
  REQUIRE(n.broker.abort(n.conn, "tx2").has_value());
  // Acks of earlier records, plain and in a transaction.
  for (int i = 0; i < 30; ++i) send_with(n, "/queue/c", body_of("c", i), 4, 0, {});
  const std::size_t before = n.client.got.size();
  n.subscribe("sc", "/queue/c", broker::AckMode::client_individual, {}, 10);
  REQUIRE(run_until(n.loop, [&] { return n.client.got.size() == before + 10; }));
  n.ack(n.client.got[before].ack_tag);
  n.ack(n.client.got[before + 2].ack_tag);
  REQUIRE(n.broker.begin(n.conn, "tx3").has_value());
  n.ack(n.client.got[before + 4].ack_tag, false, "tx3");
  n.ack(n.client.got[before + 5].ack_tag, false, "tx3");
  send_with(n, "/queue/c", body_of("ctx", 0), 6, 0, {}, "tx3");
  REQUIRE(n.broker.commit(n.conn, "tx3").has_value());
  REQUIRE(n.broker.unsubscribe(n.conn, "sc").has_value());  // the rest go back, unacked
  // Dead-letter moves: /queue/poison dead-letters at the first NACK.
  for (int i = 0; i < 12; ++i) send_with(n, "/queue/poison", body_of("p", i), static_cast<std::uint8_t>(i % 10), i % 3 == 0 ? later : 0, {});
  const std::size_t p0 = n.client.got.size();
  n.subscribe("sp", "/queue/poison", broker::AckMode::client_individual, {}, 6);
  REQUIRE(run_until(n.loop, [&] { return n.client.got.size() == p0 + 6; }));
  for (std::size_t i = 0; i < 6; i += 2) n.ack(n.client.got[p0 + i].ack_tag, /*nack=*/true);
  REQUIRE(n.broker.unsubscribe(n.conn, "sp").has_value());
  // The second durable subscription goes, with its backlog.
  REQUIRE(n.broker.unsubscribe(n.conn, "dur2", /*durable_remove=*/true).has_value());
  for (int i = 0; i < 10; ++i) send_with(n, "/topic/t", body_of("late", i), 4, 0, {});
  REQUIRE(n.settle());
  // The 1 ms expiries are past before any recovery starts: each sees them expired alike.
  REQUIRE(run_until(n.loop, [&] { return wall_ms() > soon; }));
}

// What a restart gave back: every queue's and backlog's messages as consumers get them.
struct Recovered {
  std::map<std::string, std::size_t> depth;
  std::map<std::string, std::vector<Received>> messages;
  std::map<std::string, std::vector<std::string>> windows;
  std::uint64_t live_messages = 0, live_bytes = 0;
  std::size_t paged_at_start = 0;
};

Recovered recover(const std::string& dir, Bodies bodies, std::uint64_t limit) {
  JournalOptions opts = no_compaction();
  opts.recovery_bodies = bodies;
  Node n(journal_config(dir, 64u << 10), opts, poison_policy, "c1", limit);
  Recovered out;
  out.depth = n.queued();
  out.paged_at_start = n.broker.memory_stats().paged;
  const JournalStats js = n.journal->stats();
  out.live_messages = js.live_messages;
  out.live_bytes = js.live_bytes;
  for (const char* d : {"/queue/a", "/queue/b", "/queue/c", "/queue/poison", "/queue/DLQ", "/topic/t"})
    out.windows[d] = n.broker.duplicate_window(d);
  auto drain = [&](const std::string& key, std::string_view dest, std::string_view durable) {
    const std::size_t from = n.client.got.size();
    n.subscribe(key, dest, broker::AckMode::auto_ack, durable);
    REQUIRE(run_until(n.loop, [&] {
      for (const auto& s : n.broker.stats())
        if ((s.name == dest || (!durable.empty() && s.name == broker::durable_key("c1", durable))) && s.depth != 0)
          return false;
      return true;
    }));
    out.messages[key].assign(n.client.got.begin() + static_cast<std::ptrdiff_t>(from), n.client.got.end());
  };
  for (const char* q : {"/queue/a", "/queue/b", "/queue/c", "/queue/poison", "/queue/DLQ"}) drain(q, q, {});
  drain("dur1", "/topic/t", "dur1");
  return out;
}

void same(const Recovered& want, const Recovered& got) {
  CHECK(describe(got.depth) == describe(want.depth));
  CHECK(got.live_messages == want.live_messages);
  CHECK(got.live_bytes == want.live_bytes);
  CHECK(got.windows == want.windows);
  for (const auto& [key, w] : want.messages) {
    CAPTURE(key);
    const auto it = got.messages.find(key);
    REQUIRE(it != got.messages.end());
    const std::vector<Received>& g = it->second;
    REQUIRE(g.size() == w.size());
    for (std::size_t i = 0; i < w.size(); ++i) {
      CAPTURE(i);
      CHECK(g[i].id == w[i].id);
      CHECK(g[i].id_text == w[i].id_text);
      CHECK(g[i].destination == w[i].destination);
      CHECK(g[i].body == w[i].body);
      CHECK(g[i].rest == w[i].rest);
    }
  }
}

void check_all_ways(const std::string& dir) {
  // Three restarts of the same bytes, each from its own copy (a restart may change the
  // directory: it removes left-overs and cuts zeroed space).
  TempDir whole, mixed, indexed;
  for (const TempDir* to : {&whole, &mixed, &indexed})
    std::filesystem::copy(dir, to->path(), std::filesystem::copy_options::recursive);
  const Recovered reference = recover(whole.path(), Bodies::decode, 0);  // every message in memory
  CHECK(reference.paged_at_start == 0);
  const Recovered decoded = recover(mixed.path(), Bodies::decode, kLimit);  // decoded, some paged out as replayed
  const Recovered index_only = recover(indexed.path(), Bodies::index_only, kLimit);
  CHECK(index_only.paged_at_start > 0);
  for (const auto& [key, v] : reference.messages) MESSAGE(key << ": " << v.size() << " delivered");
  CHECK(!reference.messages.at("/queue/DLQ").empty());
  CHECK(reference.messages.at("dur1").size() > 100);
  {
    INFO("decoded under a memory limit vs decoded whole");
    same(reference, decoded);
  }
  {
    INFO("index only vs decoded whole");
    same(reference, index_only);
  }
}

}  // namespace

TEST_CASE("index-only recovery gives back what a full decode gives back: segments") {
  TempDir dir;
  {
    Node n(journal_config(dir.path(), 64u << 10), no_compaction(), poison_policy, "c1");
    build_store(n);
  }
  check_all_ways(dir.path());
}

TEST_CASE("index-only recovery gives back what a full decode gives back: after a compaction") {
  TempDir dir;
  {
    JournalOptions opts;
    opts.compaction_min_bytes = 128u << 10;
    Node n(journal_config(dir.path(), 64u << 10), opts, poison_policy, "c1", kLimit);
    build_store(n);
    // Garbage, so that a compaction moves the live records into a checkpoint.
    for (int i = 0; i < 600; ++i) {
      n.send_ok("/queue/garbage", std::string(1000, 'g'));
      if (i % 50 == 49) REQUIRE(n.settle());
    }
    n.subscribe("g", "/queue/garbage");
    REQUIRE(run_until(n.loop, [&] { return n.queued()["/queue/garbage"] == 0; }));
    REQUIRE(n.settle());
    REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions > 0 && !n.journal->compacting(); }));
    REQUIRE(!files_with(dir.path(), ".ckpt").empty());
  }
  check_all_ways(dir.path());
}

TEST_CASE("index-only recovery: automatic with a memory limit, not without; heads read ahead at start-up") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 256u << 10);
  // Small messages, more than the two batches a queue reads ahead, whose estimated
  // size fits under half the limit.
  constexpr int kCount = 6000;
  constexpr std::uint64_t kHeadLimit = 2u << 20;
  auto small_body = [](int i) { return "m" + std::to_string(i) + std::string(60, 's'); };
  {
    Node n(cfg, no_compaction(), poison_policy, "c1");
    for (int i = 0; i < kCount; ++i) {
      n.send_ok("/queue/a", small_body(i));
      if (i % 500 == 499) REQUIRE(n.settle());
    }
    REQUIRE(n.settle());
  }
  {
    Node unlimited(cfg, no_compaction(), poison_policy, "c1");  // nothing is ever paged: decoded whole
    CHECK(unlimited.broker.memory_stats().paged == 0);
    CHECK(unlimited.queued()["/queue/a"] == kCount);
  }
  Node large(cfg, no_compaction(), poison_policy, "c1", kHeadLimit);  // a limit: index only
  CHECK(large.broker.memory_stats().paged == kCount);
  // The head was asked for at start-up, before any consumer: two read-ahead batches.
  REQUIRE(run_until(large.loop, [&] {
    return large.broker.memory_stats().paged == kCount - 2 * broker::kPageInBatch;
  }));
  CHECK(large.broker.memory_stats().used < kHeadLimit);
  large.subscribe("s", "/queue/a");
  REQUIRE(run_until(large.loop, [&] { return large.client.got.size() == kCount; }));
  for (int i = 0; i < kCount; ++i) REQUIRE(large.client.got[static_cast<std::size_t>(i)].body == small_body(i));
}
