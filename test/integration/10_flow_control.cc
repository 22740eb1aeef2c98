// 10 — slow consumers: the broker stops dispatching to a consumer whose output is
// full instead of buffering without bound; other consumers and producers go on.
#include <cstdlib>
#include <set>

#include "common.h"

// g++ 12 warns about designated initializers that leave members to their default
// member initializers (GCC bug 96868, fixed in 13); that is exactly the intent here.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace twinmq::test;

TEST_CASE("10 flow control: a consumer that falls behind and catches up gets every queued message") {
  BrokerProcess broker;
  constexpr int kMessages = 4000;
  const std::string payload(4096, 'c');  // 16 MiB: far past the broker's output watermark
  auto c = client(broker, "1.2");
  c->subscribe("/queue/catch-up", "s");
  auto p = client(broker, "1.2");
  std::string batch;
  for (int i = 0; i < kMessages; ++i) {
    batch += frame_bytes("SEND", {{"destination", "/queue/catch-up"}, {"seq", std::to_string(i)}}, payload);
  }
  REQUIRE(p->send_raw(batch, Ms(30'000)));
  p->request("SEND", {{"destination", "/topic/catch-up.done"}});  // every SEND above was accepted
  // Only now does the consumer read: it must get all of them, in order.
  for (int i = 0; i < kMessages; ++i) {
    auto m = c->next_frame(Ms(5000));
    REQUIRE_MESSAGE(m.has_value(), "delivery stopped after " << i << " of " << kMessages << " messages");
    REQUIRE(m->command == "MESSAGE");
    REQUIRE((*m)["seq"] == std::to_string(i));
  }
}

TEST_CASE("10 flow control: a queue subscriber that never reads does not hold back the other one") {
  BrokerProcess broker;
  constexpr int kMessages = 8000;
  // 32 MiB in all: 32x the broker's 1 MiB output watermark, and far more than the
  // slow one's share can reach (watermark + the kernel's socket buffers, a few MiB).
  const std::string payload(4096, 'q');

  // The slow one: a tiny receive buffer and never a read after SUBSCRIBE.
  RawStomp slow(broker.port(), {.receive_buffer = 4096});
  slow.connect("1.2");
  slow.subscribe("/queue/slow", "s");
  auto fast = client(broker, "1.2");
  fast->subscribe("/queue/slow", "s");

  auto p = client(broker, "1.2");
  std::string batch;
  for (int i = 0; i < kMessages; ++i) {
    KeyValues h{{"destination", "/queue/slow"}, {"seq", std::to_string(i)}};
    if (i % 100 == 99) h.emplace_back("receipt", "r" + std::to_string(i));
    batch += frame_bytes("SEND", h, payload);
    if (i % 100 == 99) {
      REQUIRE_MESSAGE(p->send_raw(batch), "the producer was blocked at message " << i);
      batch.clear();
      CHECK(p->expect("RECEIPT", Ms(10'000))["receipt-id"] == "r" + std::to_string(i));
    }
  }

  // The fast subscriber gets (nearly) everything: at most what fits in the slow one's
  // output buffer and socket went there. Without back-pressure it would get half.
  std::set<int> fast_seqs;
  auto take_fast = [&](Ms wait) {
    auto f = fast->next_frame(wait);
    if (!f) return;
    REQUIRE_MESSAGE(f->command == "MESSAGE", f->describe());
    CHECK_MESSAGE(fast_seqs.insert(std::stoi((*f)["seq"])).second, "duplicate " << f->describe());
  };
  // Bounded by progress: give up once nothing has arrived for 3 s.
  while (fast_seqs.size() < kMessages * 3 / 4) {
    const std::size_t before = fast_seqs.size();
    take_fast(Ms(3000));
    if (fast_seqs.size() == before) break;
  }
  INFO("fast subscriber got " << fast_seqs.size() << " of " << kMessages);
  REQUIRE(fast_seqs.size() >= kMessages * 3 / 4);

  // Now the slow one reads too: together they have every message exactly once.
  std::set<int> slow_seqs;
  auto last_progress = Clock::now();
  std::size_t seen = fast_seqs.size();
  while (fast_seqs.size() + slow_seqs.size() < kMessages && Clock::now() - last_progress < Ms(3000)) {
    if (fast_seqs.size() + slow_seqs.size() != seen) {
      seen = fast_seqs.size() + slow_seqs.size();
      last_progress = Clock::now();
    }
    take_fast(Ms(5));
    if (auto f = slow.next_frame(Ms(5))) {
      REQUIRE_MESSAGE(f->command == "MESSAGE", f->describe());
      const int seq = std::stoi((*f)["seq"]);
      CHECK_MESSAGE(!fast_seqs.contains(seq), "message " << seq << " delivered to both subscribers");
      CHECK_MESSAGE(slow_seqs.insert(seq).second, "duplicate " << f->describe());
    }
  }
  MESSAGE("queue shares: fast " << fast_seqs.size() << ", slow " << slow_seqs.size() << " of " << kMessages);
  CHECK(fast_seqs.size() + slow_seqs.size() == kMessages);
  CHECK(slow_seqs.size() < kMessages / 4);
}

TEST_CASE("10 flow control: broker memory stays bounded while a topic subscriber never reads") {
  BrokerConfig cfg;
  cfg.set("transport.maxPendingOutput", "4194304").topic("topicPendingLimit", "100");
  BrokerProcess broker(cfg, {}, Ms(10'000), {{"ASAN_OPTIONS", asan_options_small_quarantine()}});
  constexpr int kMessages = 3072;
  const std::string payload(64 << 10, 't');  // 192 MiB in all

  RawStomp slow(broker.port(), {.receive_buffer = 4096});
  slow.connect("1.2");
  slow.subscribe("/topic/flood", "s");
  auto p = client(broker, "1.2");
  p->send("/topic/flood", "warm-up");
  const std::size_t baseline = rss_kib(broker.pid());
  REQUIRE(baseline > 0);

  std::size_t peak = baseline;
  std::string batch;
  for (int i = 0; i < kMessages; ++i) {
    KeyValues h{{"destination", "/topic/flood"}};
    if (i % 16 == 15) h.emplace_back("receipt", "r" + std::to_string(i));
    batch += frame_bytes("SEND", h, payload);
    if (i % 16 == 15) {
      REQUIRE_MESSAGE(p->send_raw(batch), "the producer was blocked at message " << i);
      batch.clear();
      auto r = p->next_frame(Ms(10'000));
      REQUIRE_MESSAGE(r.has_value(), "no RECEIPT for message " << i << ": producer stalled ("
                                                                 << p->close_reason() << ")");
      REQUIRE_MESSAGE(r->command == "RECEIPT", r->describe());
      peak = std::max(peak, rss_kib(broker.pid()));
    }
  }
  MESSAGE("broker RSS: baseline " << baseline << " KiB, peak " << peak << " KiB after "
                                  << (kMessages * payload.size() >> 20) << " MiB sent");
  CHECK_MESSAGE(peak - baseline < 64 * 1024, "broker RSS grew by " << (peak - baseline) << " KiB");

  // The broker still serves everyone else.
  auto fresh = client(broker, "1.2");
  fresh->subscribe("/topic/flood", "f");
  p->send("/topic/flood", "after the flood");
  CHECK(fresh->message(Ms(10'000)).body == "after the flood");
}
