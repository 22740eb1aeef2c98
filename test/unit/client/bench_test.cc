// twinmq-bench internals: the latency histogram, the verifier, option parsing and
// the report; then whole runs against the in-process FakeBroker.
#include <doctest.h>

#include <set>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fake_broker.h"
#include "tools/bench/latency_histogram.h"
#include "tools/bench/options.h"
#include "tools/bench/report.h"
#include "tools/bench/runner.h"
#include "tools/bench/verifier.h"

using namespace twinmq;
using namespace twinmq::bench;

// --- LatencyHistogram --------------------------------------------------------------

TEST_CASE("histogram: small values are exact, large ones within 1/128") {
  for (std::uint64_t v : {0ull, 1ull, 2ull, 255ull}) {
    CHECK(LatencyHistogram::highest_in_bucket(LatencyHistogram::index_of(v)) == v);
  }
  std::uint64_t prev_index = 0;
  for (std::uint64_t v = 256; v < (1ull << 40); v = v + v / 7 + 1) {
    const std::size_t i = LatencyHistogram::index_of(v);
    CHECK(i < LatencyHistogram::kCounters);
    CHECK(i >= prev_index);  // monotonic
    prev_index = i;
    const std::uint64_t hi = LatencyHistogram::highest_in_bucket(i);
    CHECK(hi >= v);
    CHECK(static_cast<double>(hi - v) <= static_cast<double>(v) / 128.0);
  }
  CHECK(LatencyHistogram::index_of(~0ull) == LatencyHistogram::kCounters - 1);
}

TEST_CASE("histogram: percentiles, max, merge, empty") {
  LatencyHistogram h;
  CHECK(h.percentile(99) == 0);
  for (std::uint64_t v = 1; v <= 10000; ++v) h.record(v * 1000);  // 1 us .. 10 ms
  CHECK(h.count() == 10000);
  CHECK(h.max() == 10'000'000);
  CHECK(h.min() == 1000);
  auto near = [](std::uint64_t got, double want) {
    return static_cast<double>(got) >= want && static_cast<double>(got) <= want * (1 + 1.0 / 128);
  };
  CHECK(near(h.percentile(50), 5'000'000));
  CHECK(near(h.percentile(99), 9'900'000));
  CHECK(near(h.percentile(99.9), 9'990'000));
  CHECK(h.percentile(100) == 10'000'000);  // capped at the max recorded

  LatencyHistogram other;
  other.record(50'000'000);
  h.merge(other);
  CHECK(h.count() == 10001);
  CHECK(h.max() == 50'000'000);
  CHECK(h.percentile(100) == 50'000'000);
}

// --- Verifier ------------------------------------------------------------------------

TEST_CASE("verifier: a queue shared by two consumers, in order, nothing lost") {
  Verifier v(Verifier::Mode::queue);
  const auto a = v.add_consumer(), b = v.add_consumer();
  for (std::uint64_t s = 0; s < 100; ++s) v.record(s % 3 ? a : b, 0, s);
  const std::uint64_t sent[] = {100};
  auto c = v.counts(sent);
  CHECK(c.received == 100);
  CHECK(c.lost == 0);
  CHECK(c.duplicates == 0);
  CHECK(c.out_of_order == 0);
}

TEST_CASE("verifier: loss, duplicates across and within consumers, disorder") {
  Verifier v(Verifier::Mode::queue);
  const auto a = v.add_consumer(), b = v.add_consumer();
  v.record(a, 0, 0);
  v.record(a, 0, 2);
  v.record(a, 0, 1);  // below the highest seen: out of order
  v.record(a, 0, 2);  // twice at one consumer
  v.record(b, 0, 0);  // also at another consumer
  v.record(b, 1, 0);
  const std::uint64_t sent[] = {5, 2};  // producer 0: 3 and 4 lost; producer 1: 1 lost
  auto c = v.counts(sent);
  CHECK(c.received == 6);
  CHECK(c.lost == 3);
  CHECK(c.duplicates == 2);
  CHECK(c.out_of_order == 1);
}

TEST_CASE("verifier: on a topic every consumer must get everything; adopt merges workers") {
  Verifier w1(Verifier::Mode::topic), w2(Verifier::Mode::topic);
  const auto a = w1.add_consumer();
  const auto b = w2.add_consumer();
  for (std::uint64_t s = 0; s < 10; ++s) w1.record(a, 0, s);
  for (std::uint64_t s = 0; s < 10; s += 2) w2.record(b, 0, s);
  w1.adopt(std::move(w2));
  const std::uint64_t sent[] = {10};
  auto c = w1.counts(sent);
  CHECK(c.received == 15);
  CHECK(c.lost == 5);
  CHECK(c.duplicates == 0);
}

