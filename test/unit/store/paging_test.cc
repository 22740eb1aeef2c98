// Paging against a real journal (store/page_reader.h, Journal as broker::PageStore):
// messages above the memory limit leave memory once durable and are read back by the
// reader thread, from segments and from a checkpoint a compaction moved them into, and
// after a restart.
#include "support.h"

#include "store/page_reader.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

constexpr std::uint64_t kLimit = 256 * 1024;

std::string body_of(int i) { return std::to_string(i) + ":" + std::string(1000, 'x'); }

void fill(Node& n, std::string_view queue, int count) {
  for (int i = 0; i < count; ++i) {
    n.send_ok(queue, body_of(i));
    // The producer waits for durability now and then, as one with receipts would: that
    // is when messages may leave memory.
    if (i % 50 == 49) REQUIRE(n.settle());
  }
  REQUIRE(n.settle());
}

void drain_in_order(Node& n, std::string_view queue, int count) {
  const std::size_t before = n.client.got.size();
  n.subscribe(std::string(queue), queue);
  REQUIRE(run_until(n.loop, [&] { return n.client.got.size() == before + static_cast<std::size_t>(count); }));
  for (int i = 0; i < count; ++i) REQUIRE(n.client.got[before + static_cast<std::size_t>(i)].body == body_of(i));
}

}  // namespace

TEST_CASE("paging: a backlog four times the memory limit stays under it and is read back in order") {
  TempDir dir;
  Node n(journal_config(dir.path(), 64u << 10), no_compaction(), poison_policy, "c1", kLimit);
  fill(n, "/queue/a", 1000);
  const auto m = n.broker.memory_stats();
  CHECK(m.used < m.limit);
  CHECK(m.paged > 500);
  drain_in_order(n, "/queue/a", 1000);
  CHECK(n.broker.memory_stats().paged == 0);
}

TEST_CASE("paging: messages a compaction moved into its checkpoint are read back from there") {
  TempDir dir;
  JournalOptions opts;
  opts.compaction_min_bytes = 256u << 10;
  Node n(journal_config(dir.path(), 64u << 10), opts, poison_policy, "c1", kLimit);
  fill(n, "/queue/kept", 600);
  fill(n, "/queue/garbage", 1500);
  drain_in_order(n, "/queue/garbage", 1500);
  REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions > 0 && !n.journal->compacting(); }));
  CHECK(n.broker.memory_stats().paged > 0);
  drain_in_order(n, "/queue/kept", 600);
}

TEST_CASE("paging: after a restart the backlog beyond the limit is paged at once and drains in order") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 64u << 10);
  {
    Node n(cfg, no_compaction(), poison_policy, "c1");  // no limit: all in memory
    fill(n, "/queue/a", 1000);
  }
  Node n(cfg, no_compaction(), poison_policy, "c1", kLimit);
  const auto m = n.broker.memory_stats();
  CHECK(m.used < m.limit);
  CHECK(m.paged > 500);
  drain_in_order(n, "/queue/a", 1000);
}

TEST_CASE("page reader: a message not in the index, or in a file that is gone, comes back null with a reason") {
  PageRequest r;
  r.queue = "/queue/a";
  r.items.push_back(PageRequest::Item{7, 0, 0, 0});
  r.items.push_back(PageRequest::Item{8, 0, 3, 0});
  r.paths.emplace_back(3, "/nonexistent/twinmq-page-reader-test");
  PageAnswer a = PageReader::read(r);
  REQUIRE(a.messages.size() == 2);
  CHECK(!a.messages[0]);
  CHECK(!a.messages[1]);
  CHECK(a.ids == std::vector<std::uint64_t>{7, 8});
  CHECK(!a.error.empty());
}
