// 36 — paging from the journal (broker/page_store.h, store/page_reader.h): persistent
// messages beyond memoryUsage leave memory once durable and are read back ahead of
// their consumers, so a producer to a persistent queue is no longer held at the memory
// limit; RSS stays near the limit while the backlog grows to ten times it; everything
// drains in order with priorities; a restart on such a store stays near the limit; a
// durable subscriber's offline backlog pages the same way.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;

namespace {

const std::string kKiB(1024, 'p');
constexpr std::size_t kLimitMiB = 4;
constexpr int kMessages = 40'000;  // 40 MiB of bodies: ten times the limit
// RSS allowed above the broker's baseline: the limit itself, the index (24 bytes per
// paged message in its queue, about 100 in the journal's index and duplicate windows:
// 5 MiB here), the journal's batches not yet written (up to about the limit again),
// buffers and the heap's slack; measured 21-26 MiB. Without paging the backlog alone
// would take about 56 MiB.
constexpr std::size_t kMarginKiB = (3 * kLimitMiB + 20) * 1024;

std::string system_usage_xml() {
  return "  <systemUsage><systemUsage>\n    <memoryUsage><memoryUsage limit=\"" + std::to_string(kLimitMiB) +
         " mb\"/></memoryUsage>\n  </systemUsage></systemUsage>\n";
}

BrokerConfig paging_config() {
  BrokerConfig cfg;
  cfg.persistent = true;
  cfg.extra_xml = system_usage_xml();
  return cfg;
}

// The brokers a test starts while this lives get asan_options_small_quarantine() (common.h),
// so the RSS checks measure the broker, not ASan (make test-asan). They inherit the test's
// environment: the pair's brokers too, which are not started through one BrokerProcess.
class SmallAsanQuarantine {
 public:
  SmallAsanQuarantine() {
    if (const char* given = std::getenv("ASAN_OPTIONS")) saved_ = given;
    ::setenv("ASAN_OPTIONS", asan_options_small_quarantine().c_str(), 1);
  }
  ~SmallAsanQuarantine() {
    if (saved_) ::setenv("ASAN_OPTIONS", saved_->c_str(), 1);
    else ::unsetenv("ASAN_OPTIONS");
  }
  SmallAsanQuarantine(const SmallAsanQuarantine&) = delete;
  SmallAsanQuarantine& operator=(const SmallAsanQuarantine&) = delete;