TEST_CASE("verifier: without known send counts, holes below the highest seen are lost") {
  Verifier v(Verifier::Mode::queue);
  const auto a = v.add_consumer();
  for (std::uint64_t s : {0, 1, 2, 5, 6, 63, 64, 130}) v.record(a, 3, s);
  auto c = v.counts({});
  CHECK(c.lost == 131 - 8);
}

// --- Options -------------------------------------------------------------------------

namespace {
Result<BenchOptions> parse(std::vector<std::string> args) { return parse_options(args); }
}  // namespace

TEST_CASE("options: defaults, both spellings, derived values") {
  auto o = parse({});
  REQUIRE(o);
  CHECK(o->destination == "/queue/bench");
  CHECK(o->size == 1024);
  CHECK(o->threads == 2);  // producers and consumers: one loop each
  o = parse({"--producers", "3", "--consumers=0", "--size=10", "--persistent", "--ack", "client"});
  REQUIRE(o);
  CHECK(o->producers == 3);
  CHECK(o->consumers == 0);
  CHECK(o->threads == 1);
  CHECK(o->persistent);
  CHECK(o->ack == client::AckMode::client);
  CHECK(scenario_name(*o) == "queue-3p-persistent");
  o = parse({"--fill", "--destination", "/topic/t"});
  REQUIRE(o);
  CHECK(o->consumers == 0);
  CHECK(o->topic());
  o = parse({"--drain"});
  REQUIRE(o);
  CHECK(o->producers == 0);
  CHECK(o->count == 0);  // until quiet
  o = parse({"--idle-connections", "5000"});
  REQUIRE(o);
  CHECK(o->idle_mode());
  CHECK(o->hold_s < 0);
  CHECK(describe(*o).find("idle-connections=5000") != std::string::npos);
  CHECK(parse({"--help"})->help);
}

TEST_CASE("options: every error names the option at fault") {
  struct Case {
    std::vector<std::string> args;
    const char* names;
  } cases[] = {
      {{"--prodcers", "2"}, "did you mean --producers?"},
      {{"--size", "big"}, "--size: 'big' is not a non-negative integer"},
      {{"--port", "70000"}, "--port: 70000 is above the maximum 65535"},
      {{"--count"}, "--count needs a value"},
      {{"--ack", "sometimes"}, "--ack: 'sometimes'"},
      {{"--persistent=yes"}, "--persistent takes no value"},
      {{"--tx", "5", "--receipt-every", "2"}, "--tx and --receipt-every"},
      {{"--count", "5", "--duration", "3"}, "--count or --duration"},
      {{"--fill", "--consumers", "2"}, "--fill runs no consumers"},
      {{"--idle-connections", "5", "--producers", "1"}, "drop --producers"},
      {{"--hold", "5"}, "--hold applies only with --idle-connections"},
      {{"--destination", "bench"}, "must start with /queue/ or /topic/"},
      {{"--warmup", "10", "--count", "10"}, "--warmup 10 leaves nothing"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"--rate", "-5"}, "--rate: '-5' is not a non-negative number"},
  };
  for (const Case& c : cases) {
    auto o = parse(c.args);
    CAPTURE(c.names);
    REQUIRE_FALSE(o);
    CHECK(o.error().message.find(c.names) != std::string::npos);
  }
}

