// Golden stores: journal directories written by format version 1 and committed
// (test/unit/store/golden/v1/). Every later twinmq must recover them to exactly this
// state: that is the on-disk format's compatibility promise (record_format.h).
//
// They were made by the skipped case at the bottom:
//   TWINMQ_GOLDEN_OUT=test/unit/store/golden/v1 unit_store --no-skip -tc='golden: write*'
#include <doctest.h>

#include "store/verify.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

// A copy of a golden store in a temporary directory (recovery may write to it).
void copy_golden(const std::string& name, const TempDir& to) {
  const std::string from = std::string(TWINMQ_STORE_GOLDEN_DIR) + "/" + name;
  REQUIRE(std::filesystem::is_directory(from));
  for (const auto& e : std::filesystem::directory_iterator(from))
    std::filesystem::copy_file(e.path(), to.file(e.path().filename().string()));
}

// The history both golden stores hold.
void history(Node& n) {
  const broker::HeaderView headers[] = {{"content-type", "text/plain"}, {"x-custom", "value:with\\colon"}};
  broker::SendRequest r;
  r.destination = "/queue/a";
  r.headers = headers;
  r.persistent = true;
  r.priority = 7;
  r.expires_ms = 4102444800000;  // 2100-01-01
  for (const char* body : {"first", "second", "third"}) {
    r.body = body;
    REQUIRE(n.broker.send(n.conn, r).has_value());
  }
  n.send_ok("/queue/a", "not persistent", false);
  n.subscribe("d", "/topic/t", broker::AckMode::auto_ack, "durable");
  REQUIRE(n.broker.unsubscribe(n.conn, "d").has_value());
  n.send_ok("/topic/t", "for the durable subscription");
  REQUIRE(n.broker.begin(n.conn, "tx").has_value());
  n.send_ok("/queue/b", "tx one", true, "tx");
  n.send_ok("/queue/b", "tx two", true, "tx");
  REQUIRE(n.broker.commit(n.conn, "tx").has_value());
  for (int i = 0; i < 20; ++i) n.send_ok("/queue/churn", std::string(200, 'c'));
  n.subscribe("p", "/queue/poison", broker::AckMode::client_individual, {}, 1);
  n.send_ok("/queue/poison", "poison");
  REQUIRE(n.client.got.size() == 1);
  n.ack(n.client.got[0].ack_tag, /*nack=*/true);
  n.client.got.clear();
  n.subscribe("c", "/queue/churn");
  REQUIRE(n.settle());
}

void check_state(Node& n) {
  auto q = n.queued();
  CHECK(q["/queue/a"] == 3);
  CHECK(q["/queue/b"] == 2);
  CHECK(q["/queue/churn"] == 0);
  CHECK(q["/queue/DLQ"] == 1);
  CHECK(q[broker::durable_key("c1", "durable")] == 1);
  n.client.got.clear();
  n.subscribe("a", "/queue/a");
  REQUIRE(n.client.got.size() == 3);
  CHECK(n.client.got[0].body == "first");
  CHECK(n.client.got[2].body == "third");
  CHECK(n.client.got[0].id_text == "ID:test-1");
  n.subscribe("dlq", "/queue/DLQ");
  REQUIRE(n.client.got.size() == 4);
  CHECK(n.client.got[3].body == "poison");
  CHECK(n.client.got[3].destination == "/queue/DLQ");
}

}  // namespace

TEST_CASE("golden v1 store (segments only) recovers to the same state") {
  TempDir dir;
  copy_golden("plain", dir);
  CHECK(verify_store(dir.path())->ok());
  Node n(journal_config(dir.path()), no_compaction());
  CHECK(n.report.checkpoint_seq == Seq{0});
  CHECK(n.report.truncated_bytes == 0);
  check_state(n);
}

TEST_CASE("golden v1 store (checkpoint + segment) recovers to the same state") {
  TempDir dir;
  copy_golden("compacted", dir);
  auto v = verify_store(dir.path());
  REQUIRE(v.has_value());
  CHECK(v->ok());
  Node n(journal_config(dir.path()), no_compaction());
  CHECK(n.report.checkpoint_seq > Seq{0});
  check_state(n);
}

TEST_CASE("golden: write the v1 stores" * doctest::skip()) {
  const char* out = std::getenv("TWINMQ_GOLDEN_OUT");
  REQUIRE(out != nullptr);
  for (const char* name : {"plain", "compacted"}) {
    const std::string dir = std::string(out) + "/" + name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const bool compact = std::string_view(name) == "compacted";
    JournalOptions o = no_compaction();
    if (compact) {
      o.compaction = true;
      o.compaction_min_bytes = 1;
    }
    {
      Node n(journal_config(dir, 4096), o);
      history(n);
      if (compact) REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions >= 1; }));
      n.send_ok("/queue/b", "after", false);  // a trailing non-persistent seq: close writes a skip record
    }
    std::filesystem::remove(dir + "/lock");
  }
}
