// compare-stores: where two stores of one pair fork (store/history.h), and what the store
// to be overwritten holds after the fork (store/forked_tail.h). Each case builds the two
// stores the way a pair makes them: one shared history (a store copied byte for byte, as
// a slave's journal holds the master's records), then each side on its own — the promoted
// side in a new epoch (bump_epoch), the old master in the old one.
#include <doctest.h>

#include <filesystem>

#include "store/compare.h"
#include "store/errors.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

// The store as a slave's copy of it would be: every file but the lock.
void copy_store(const std::string& from, const std::string& to) {
  std::filesystem::create_directories(to);
  for (const auto& e : std::filesystem::directory_iterator(from)) {
    if (e.path().filename() == "lock") continue;
    std::filesystem::copy(e.path(), to + "/" + e.path().filename().string());
  }
}

void shared_history(const std::string& dir, int messages = 5) {
  Node n(journal_config(dir, 4096), no_compaction());
  for (int i = 0; i < messages; ++i) n.send_ok("/queue/shared", "s" + std::to_string(i));
  REQUIRE(n.settle());
}

// The promoted side: a new epoch, then its own messages.
void promoted(const std::string& dir, int messages = 3) {
  Node n(journal_config(dir, 4096), no_compaction());
  REQUIRE(n.journal->bump_epoch().has_value());
  for (int i = 0; i < messages; ++i) n.send_ok("/queue/promoted", "p" + std::to_string(i));
  REQUIRE(n.settle());
}

Seq last_seq(const std::string& dir) {
  auto h = load_history(dir);
  REQUIRE(h.has_value());
  return h->last_seq;
}

StoreComparison compare_ok(const std::string& a, const std::string& b) {
  auto c = compare_stores(a, b);
  REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error().message));
  return std::move(*c);
}

}  // namespace

TEST_CASE("identical stores: the fork is their end, B holds nothing after it") {
  TempDir a, b;
  shared_history(a.path());
  copy_store(a.path(), b.path());
  const auto c = compare_ok(a.path(), b.path());
  CHECK(c.fork.seq == last_seq(a.path()));
  CHECK(c.fork.exact);
  CHECK(c.fork.agreed == 6);  // the destination and five messages
  CHECK(c.a_after_fork == 0);
  CHECK_FALSE(c.b_holds_more());
  CHECK(c.b_tail.events == 0);
}

TEST_CASE("B a prefix of A (a master that died with nothing in flight): nothing to lose") {
  TempDir a, b;
  shared_history(a.path());
  copy_store(a.path(), b.path());
  const Seq fork = last_seq(a.path());
  promoted(a.path());
  const auto c = compare_ok(a.path(), b.path());
  CHECK(c.fork.seq == fork);
  CHECK(c.fork.exact);
  CHECK(c.a_after_fork == 4);  // /queue/promoted added, three messages
  CHECK_FALSE(c.b_holds_more());
}

TEST_CASE("A a prefix of B: B's later messages are its tail, all live") {
  TempDir a, b;
  shared_history(a.path());
  copy_store(a.path(), b.path());
  const Seq fork = last_seq(a.path());
  {
    Node n(journal_config(b.path(), 4096), no_compaction());
    for (int i = 0; i < 4; ++i) n.send_ok("/queue/shared", "b" + std::to_string(i));
    REQUIRE(n.settle());
  }
  const auto c = compare_ok(a.path(), b.path());
  CHECK(c.fork.seq == fork);
  CHECK(c.fork.exact);
  CHECK(c.fork.why.find("A's history ends at seq " + std::to_string(fork.value)) == 0);
  REQUIRE(c.b_holds_more());
  CHECK(c.b_tail.events == 4);
  const DestinationTail& d = c.b_tail.destinations.at("/queue/shared");
  CHECK(d.enqueued == 4);
  CHECK(d.first_seq == Seq{fork.value + 1});
  CHECK(d.last_seq == Seq{fork.value + 4});
  CHECK(d.bytes == 8);
  CHECK(d.live == 4);
}