TEST_CASE("report: summary keys, exit status") {
  auto o = parse({"--destination", "/topic/x", "--consumers", "10", "--verify"});
  REQUIRE(o);
  RunResult r;
  r.name = "t";
  r.sent = 10;
  r.delivered = 100;
  r.elapsed_s = 0.5;
  r.rate = 200;
  r.verified = true;
  r.latency.record(42'000);
  const std::string line = summary_line(*o, r);
  for (const char* key : {"scenario=t ", "sent=10 ", "received=100 ", "elapsed=0.500s ", "rate=200 deliveries/s",
                          "p50=42.", "p99=", "p999=", "max=", "lost=0 ", "dup=0 ", "ooo=0 ", "cpu(bench)="}) {
    CHECK_MESSAGE(line.find(key) != std::string::npos, key, " in ", line);
  }
  CHECK(line.find("receipt_p50=") == std::string::npos);  // no receipt was asked
  r.receipt_latency.record(180'000);
  const std::string with_receipts = summary_line(*o, r);
  CHECK_MESSAGE(with_receipts.find("receipt_p50=180.") != std::string::npos, with_receipts);
  CHECK(exit_code(*o, r) == 0);
  r.out_of_order = 1;
  CHECK(exit_code(*o, r) == 1);  // --verify: disorder fails the run
  r.out_of_order = 0;
  r.lost = 1;
  CHECK(exit_code(*o, r) == 1);
  r.lost = 0;
  r.error = "broken";
  CHECK(exit_code(*o, r) == 1);
}

// --- Whole runs against the FakeBroker ----------------------------------------------

namespace {

RunResult run_against(const twinmq::test::FakeBroker& b, std::vector<std::string> args) {
  args.push_back("--port");
  args.push_back(std::to_string(b.port()));
  auto o = parse(args);
  REQUIRE_MESSAGE(o.has_value(), (o ? "" : o.error().message));
  return run_scenario(*o);
}

}  // namespace

TEST_CASE("run: 1 producer, 1 consumer, queue, verified") {
  twinmq::test::FakeBroker b;
  std::vector<std::string> extra;
  SUBCASE("flat out, one thread") { extra = {"--threads", "1"}; }
  SUBCASE("flat out, two threads, client acks") { extra = {"--ack", "client"}; }
  SUBCASE("receipt window") { extra = {"--receipt-every", "7"}; }
  SUBCASE("transactions") { extra = {"--tx", "9", "--ack", "client-individual"}; }
  SUBCASE("fixed rate with warm-up") { extra = {"--rate", "20000", "--warmup", "100"}; }
  std::vector<std::string> args = {"--count", "1000", "--size", "100", "--verify"};
  args.insert(args.end(), extra.begin(), extra.end());
  CAPTURE(args.back());
  RunResult r = run_against(b, args);
  CHECK(r.error.empty());
  CHECK(r.sent == 1000);
  CHECK(r.delivered == 1000);
  CHECK(r.lost == 0);
  CHECK(r.duplicates == 0);
  CHECK(r.out_of_order == 0);
  CHECK(r.rate > 0);
  CHECK(r.latency.count() > 0);
  CHECK(b.frames(stomp::Command::disconnect).size() == 2);  // both ended cleanly
}

TEST_CASE("run: --dupl-id gives every SEND its own _AMQ_DUPL_ID") {
  twinmq::test::FakeBroker b;
  RunResult r = run_against(b, {"--count", "200", "--size", "10", "--producers", "2", "--consumers", "0",
                                "--receipt-every", "50", "--dupl-id"});
  CHECK(r.error.empty());
  CHECK(r.sent == 400);
  std::set<std::string> ids;
  for (const auto& f : b.frames(stomp::Command::send)) {
    auto id = f.header(client::kDuplicateIdHeader);
    REQUIRE(id.has_value());
    ids.emplace(*id);
  }
  CHECK(ids.size() == 400);
  auto o = parse({"--dupl-id"});
  REQUIRE(o);
  CHECK(scenario_name(*o) == "queue-1p-1c-duplid");
  CHECK(describe(*o).find("dupl-id=true") != std::string::npos);
}

TEST_CASE("run: topic fan-out to 3 consumers, 2 producers") {
  twinmq::test::FakeBroker b;
  RunResult r = run_against(b, {"--destination", "/topic/fan", "--producers", "2", "--consumers", "3",
                                "--count", "500", "--verify", "--threads", "3"});
  CHECK(r.error.empty());
  CHECK(r.sent == 1000);
  CHECK(r.delivered == 3000);
  CHECK(r.lost == 0);
  CHECK(r.duplicates == 0);
}

TEST_CASE("run: idle connections connect, report, and close") {
  twinmq::test::FakeBroker b;
  RunResult r = run_against(b, {"--idle-connections", "300", "--hold", "0"});
  CHECK(r.error.empty());
  CHECK(r.idle_mode);
  CHECK(r.idle_connected == 300);
  CHECK(b.connections_accepted() == 300);
}

TEST_CASE("run: nothing listening is an error, not a hang") {
  twinmq::test::FakeBroker b;  // only to have a harmless object of the same shape
  auto o = parse({"--port", std::to_string(twinmq::test::closed_port()), "--count", "10"});
  REQUIRE(o);
  RunResult r = run_scenario(*o);
  CHECK_FALSE(r.error.empty());
  CHECK(exit_code(*o, r) == 1);
}

TEST_CASE("run: a SUBSCRIBE that is never receipted fails the set-up in bounded time") {
  twinmq::test::FakeBroker b({.answer_subscribe = false});
  RunResult r = run_against(b, {"--count", "10", "--connect-timeout", "100", "--drain-timeout", "100"});
  CHECK(r.error.find("not every producer connected and consumer subscribed") != std::string::npos);
}

TEST_CASE("run: an ERROR from the broker fails the run with its message") {
  twinmq::test::FakeBroker b;
  RunResult r = run_against(b, {"--destination", "/queue/error", "--count", "10", "--threads", "1"});
  CHECK(r.error.find("destination refused") != std::string::npos);
}

TEST_CASE("run: --json writes the result") {
  twinmq::test::FakeBroker b;
  const std::string path = "unit_client_bench.json";
  RunResult r = run_against(b, {"--count", "50"});
  REQUIRE(r.error.empty());
  auto o = parse({"--count", "50"});
  REQUIRE(write_json(path, *o, r));
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  CHECK(text.str().find("\"received\": 50") != std::string::npos);
  CHECK(text.str().find("\"ok\": true") != std::string::npos);
  std::remove(path.c_str());
}