 private:
  std::optional<std::string> saved_;
};

// Every 8th message has priority 9, the rest the default 4.
bool high(int i) { return i % 8 == 0; }

// Sends kMessages persistent SENDs to `destination` without receipts (as fast as the
// broker reads), sampling the broker's RSS meanwhile; returns the peak in KiB. Ends
// with a receipt, so every SEND was handled when it returns.
std::size_t flood(BrokerProcess& broker, RawStomp& p, const std::string& destination) {
  std::mutex mu;
  std::condition_variable finished;
  bool done = false;
  std::atomic<bool> failed{false};
  std::thread producer([&] {
    std::string batch;
    for (int i = 0; i < kMessages; ++i) {
      KeyValues h{{"destination", destination}, {"seq", std::to_string(i)}, {"persistent", "true"}};
      if (high(i)) h.emplace_back("priority", "9");
      batch += frame_bytes("SEND", h, kKiB);
      if (batch.size() > (256u << 10) || i + 1 == kMessages) {
        if (!p.send_raw(batch, Ms(120'000))) {
          failed = true;
          break;
        }
        batch.clear();
      }
    }
    std::lock_guard lock(mu);
    done = true;
    finished.notify_all();
  });
  // RSS sampled every 50 ms until the producer is done (a bounded wait on its end).
  std::size_t peak = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  bool finished_in_time = false;
  for (;;) {
    peak = std::max(peak, rss_kib(broker.pid()));
    std::unique_lock lock(mu);
    if (finished.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
      finished_in_time = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  // A producer still blocked gives up on its own (its writes are bounded).
  producer.join();
  REQUIRE_MESSAGE(finished_in_time, "the producer did not finish: held at the memory limit? " << broker.log_tail());
  REQUIRE_FALSE(failed.load());
  p.sync();  // every SEND before it was handled
  return std::max(peak, rss_kib(broker.pid()));
}

// Drains kMessages from `c` (subscribed already) and checks the order: every priority-9
// message first, in send order, then the others in send order.
void drain_checked(RawStomp& c) {
  int next_high = 0, next_low = 1;
  bool low_seen = false;
  for (int n = 0; n < kMessages; ++n) {
    auto m = c.next_frame(Ms(30'000));
    REQUIRE_MESSAGE(m.has_value(), "delivery stopped after " << n << " messages");
    REQUIRE(m->command == "MESSAGE");
    const int seq = std::stoi((*m)["seq"]);
    if (high(seq)) {
      REQUIRE_MESSAGE(!low_seen, "priority 9 message " << seq << " after a priority 4 one");
      REQUIRE(seq == next_high);
      next_high += 8;
    } else {
      low_seen = true;
      REQUIRE(seq == next_low);
      ++next_low;
      if (high(next_low)) ++next_low;
    }
    REQUIRE(m->body.size() == kKiB.size());
  }
}

}  // namespace

TEST_CASE("36 paging: a persistent queue filled to ten times memoryUsage stays near the limit and drains in order with priorities") {
  SmallAsanQuarantine small_quarantine;
  BrokerProcess broker(paging_config());
  const std::size_t baseline = rss_kib(broker.pid());
  REQUIRE(baseline > 0);
  auto p = client(broker);
  const std::size_t peak = flood(broker, *p, "/queue/backlog");
  MESSAGE("broker RSS: baseline " << baseline << " KiB, peak " << peak << " KiB while " << kMessages
                                  << " x 1 KiB persistent messages were queued under a " << kLimitMiB
                                  << " MiB memoryUsage");
  CHECK(peak < baseline + kMarginKiB);
  // `twinmq status` says how many wait on disk only.
  auto status = BrokerProcess::spawn({"status", "--config", broker.config_file().string()});
  REQUIRE(status->wait_exit(Ms(10'000)).has_value());
  status->wait_output_eof(Ms(2000));
  CHECK_MESSAGE(status->stdout_text().find("paged out to the journal") != std::string::npos, status->stdout_text());

  auto c = client(broker);
  c->subscribe("/queue/backlog", "s");
  drain_checked(*c);
}

TEST_CASE("36 paging: a restart on a store ten times memoryUsage stays near the limit and drains in order") {
  SmallAsanQuarantine small_quarantine;
  BrokerConfig cfg = paging_config();
  BrokerProcess broker(cfg);
  const std::size_t baseline = rss_kib(broker.pid());
  {
    auto p = client(broker);
    flood(broker, *p, "/queue/stored");
  }
  broker.kill(SIGTERM);
  REQUIRE(broker.wait_exit(Ms(30'000)).has_value());

  const auto started = std::chrono::steady_clock::now();
  auto again = BrokerProcess::spawn({"--config", broker.config_file().string()});
  REQUIRE_MESSAGE(again->wait_listening("stomp", Ms(60'000)), again->log_tail());
  const std::size_t after_recovery = rss_kib(again->pid());
  MESSAGE("broker RSS: " << after_recovery << " KiB after recovering " << kMessages
                         << " queued 1 KiB messages (a fresh broker: " << baseline << " KiB)");
  CHECK(after_recovery < baseline + kMarginKiB);

  RawStomp c(again->port());
  c.connect();
  c.subscribe("/queue/stored", "s");
  drain_checked(c);
  MESSAGE("restart to the last of " << kMessages << " messages delivered: "
                                    << std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count()
                                    << " ms (reported, not asserted)");
}

TEST_CASE("36 paging: a durable subscriber offline while its backlog passes memoryUsage gets all of it, in order") {
  SmallAsanQuarantine small_quarantine;
  BrokerProcess broker(paging_config());
  const std::size_t baseline = rss_kib(broker.pid());
  {
    RawStomp sub(broker.port());
    sub.connect("1.2", {{"client-id", "app"}});
    sub.subscribe("/topic/news", "s1", "auto", {{"activemq.subscriptionName", "dur"}});
  }
  auto p = client(broker);
  const std::size_t peak = flood(broker, *p, "/topic/news");
  MESSAGE("broker RSS: baseline " << baseline << " KiB, peak " << peak << " KiB with an offline durable backlog");
  CHECK(peak < baseline + kMarginKiB);

  RawStomp sub(broker.port());
  sub.connect("1.2", {{"client-id", "app"}});
  sub.subscribe("/topic/news", "s1", "auto", {{"activemq.subscriptionName", "dur"}});
  drain_checked(sub);
}

TEST_CASE("36 paging: a slave pages the backlog as its master does, and after kill -9 of the master serves all of it in order") {
  SmallAsanQuarantine small_quarantine;
  PairSpec spec;
  spec.master_extra_xml = system_usage_xml();
  spec.slave_extra_xml = system_usage_xml();
  ReplicaPair pair(spec);
  pair.start_master();
  pair.start_slave();
  const std::size_t slave_baseline = rss_kib(pair.slave().pid());
  {
    RawStomp p(pair.master_stomp());
    p.connect();
    flood(pair.master(), p, "/queue/paired");  // its last receipt: the slave applied everything
  }
  const std::size_t slave_rss = rss_kib(pair.slave().pid());
  MESSAGE("slave RSS: " << slave_baseline << " KiB in sync with an empty master, " << slave_rss << " KiB with "
                        << kMessages << " x 1 KiB queued under a " << kLimitMiB << " MiB memoryUsage");
  CHECK(slave_rss < slave_baseline + kMarginKiB);

  const auto t0 = std::chrono::steady_clock::now();
  pair.master().kill(SIGKILL);
  auto took = pair.wait_takeover(t0, Ms(10'000));
  REQUIRE_MESSAGE(took.has_value(), pair.slave().log_tail());
  RawStomp c(pair.slave_stomp());
  c.connect();
  c.subscribe("/queue/paired", "s");
  drain_checked(c);
}