TEST_CASE("forked at N: B's tail with live, acknowledged and transactional events, per destination") {
  TempDir a, b;
  shared_history(a.path());
  copy_store(a.path(), b.path());
  const Seq fork = last_seq(a.path());
  promoted(a.path());
  {
    // The old master serves alone: new messages (one then acknowledged), an
    // acknowledgement of a message from before the fork, a transaction, a durable
    // subscription and the topic message it keeps.
    Node n(journal_config(b.path(), 4096), no_compaction());
    n.send_ok("/queue/orders", "o1");
    n.send_ok("/queue/orders", "o2");
    n.send_ok("/queue/orders", "o3");
    n.subscribe("s", "/queue/orders", broker::AckMode::client_individual, {}, 1);
    REQUIRE(n.client.got.size() == 1);
    CHECK(n.client.got[0].body == "o1");
    n.ack(n.client.got[0].ack_tag);
    REQUIRE(n.broker.unsubscribe(n.conn, "s").has_value());
    n.subscribe("old", "/queue/shared", broker::AckMode::client_individual, {}, 1);
    REQUIRE(n.client.got.back().destination == "/queue/shared");
    n.ack(n.client.got.back().ack_tag);
    REQUIRE(n.broker.unsubscribe(n.conn, "old").has_value());
    REQUIRE(n.broker.begin(n.conn, "tx").has_value());
    n.send_ok("/queue/orders", "t1", true, "tx");
    n.send_ok("/queue/audit", "t2", true, "tx");
    REQUIRE(n.broker.commit(n.conn, "tx").has_value());
    n.subscribe("d", "/topic/prices", broker::AckMode::auto_ack, "prices");
    REQUIRE(n.broker.unsubscribe(n.conn, "d").has_value());
    n.send_ok("/topic/prices", "42");
    REQUIRE(n.settle());
  }
  const auto c = compare_ok(a.path(), b.path());
  CHECK(c.fork.seq == fork);
  CHECK(c.fork.exact);
  CHECK(c.fork.why.find("epoch 1") != std::string::npos);
  const ForkedTail& t = c.b_tail;
  REQUIRE(c.b_holds_more());
  CHECK(t.transactions == 1);
  CHECK(t.messages == 6);  // o1..o3, t1, t2, 42
  CHECK(t.live == 5);      // o1 was acknowledged
  const DestinationTail& orders = t.destinations.at("/queue/orders");
  CHECK(orders.enqueued == 4);
  CHECK(orders.live == 3);
  CHECK(orders.removed == 0);  // o1's ack is internal to the tail
  const DestinationTail& shared = t.destinations.at("/queue/shared");
  CHECK(shared.enqueued == 0);
  CHECK(shared.removed == 1);  // enqueued before the fork: A redelivers it
  CHECK(shared.acked == 1);
  CHECK(t.destinations.at("/queue/audit").live == 1);
  CHECK(t.destinations.at("/topic/prices").live == 1);
  REQUIRE(t.durables_added.size() == 1);
  CHECK(t.durables_added[0].name == "prices");
  CHECK(t.durables_added[0].topic == "/topic/prices");
  CHECK(std::find(t.destinations_added.begin(), t.destinations_added.end(), "/queue/orders") !=
        t.destinations_added.end());

  // Salvage's view: the live ones, in enqueue order, with their bodies.
  auto kept = read_forked_tail(b.path(), c.fork.seq, true);
  REQUIRE(kept.has_value());
  std::vector<std::string> bodies;
  for (const TailMessage& m : kept->live_messages) bodies.emplace_back(m.message->body());
  CHECK(bodies == std::vector<std::string>{"o2", "o3", "t1", "t2", "42"});
  CHECK(kept->live_messages[2].seq == kept->live_messages[3].seq);  // one transaction record
  CHECK(kept->live_messages[3].member == 1);

  // The JSON report carries the same facts.
  const std::string json = comparison_json(c);
  CHECK(json.find("\"messages_live\": 5") != std::string::npos);
  CHECK(json.find("\"receipts\": \"accepted (a receipt may have been sent)\"") != std::string::npos);
}

TEST_CASE("the same event on both sides after the fork is still the fork (epochs)") {
  TempDir a, b;
  shared_history(a.path());
  copy_store(a.path(), b.path());
  const Seq fork = last_seq(a.path());
  promoted(a.path(), 1);  // adds /queue/promoted, then one message
  {
    Node n(journal_config(b.path(), 4096), no_compaction());
    n.send_ok("/queue/promoted", "b");  // the same DestinationAdded, at the same seq
    REQUIRE(n.settle());
  }
  const auto c = compare_ok(a.path(), b.path());
  CHECK(c.fork.seq == fork);
  CHECK(c.b_tail.events == 2);
}

TEST_CASE("compacted history: B's checkpoint past the fork makes it 'at or before', its tail still listed") {
  TempDir a, b;
  shared_history(a.path());
  copy_store(a.path(), b.path());
  const Seq fork = last_seq(a.path());
  promoted(a.path());
  {
    // The old master serves alone long enough to compact past the fork.
    JournalOptions o;
    o.compaction_min_bytes = 1;
    Node n(journal_config(b.path(), 4096), o);
    n.send_ok("/queue/kept", "k1");
    for (int i = 0; i < 150; ++i) n.send_ok("/queue/churn", std::string(200, 'c'));
    n.subscribe("churn", "/queue/churn");
    REQUIRE(n.settle());
    REQUIRE(run_until(n.loop, [&] { return !files_with(b.path(), ".ckpt").empty(); }));
    n.send_ok("/queue/kept", "k2");
    REQUIRE(n.settle());
  }
  auto hb = load_history(b.path());
  REQUIRE(hb.has_value());
  REQUIRE(hb->checkpoint_seq > fork);
  const auto c = compare_ok(a.path(), b.path());
  CHECK(c.fork.seq == fork);  // bounded by A's epoch: A's own records start right after it
  CHECK_FALSE(c.fork.exact);
  const DestinationTail& kept = c.b_tail.destinations.at("/queue/kept");
  CHECK(kept.enqueued == 2);  // k1 from B's checkpoint (it keeps its seq), k2 from a segment
  CHECK(kept.live == 2);
  std::FILE* out = std::tmpfile();
  print_comparison(c, out);
  std::rewind(out);
  char text[4096] = {};
  CHECK(std::fread(text, 1, sizeof(text) - 1, out) > 0);
  std::fclose(out);
  CHECK(std::string(text).find("at or before seq " + std::to_string(fork.value)) != std::string::npos);
}

