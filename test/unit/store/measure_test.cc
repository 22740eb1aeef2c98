// Measurements, not tests: skipped by default (timings belong to twinmq-bench), run
// with `unit_store --no-skip -tc='measure*'`. They print what the journal costs:
// recovery time for N queued 1 KiB messages (TWINMQ_MEASURE_MESSAGES, default one
// million), memory per queued persistent message, fdatasyncs per batch.
#include <doctest.h>

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "base/clock.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

std::size_t rss_bytes() {
  long pages = 0, resident = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Bytes malloc has handed out and not got back (RSS would count what an earlier
// measurement freed but the allocator kept).
std::size_t heap_bytes() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

std::size_t env_count(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

// Sends `n` persistent messages of `body` to /queue/a, settling every 1,000, and says
// how long that took and what it left on disk. Settling that often is what lets a
// memory limit hold: page-out runs when a batch becomes durable and walks at most
// Queue::kPageOutScanBudget (4,096) entries per call, so a producer that waited only
// every 10,000 messages outran it and hit the limit.
void fill_queue(Node& node, std::size_t n, const std::string& body, const std::string& dir) {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    node.send_ok("/queue/a", body);
    if (i % 1000 == 999) REQUIRE(node.settle());
  }
  REQUIRE(node.settle());
  const double fill = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("filled " << n << " messages in " << fill << " s; " << dir_bytes(dir) / (1 << 20) << " MiB on disk");
}

}  // namespace

TEST_CASE("measure: recovery of N queued 1 KiB persistent messages" * doctest::skip()) {
  const std::size_t n = env_count("TWINMQ_MEASURE_MESSAGES", 1'000'000);
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 32u << 20, /*sync=*/false);
  const std::string body(1024, 'm');
  {
    Node node(cfg);
    fill_queue(node, n, body, dir.path());
  }
  const std::size_t heap0 = heap_bytes();
  const auto t0 = std::chrono::steady_clock::now();
  Node node(cfg);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(node.queued()["/queue/a"] == n);
  MESSAGE("recovered " << node.report.events << " events (" << n << " messages) in " << node.report.seconds
                       << " s replay, " << total << " s open+start; heap +" << (heap_bytes() - heap0) / (1 << 20)
                       << " MiB");
}

TEST_CASE("measure: memory of 100,000 queued 1 KiB persistent messages, fsyncs per batch" * doctest::skip()) {
  const std::size_t n = env_count("TWINMQ_MEASURE_QUEUED", 100'000);
  TempDir dir;
  Node node(journal_config(dir.path()));
  const std::string body(1024, 'q');
  const std::size_t rss0 = rss_bytes();
  const std::size_t heap0 = heap_bytes();
  for (std::size_t i = 0; i < n; ++i) {
    node.send_ok("/queue/a", body);
    if (i % 1000 == 999) REQUIRE(node.settle());
  }
  REQUIRE(node.settle());
  const JournalStats s = node.journal->stats();
  MESSAGE(n << " queued: heap +" << (heap_bytes() - heap0) / (1 << 20) << " MiB, RSS +"
            << (rss_bytes() - rss0) / (1 << 20) << " MiB (journal index " << s.live_messages << " entries); "
            << s.batches << " batches, "
            << s.write_groups << " write groups, " << s.syncs << " fdatasyncs, "
            << s.bytes_written / (1 << 20) << " MiB written");
}

TEST_CASE("measure: loop-side cost of journaling a persistent send" * doctest::skip()) {
  const std::size_t n = env_count("TWINMQ_MEASURE_SENDS", 200'000);
  const std::string body(1024, 's');
  double with_journal = 0, without = 0;
  // The bare broker first: whichever runs second reuses the heap the first grew.
  {
    broker::Broker b(broker_options(poison_policy));
    RecordingClient c;
    const ConnId conn = b.attach(c, "c");
    broker::SubscribeRequest sub;
    sub.id = "s";
    sub.destination = "/queue/a";
    REQUIRE(b.subscribe(conn, sub).has_value());
    broker::SendRequest r;
    r.destination = "/queue/a";
    r.body = body;
    r.persistent = true;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(b.send(conn, r).has_value());
      if (i % 1000 == 999) c.got.clear();
    }
    without = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    b.detach(conn);
  }
  {
    TempDir dir;
    Node node(journal_config(dir.path(), 32u << 20, /*sync=*/false));
    // 100 sends per loop turn, as a busy broker sees them; the turn's prepare hook
    // hands the batch over and spent buffers come back for reuse. (The timer keeps
    // the loop alive, as a runtime's listeners do: uv_run does nothing otherwise.)
    node.subscribe("s", "/queue/a");  // consumed as sent: the heap stays warm, as in steady state
    auto alive = net::Timer::create(node.loop);
    alive->start(1000000, 0, [] {});
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      node.send_ok("/queue/a", body);
      if (i % 100 == 99) uv_run(node.loop.uv(), UV_RUN_NOWAIT);
      if (i % 1000 == 999) node.client.got.clear();
    }
    with_journal = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    alive->stop();
    REQUIRE(node.settle());
    MESSAGE(node.journal->stats().batches << " batches");
  }
  MESSAGE(n << " persistent 1 KiB sends to a consumer (auto ack): " << with_journal * 1e9 / static_cast<double>(n) << " ns each with the journal, "
            << without * 1e9 / static_cast<double>(n) << " ns without");
}

