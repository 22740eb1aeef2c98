// 29 — memory and store limits (systemUsage, policyEntry memoryLimit): a producer to a
// full destination waits while everyone else carries on, resumes when a consumer
// drains, gets an ERROR with sendFailIfNoSpace(AfterTimeout); persistent SENDs wait at
// storeUsage; a producer without receipts cannot push the broker past its limit; and
// `twinmq status` shows what is used of what.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "common.h"
#include "replication_support.h"
#include "support/raw_http.h"

using namespace twinmq::test;

namespace {

const std::string kKiB(1024, 'm');

std::string system_usage(const std::string& attributes, const std::string& memory_limit,
                         const std::string& store_limit = "") {
  std::string x = "  <systemUsage><systemUsage" + attributes + ">\n";
  if (!memory_limit.empty()) x += "    <memoryUsage><memoryUsage limit=\"" + memory_limit + "\"/></memoryUsage>\n";
  if (!store_limit.empty()) x += "    <storeUsage><storeUsage limit=\"" + store_limit + "\"/></storeUsage>\n";
  return x + "  </systemUsage></systemUsage>\n";
}

// `twinmq status` of a running broker (empty if it failed).
std::string status_of(BrokerProcess& broker) {
  auto p = BrokerProcess::spawn({"status", "--config", broker.config_file().string()});
  auto e = p->wait_exit(Ms(10'000));
  p->wait_output_eof(Ms(2000));
  if (!e || e->code != 0) return "";
  return p->stdout_text();
}

// The status line of one destination ("" if none).
std::string destination_line(const std::string& status, const std::string& name) {
  const std::string key = "destination " + name + ":";
  const auto at = status.find(key);
  if (at == std::string::npos) return "";
  return status.substr(at, status.find('\n', at) - at);
}

// The number before " waiting" in a destination's status line.
long waiting_in(const std::string& line) {
  const auto end = line.find(" waiting");
  if (end == std::string::npos) return -1;
  auto start = line.rfind(' ', end - 1);
  return std::stol(line.substr(start + 1, end - start - 1));
}

// Sends `n` SENDs to `destination`, each with receipt "r<i>", in one write.
void pipeline_sends(RawStomp& p, const std::string& destination, int n, const std::string& body,
                    const KeyValues& extra = {}) {
  std::string batch;
  for (int i = 0; i < n; ++i) {
    KeyValues h{{"destination", destination}, {"seq", std::to_string(i)}, {"receipt", "r" + std::to_string(i)}};
    h.insert(h.end(), extra.begin(), extra.end());
    batch += frame_bytes("SEND", h, body);
  }
  REQUIRE(p.send_raw(batch));
}

}  // namespace

TEST_CASE("29 memory limits: a producer to a full queue waits; other producers and consumers carry on; a consumer draining it lets it finish") {
  BrokerConfig cfg;
  cfg.queue("memoryLimit", "64 kb");
  BrokerProcess broker(cfg);
  constexpr int kMessages = 200;  // about three times what 64 kb holds

  auto full = client(broker);
  pipeline_sends(*full, "/queue/full", kMessages, kKiB);
  REQUIRE_MESSAGE(broker.wait_for_output("waits for room (producer flow control)", Ms(10'000), true),
                  broker.log_tail());

  // Another producer and its consumer are not held back.
  auto other = client(broker);
  auto consumer = client(broker);
  consumer->subscribe("/queue/other", "s");
  other->send("/queue/other", "still moving");
  CHECK(consumer->message()["destination"] == "/queue/other");

  const std::string status = status_of(broker);
  INFO(status);
  const std::string line = destination_line(status, "/queue/full");
  REQUIRE_FALSE(line.empty());
  CHECK(line.find("of 0.1 MiB") != std::string::npos);  // 64 kb shown as its limit
  const long queued = waiting_in(line);
  CHECK(queued > 0);
  CHECK(queued < kMessages);
  CHECK(status.find("1 producer connection(s) waiting for room") != std::string::npos);

  // A consumer drains the queue: every message arrives, in order, and every SEND is receipted.
  auto drain = client(broker);
  drain->subscribe("/queue/full", "d");
  for (int i = 0; i < kMessages; ++i) {
    auto m = drain->message(Ms(10'000));
    REQUIRE(m["seq"] == std::to_string(i));
  }
  std::set<std::string> receipts;
  while (receipts.size() < kMessages) {
    auto f = full->next_frame(Ms(10'000));
    REQUIRE_MESSAGE(f.has_value(), "receipts stopped at " << receipts.size());
    REQUIRE(f->command == "RECEIPT");
    receipts.insert((*f)["receipt-id"]);
  }
}

TEST_CASE("29 memory limits: a connection that both produces to a full queue and consumes from it does not deadlock: its ACKs pass the waiting SEND") {
  BrokerConfig cfg;
  cfg.queue("memoryLimit", "16 kb");
  BrokerProcess broker(cfg);
  auto c = client(broker);
  c->subscribe("/queue/loop", "s", "client-individual", {{"activemq.prefetchSize", "1000"}});
  constexpr int kMessages = 40;  // more than 16 kb holds while nothing is acknowledged
  pipeline_sends(*c, "/queue/loop", kMessages, kKiB);
  REQUIRE(broker.wait_for_output("waits for room (producer flow control)", Ms(10'000), true));

  // Acknowledge what arrives, on the same connection: each ACK makes room, so every
  // SEND is eventually receipted and every message delivered.
  int messages = 0;
  std::set<std::string> receipts;
  while (messages < kMessages || receipts.size() < kMessages) {
    auto f = c->next_frame(Ms(10'000));
    REQUIRE_MESSAGE(f.has_value(), "stuck after " << messages << " messages and " << receipts.size() << " receipts");
    if (f->command == "MESSAGE") {
      ++messages;
      c->send_frame("ACK", {{"id", (*f)["ack"]}});
    } else {
      REQUIRE_MESSAGE(f->command == "RECEIPT", f->describe());
      receipts.insert((*f)["receipt-id"]);
    }
  }
}

TEST_CASE("29 memory limits: sendFailIfNoSpace answers a SEND that finds no room with an ERROR naming the limit") {
  BrokerConfig cfg;
  cfg.extra_xml = system_usage(" sendFailIfNoSpace=\"true\"", "32 kb");
  BrokerProcess broker(cfg);
  auto p = client(broker);
  int accepted = 0;
  std::optional<ReceivedFrame> error;
  for (int i = 0; i < 100 && !error; ++i) {
    p->send_frame("SEND", {{"destination", "/queue/a"}, {"receipt", "r" + std::to_string(i)}}, kKiB);
    auto f = p->next_frame(Ms(10'000));
    REQUIRE(f.has_value());
    if (f->command == "RECEIPT") ++accepted;
    else error = f;
  }
  CHECK(accepted > 10);
  check_error(error, "memory limit reached", {"memoryUsage", "MiB used of", "sendFailIfNoSpace"});
  CHECK((*error)["receipt-id"] == "r" + std::to_string(accepted));
  CHECK(p->wait_closed());
  // What was accepted stays; other connections carry on.
  auto c = client(broker);
  c->subscribe("/queue/a", "s");
  CHECK(c->messages(static_cast<std::size_t>(accepted)).size() == static_cast<std::size_t>(accepted));
}

TEST_CASE("29 memory limits: sendFailIfNoSpaceAfterTimeout answers with the ERROR after waiting that long") {
  BrokerConfig cfg;
  cfg.extra_xml = system_usage(" sendFailIfNoSpaceAfterTimeout=\"300\"", "32 kb");
  BrokerProcess broker(cfg);
  auto p = client(broker);
  pipeline_sends(*p, "/queue/a", 100, kKiB);
  std::optional<ReceivedFrame> error;
  int receipts = 0;
  while (!error) {
    auto f = p->next_frame(Ms(10'000));
    REQUIRE_MESSAGE(f.has_value(), "no ERROR after " << receipts << " receipts");
    if (f->command == "RECEIPT") ++receipts;
    else error = f;
  }
  check_error(error, "memory limit reached", {"sendFailIfNoSpaceAfterTimeout", "waited"});
  CHECK((*error)["receipt-id"] == "r" + std::to_string(receipts));
}

TEST_CASE("29 memory limits: at storeUsage persistent SENDs wait while non-persistent ones and consumers go on; consuming frees the store") {
  BrokerConfig cfg;
  cfg.persistent = true;
  cfg.extra_xml = system_usage("", "", "64 kb");
  BrokerProcess broker(cfg);
  constexpr int kMessages = 150;
  auto p = client(broker);
  pipeline_sends(*p, "/queue/stored", kMessages, kKiB, {{"persistent", "true"}});
  REQUIRE_MESSAGE(broker.wait_for_output("waits for room (producer flow control)", Ms(10'000), true),
                  broker.log_tail());
  CHECK(broker.wait_for_output("storeUsage", Ms(5000), true));

  auto np = client(broker);
  np->send("/queue/stored", "not persistent");  // memory has room, and it is not stored

  auto c = client(broker);
  c->subscribe("/queue/stored", "s");
  int persistent_seen = 0;
  for (int i = 0; i < kMessages + 1; ++i) {
    auto m = c->message(Ms(10'000));
    if (m["persistent"] == "true") {
      CHECK(m["seq"] == std::to_string(persistent_seen));
      ++persistent_seen;
    }
  }
  CHECK(persistent_seen == kMessages);
  std::set<std::string> receipts;
  while (receipts.size() < kMessages) {
    auto f = p->next_frame(Ms(10'000));
    REQUIRE_MESSAGE(f.has_value(), "receipts stopped at " << receipts.size());
    REQUIRE(f->command == "RECEIPT");
    receipts.insert((*f)["receipt-id"]);
  }
}

TEST_CASE("29 memory limits: a producer without receipts cannot push the broker past its memory limit, and nothing is lost") {
  BrokerConfig cfg;
  cfg.extra_xml = system_usage("", "8 mb");
  BrokerProcess broker(cfg);
  const std::size_t baseline_kib = rss_kib(broker.pid());
  REQUIRE(baseline_kib > 0);
  constexpr int kMessages = 40'000;  // 40 MiB of bodies: five times the limit

  auto p = client(broker);
  std::atomic<bool> sent_all{false};
  std::atomic<bool> write_failed{false};
  std::thread producer([&] {
    std::string batch;
    for (int i = 0; i < kMessages; ++i) {
      batch += frame_bytes("SEND", {{"destination", "/queue/flood"}, {"seq", std::to_string(i)}}, kKiB);
      if (batch.size() > (256u << 10) || i + 1 == kMessages) {
        if (!p->send_raw(batch, Ms(120'000))) {
          write_failed = true;
          return;
        }
        batch.clear();
      }
    }
    sent_all = true;
  });

  REQUIRE_MESSAGE(broker.wait_for_output("waits for room (producer flow control)", Ms(60'000), true),
                  broker.log_tail());
  // While the producer is held back, RSS stays near the limit (sampled several times;
  // the bound is generous: the limit counts messages, RSS also has buffers and the heap's slack).
  std::size_t peak_kib = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string status = status_of(broker);
    INFO(status);
    CHECK(status.find("waiting for room") != std::string::npos);
    peak_kib = std::max(peak_kib, rss_kib(broker.pid()));
  }
  INFO("baseline " << baseline_kib << " KiB, peak " << peak_kib << " KiB");
  CHECK(peak_kib < baseline_kib + 3 * 8 * 1024 + 16 * 1024);
  CHECK_FALSE(sent_all.load());

  auto c = client(broker);
  c->subscribe("/queue/flood", "s");
  for (int i = 0; i < kMessages; ++i) {
    auto m = c->next_frame(Ms(30'000));
    REQUIRE_MESSAGE(m.has_value(), "delivery stopped at " << i);
    REQUIRE(m->command == "MESSAGE");
    REQUIRE((*m)["seq"] == std::to_string(i));
  }
  producer.join();
  CHECK(sent_all.load());
  CHECK_FALSE(write_failed.load());
}

TEST_CASE("29 memory limits: twinmq status shows memory and store used of their limits, in total and per destination") {
  BrokerConfig cfg;
  cfg.persistent = true;
  cfg.queue("memoryLimit", "1 mb");
  cfg.extra_xml = system_usage("", "64 mb", "1 gb");
  BrokerProcess broker(cfg);
  auto p = client(broker);
  for (int i = 0; i < 10; ++i) p->send("/queue/shown", kKiB, {{"persistent", "true"}});
  const std::string status = status_of(broker);
  INFO(status);
  CHECK(status.find("memory: 0.0 MiB of 64.0 MiB (0%) used (memoryUsage)") != std::string::npos);
  CHECK(status.find("store: ") != std::string::npos);
  CHECK(status.find("of 1024.0 MiB (0%) live in the journal (storeUsage)") != std::string::npos);
  const std::string line = destination_line(status, "/queue/shown");
  CHECK(line.find("of 1.0 MiB (1%), 10 waiting, 0 in flight") != std::string::npos);
}

TEST_CASE("29 held receipts: a producer pipelining receipted SENDs is not read past 4,096 waiting receipts") {
  PairSpec spec;
  spec.link_timeout_ms = 15'000;  // the frozen link must not drop the slave meanwhile
  ReplicaPair pair(spec);
  pair.start_master();
  LinkProxy link(pair.replication_port());
  pair.start_slave("slave", link.port());
  link.freeze();  // receipts now wait for the slave
  constexpr int kSends = 6000;
  RawStomp producer(pair.master_stomp());
  producer.connect();
  // Written from a thread: once the broker stops reading, the socket fills and a write blocks.
  std::thread writer([&] {
    for (int i = 0; i < kSends; ++i)
      producer.send_frame("SEND", {{"destination", "/queue/held"}, {"persistent", "true"},
                                   {"receipt", "r" + std::to_string(i)}},
                          "m" + std::to_string(i));
  });
  const bool paused = pair.master().wait_for_output("[event=receipts_held]", Ms(30'000), true);
  const std::string status = pair.status(pair.master_config());
  link.thaw();
  writer.join();
  REQUIRE_MESSAGE(paused, pair.master().log_tail());
  // While it was paused the broker had taken about 4,096 SENDs (plus what one read
  // brought), not all 6,000.
  const auto at = status.find("last seq: ");
  REQUIRE(at != std::string::npos);
  const long last = std::stol(status.substr(at + 10));
  CHECK(last >= 4096);
  CHECK_MESSAGE(last < kSends, status);
  // Healed, every SEND is taken and confirmed, in order; nothing was refused.
  for (int i = 0; i < kSends; ++i) {
    const auto f = producer.next_frame(Ms(30'000));
    REQUIRE(f.has_value());
    REQUIRE_MESSAGE(f->command == "RECEIPT", f->command << " " << f->body);
    REQUIRE(f->header("receipt-id") == "r" + std::to_string(i));
  }
  CHECK(bodies_of(drain(pair.master_stomp(), "/queue/held", kSends)).size() == kSends);
}

TEST_CASE("29 inactive destinations: an idle temporary queue is removed (gcInactiveDestinations), for good") {
  BrokerConfig cfg;
  cfg.persistent = true;
  cfg.queue("gcInactiveDestinations", "true").queue("inactiveTimoutBeforeGC", "1000");
  BrokerProcess broker(cfg);
  {
    RawStomp c(broker.port());
    c.connect();
    c.send("/temp-queue/reply-7", "answer");
    c.subscribe("/temp-queue/reply-7", "1");
    CHECK(c.message().body == "answer");
    c.send("/queue/kept", "still queued");
  }  // the consumer goes with its connection
  CHECK_MESSAGE(broker.wait_for_output("[event=destination_removed] /temp-queue/reply-7 removed", Ms(15'000), true),
                broker.log_tail());
  // Removed for good (the removal is journaled), and only the idle one.
  broker.kill(SIGTERM);
  REQUIRE(broker.wait_exit(Ms(10'000)).has_value());
  CHECK(broker.log_text().find("/queue/kept removed") == std::string::npos);
  auto again = BrokerProcess::spawn({"--config", broker.config_file().string()});
  REQUIRE_MESSAGE(again->wait_listening("stomp", Ms(10'000)), again->log_tail());
  const std::string status = status_of(broker);  // its configuration: the running `again`
  CHECK_MESSAGE(status.find("destination /queue/kept:") != std::string::npos, status);
  CHECK_MESSAGE(status.find("reply-7") == std::string::npos, status);
}

TEST_CASE("29 memory limits: /metrics shows memory and store used against their limits, in bytes, in total and per destination") {
  BrokerConfig cfg;
  cfg.persistent = true;
  cfg.admin = true;
  cfg.queue("memoryLimit", "1 mb");
  cfg.extra_xml = system_usage("", "64 mb", "1 gb");
  BrokerProcess broker(cfg);
  REQUIRE(broker.wait_listening("admin", Ms(10'000)));
  auto p = client(broker);
  for (int i = 0; i < 10; ++i) p->send("/queue/metered", kKiB, {{"persistent", "true"}});
  p->sync();
  const auto r = http_get(broker.port("admin"), "/metrics");
  REQUIRE(r.has_value());
  REQUIRE(r->status == 200);
  const std::string& m = r->body;
  INFO(m);
  // A value after the name: "<name> <number>\n", the number parsed.
  auto value = [&](const std::string& series) -> double {
    const auto at = m.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(m.substr(at + series.size() + 2));
  };
  CHECK(value("twinmq_memory_limit_bytes") == 64.0 * 1024 * 1024);
  CHECK(value("twinmq_store_limit_bytes") == 1024.0 * 1024 * 1024);
  // Ten 1 KiB bodies are held in memory and live in the journal.
  CHECK(value("twinmq_memory_used_bytes") >= 10 * 1024);
  CHECK(value("twinmq_store_live_bytes") >= 10 * 1024);
  CHECK(value("twinmq_producers_waiting") == 0);
  const std::string labels = "{destination=\"/queue/metered\",kind=\"queue\"}";
  CHECK(value("twinmq_destination_memory_used_bytes" + labels) >= 10 * 1024);
  CHECK(value("twinmq_destination_memory_limit_bytes" + labels) == 1024.0 * 1024);

  // Prometheus's own linter (Debian's prometheus package) accepts the families.
  TempDir dir("promtool");
  const auto file = dir.write_file("metrics.txt", m);
  const std::string out = (dir / "promtool.out").string();
  const int rc = std::system(("promtool check metrics <'" + file.string() + "' >'" + out + "' 2>&1").c_str());
  std::ifstream said(out);
  const std::string text((std::istreambuf_iterator<char>(said)), std::istreambuf_iterator<char>());
  CHECK_MESSAGE(rc == 0, "promtool check metrics: " << text);
  CHECK_MESSAGE(text.empty(), "promtool check metrics: " << text);
}