TEST_CASE("A's checkpoint before the fork (a slave's initial copy): the fork is still exact") {
  TempDir a, b;
  {
    JournalOptions o;
    o.compaction_min_bytes = 1;
    Node n(journal_config(a.path(), 4096), o);
    for (int i = 0; i < 150; ++i) n.send_ok("/queue/churn", std::string(200, 'c'));
    n.subscribe("churn", "/queue/churn");
    REQUIRE(n.settle());
    REQUIRE(run_until(n.loop, [&] { return !files_with(a.path(), ".ckpt").empty(); }));
    for (int i = 0; i < 5; ++i) n.send_ok("/queue/shared", "s" + std::to_string(i));
    REQUIRE(n.settle());
  }
  copy_store(a.path(), b.path());
  const Seq fork = last_seq(a.path());
  promoted(a.path());
  {
    Node n(journal_config(b.path(), 4096), no_compaction());
    n.send_ok("/queue/shared", "b");
    REQUIRE(n.settle());
  }
  const auto c = compare_ok(a.path(), b.path());
  CHECK(c.a.checkpoint_seq > Seq{0});
  CHECK(c.fork.seq == fork);
  CHECK(c.fork.exact);
  CHECK(c.fork.agreed > 0);
  CHECK(c.b_tail.live == 1);
}

TEST_CASE("two different stores are refused: not the two halves of one pair") {
  TempDir a, b;
  shared_history(a.path());
  shared_history(b.path());
  auto c = compare_stores(a.path(), b.path());
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().code == static_cast<int>(Errc::foreign_file));
  CHECK(c.error().message.find("different stores") != std::string::npos);
}

TEST_CASE("a damaged record in B is named (file and offset); nothing is guessed") {
  TempDir a, b;
  shared_history(a.path(), 40);
  copy_store(a.path(), b.path());
  const auto segs = files_with(b.path(), ".seg");
  REQUIRE(segs.size() >= 2);
  const auto offsets = record_offsets(segs[0]);
  std::string bytes = read_file(segs[0]);
  bytes[offsets[2] + 30] = static_cast<char>(bytes[offsets[2] + 30] ^ 0x40);
  write_file(segs[0], bytes);
  auto c = compare_stores(a.path(), b.path());
  REQUIRE_FALSE(c.has_value());
  const std::string name = std::filesystem::path(segs[0]).filename().string();
  CHECK(c.error().message.find("B (the store to overwrite): the store in " + b.path() + " is damaged: " + name +
                               " offset " + std::to_string(offsets[2])) == 0);
}

TEST_CASE("a store in use is refused, naming the pid") {
  TempDir a, b;
  shared_history(a.path());
  copy_store(a.path(), b.path());
  Node running(journal_config(b.path()), no_compaction());
  auto c = compare_stores(a.path(), b.path());
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().message.find("in use by pid " + std::to_string(::getpid())) != std::string::npos);
}

TEST_CASE("a history file stands in for A (the other machine's store), and a cut one is refused") {
  TempDir a, b, files;
  shared_history(a.path());
  copy_store(a.path(), b.path());
  promoted(a.path());
  {
    Node n(journal_config(b.path(), 4096), no_compaction());
    n.send_ok("/queue/shared", "b");
    REQUIRE(n.settle());
  }
  auto h = load_history(a.path());
  REQUIRE(h.has_value());
  const std::string text = format_history(*h);
  write_file(files.file("a.history"), text);
  CHECK(is_history_file(files.file("a.history")));
  CHECK_FALSE(is_history_file(a.path()));
  const auto direct = compare_ok(a.path(), b.path());
  const auto via_file = compare_ok(files.file("a.history"), b.path());
  CHECK(via_file.fork.seq == direct.fork.seq);
  CHECK(via_file.fork.exact == direct.fork.exact);
  CHECK(via_file.fork.agreed == direct.fork.agreed);
  CHECK(via_file.b_tail.live == direct.b_tail.live);

  write_file(files.file("cut.history"), text.substr(0, text.size() / 2));
  auto cut = compare_stores(files.file("cut.history"), b.path());
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().message.find("cut short") != std::string::npos);
  auto parsed = parse_history("twinmq-history 2\n", "x");
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().message.find("history format 2") != std::string::npos);
}

TEST_CASE("a dataDirectory (store in DIR/journal) is found like twinmq-resync finds it") {
  TempDir a, b;
  shared_history(a.file("journal"));
  copy_store(a.file("journal"), b.file("journal"));
  const auto c = compare_ok(a.path(), b.path());
  CHECK(c.a.source == a.file("journal"));
  CHECK_FALSE(c.b_holds_more());
}