TEST_CASE("measure: loop time to plan a checkpoint of N live messages" * doctest::skip()) {
  const std::size_t n = env_count("TWINMQ_MEASURE_MESSAGES", 1'000'000);
  LiveSet live;
  std::vector<broker::MessageRef> keep;
  broker::MessageInit init;
  init.id_prefix = "p";
  init.destination = "/queue/a";
  init.persistent = true;
  live.apply(Seq{1}, broker::DestinationAdded{"/queue/a"}, 1, 64, 64);
  for (std::size_t i = 0; i < n; ++i) {
    init.id = i + 1;
    auto m = broker::Message::create(init);
    live.apply(Seq{i + 2}, broker::MessageEnqueued{m}, 1 + static_cast<FileNo>(i / 30000), (i % 30000) * 1104, 1104);
  }
  EventEncoder enc;
  const auto t0 = std::chrono::steady_clock::now();
  const CheckpointPlan plan = live.plan_checkpoint(Seq{n + 1}, n + 1, enc);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(plan.items.size() == n + 1);
  MESSAGE("planning a checkpoint of " << n << " live messages took " << s * 1000 << " ms on the loop");
}

namespace {

// Counts deliveries without keeping them (a paged backlog of millions).
class CountingClient final : public broker::Client {
 public:
  std::size_t got = 0;
  std::uint64_t last_id = 0;
  bool in_order = true;
  bool can_accept() const override { return true; }
  void deliver(const broker::Delivery& d) override {
    if (d.message.id() <= last_id) in_order = false;
    last_id = d.message.id();
    ++got;
  }
  void on_released(Seq) override {}
};

}  // namespace

// README "Memory, store limits and producer flow control" (paging figures):
//   TWINMQ_MEASURE_MESSAGES=1000000 build/test/unit/store/unit_store --no-skip -tc='measure: paged*'
TEST_CASE("measure: paged recovery and drain of N queued 1 KiB persistent messages under a memory limit" * doctest::skip()) {
  const std::size_t n = env_count("TWINMQ_MEASURE_MESSAGES", 1'000'000);
  const std::uint64_t limit = env_count("TWINMQ_MEASURE_LIMIT_MIB", 256) << 20;
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 64u << 20, /*sync=*/false);
  const std::string body(1024, 'm');
  {
    Node node(cfg, {}, poison_policy, "c1", limit);
    fill_queue(node, n, body, dir.path());
  }
  malloc_trim(0);
  const std::size_t heap0 = heap_bytes();
  const std::size_t rss0 = rss_bytes();
  const auto t0 = std::chrono::steady_clock::now();
  Node node(cfg, {}, poison_policy, "c1", limit);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(node.queued()["/queue/a"] == n);
  const std::size_t heap = heap_bytes() - heap0;
  const auto stats = node.broker.memory_stats();
  MESSAGE("recovered " << n << " messages (" << stats.paged << " paged) in " << node.report.seconds << " s replay, "
                       << total << " s open+start; heap +" << heap / (1 << 20) << " MiB, RSS +"
                       << (rss_bytes() - rss0) / (1 << 20) << " MiB; memoryUsage limit " << (limit >> 20)
                       << " MiB; heap beyond the limit per message: "
                       << (heap > limit ? (heap - limit) / n : 0) << " bytes, all of the heap per message: " << heap / n
                       << " bytes");
  const std::uint64_t index = node.journal->stats().index_bytes;
  MESSAGE("of the heap per message: the journal's index " << index / n << " bytes, the rest (queue entries, read-ahead) "
                                                           << (heap - std::min<std::size_t>(heap, index)) / n << " bytes");
  CountingClient c;
  const ConnId cid = node.broker.attach(c, "drain");
  broker::SubscribeRequest r;
  r.id = "s";
  r.destination = "/queue/a";
  const auto d0 = std::chrono::steady_clock::now();
  REQUIRE(node.broker.subscribe(cid, r).has_value());
  // A runtime ticks (app/runtime.cc); so must this in-process drain: the tick retries a
  // page-in that met a file a compaction had just removed (broker/page_store.h), which
  // otherwise waits forever (seen when the machine was loaded enough for compaction to
  // run during the drain).
  auto ticked = std::chrono::steady_clock::now();
  double first_delivery = -1;  // seconds from the SUBSCRIBE to the first message (read ahead at recovery, or paged in)
  REQUIRE(run_until(node.loop, [&] {
    if (first_delivery < 0 && c.got > 0)
      first_delivery = std::chrono::duration<double>(std::chrono::steady_clock::now() - d0).count();
    if (const auto now = std::chrono::steady_clock::now(); now - ticked > std::chrono::milliseconds(100)) {
      node.broker.tick(wall_ms());
      ticked = now;
    }
    return c.got == n;
  }, 600000));
  const double drain = std::chrono::duration<double>(std::chrono::steady_clock::now() - d0).count();
  CHECK(c.in_order);
  MESSAGE("drained " << n << " messages (auto ack) in " << drain << " s: " << static_cast<double>(n) / drain
                     << " msg/s; the first delivered " << first_delivery * 1000 << " ms after the SUBSCRIBE, "
                     << (total + first_delivery) << " s after the broker started opening its store");
  node.broker.detach(cid);
}
