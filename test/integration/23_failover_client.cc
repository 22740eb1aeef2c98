// 23 — the C++ FailoverClient (twinmq/failover.h) against a real master/slave pair:
// the master is killed (-9, by pid) while a producer and a consumer work; both carry
// on against the slave without the test reconnecting anything. Every message the
// producer had confirmed arrives; a duplicate is either a redelivery (flagged) or the
// send that was in flight at the kill (re-sent: at-least-once). Plus the ways a
// failover client gives up: maxReconnectAttempts and timeout.
//
// The URIs add `timeout=20000` to the example so that no wait in this file is
// unbounded even if the slave never took over.
#include <signal.h>

#include <cstdio>
#include <map>
#include <set>
#include <twinmq/failover.h>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;
namespace tc = twinmq::client;

namespace {

std::string pair_uri(std::uint16_t master, std::uint16_t slave, std::string_view extra = "") {
  return "failover:(tcp://127.0.0.1:" + std::to_string(master) + ",tcp://127.0.0.1:" + std::to_string(slave) +
         ")?randomize=false&initialReconnectDelay=10&timeout=20000" + std::string(extra);
}

struct Log {
  std::vector<tc::FailoverEvent> events;
  tc::FailoverListener listener() {
    return [this](const tc::FailoverEvent& e) { events.push_back(e); };
  }
  std::size_t count(tc::FailoverEventKind k) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.kind == k; }));
  }
  std::size_t resent() const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == tc::FailoverEventKind::reconnected ? e.resent : 0;
    return n;
  }
  std::string text() const {
    std::string out;
    for (const auto& e : events) out += "\n  " + tc::describe(e);
    return out;
  }
};

tc::FailoverClient connect_failover(const std::string& uri, Log& log) {
  auto c = tc::FailoverClient::connect(uri, {.timeout = Ms(5000)}, log.listener());
  if (!c) throw StompFailure("FailoverClient::connect: " + c.error().message);
  return std::move(*c);
}

tc::Errc code_of(const twinmq::Error& e) { return static_cast<tc::Errc>(e.code); }

}  // namespace

TEST_CASE("23 failover client: producer and consumer carry on against the slave after kill -9 of the master") {
  ReplicaPair pair;
  pair.start_master();
  pair.start_slave();
  const std::string uri = pair_uri(pair.master_stomp(), pair.slave_stomp());
  const std::string queue = "/queue/fo23";
  Log plog, clog;
  auto producer = connect_failover(uri, plog);
  auto consumer = connect_failover(uri, clog);
  REQUIRE(consumer.subscribe(queue, "sub-1", tc::AckMode::client_individual,
                             {{"activemq.prefetchSize", "1000"}}).has_value());

  std::vector<std::string> sent;      // every body send() returned ok for
  std::set<std::string> in_flight;    // bodies whose send() spanned a failover
  std::set<std::string> burst;        // sent without waiting for the receipt: may be re-sent
  std::multimap<std::string, bool> got;  // body -> redelivered
  auto take = [&](Ms wait) {
    while (auto m = consumer.receive(wait)) {
      got.emplace(m->body, m->redelivered);
      auto acked = consumer.ack(*m);
      REQUIRE_MESSAGE(acked.has_value(), acked.error().message);
      wait = Ms(0);
    }
  };
  auto produce = [&](int from, int to, bool receipt) {
    for (int i = from; i < to; ++i) {
      const std::string body = "m-" + std::to_string(i);
      const auto lost_before = plog.count(tc::FailoverEventKind::connection_lost);
      auto r = producer.send(queue, body, {.persistent = true, .receipt = receipt});
      REQUIRE_MESSAGE(r.has_value(), "send " << body << ": " << r.error().message << plog.text());
      if (plog.count(tc::FailoverEventKind::connection_lost) != lost_before) in_flight.insert(body);
      sent.push_back(body);
      if (!receipt) burst.insert(body);
      if (receipt) take(Ms(0));
    }
  };

  produce(0, 40, true);
  // A burst the master has not confirmed yet when it dies: the producer holds these
  // until their receipts come, and re-sends those that did not.
  produce(40, 60, false);
  const std::size_t unconfirmed_at_kill = producer.unconfirmed_sends();
  pair.master().kill(SIGKILL);
  produce(60, 100, true);  // the first of these notices the loss and fails over
  CHECK(producer.broker() == "tcp://127.0.0.1:" + std::to_string(pair.slave_stomp()));
  REQUIRE(producer.disconnect().has_value());  // its receipt confirms every earlier SEND
  CHECK(producer.unconfirmed_sends() == 0);

  // The consumer receives everything; it fails over inside receive().
  std::set<std::string> want(sent.begin(), sent.end());
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    take(Ms(500));
    bool all = true;
    for (const auto& b : want) all = all && got.contains(b);
    if (all) break;
  }
  std::vector<std::string> missing;
  for (const auto& b : want)
    if (!got.contains(b)) missing.push_back(b);
  CHECK_MESSAGE(missing.empty(), missing.size() << " confirmed messages never arrived, e.g. "
                                                << (missing.empty() ? "" : missing.front()) << "\nproducer:"
                                                << plog.text() << "\nconsumer:" << clog.text());
  // Duplicates: a redelivery (flagged) or a re-send of what was in flight.
  for (auto it = got.begin(); it != got.end();) {
    const auto [first, last] = got.equal_range(it->first);
    const auto copies = std::distance(first, last);
    if (copies > 1) {
      bool flagged = false;
      for (auto c = first; c != last; ++c) flagged = flagged || c->second;
      const bool resent = in_flight.contains(it->first) || burst.contains(it->first);
      CHECK_MESSAGE((flagged || resent), it->first << " arrived " << copies << " times, none flagged redelivered");
    }
    it = last;
  }
  // Both clients failed over once, to the slave; the subscription was restored.
  CHECK(plog.count(tc::FailoverEventKind::connection_lost) == 1);
  CHECK(plog.count(tc::FailoverEventKind::reconnected) == 1);
  CHECK(plog.resent() >= 1);  // at least the send that noticed the loss
  REQUIRE_MESSAGE(clog.count(tc::FailoverEventKind::reconnected) == 1, clog.text());
  for (const auto& e : clog.events)
    if (e.kind == tc::FailoverEventKind::reconnected) CHECK(e.resubscribed == 1);
  CHECK(consumer.connection_number() == 2);
  CHECK(consumer.disconnect().has_value());
  std::size_t duplicates = 0;
  for (const auto& b : want) duplicates += got.count(b) > 1 ? got.count(b) - 1 : 0;
  std::printf("[23] %zu sent, %zu unconfirmed at the kill, %zu re-sent, %zu received (%zu duplicates)\n"
              "[23] producer:%s\n[23] consumer:%s\n",
              sent.size(), unconfirmed_at_kill, plog.resent(), got.size(), duplicates, plog.text().c_str(),
              clog.text().c_str());
}

TEST_CASE("23 failover client: a transaction open when the master dies is rolled back, not half-committed") {
  ReplicaPair pair;
  pair.start_master();
  pair.start_slave();
  const std::string uri = pair_uri(pair.master_stomp(), pair.slave_stomp());
  Log log;
  auto c = connect_failover(uri, log);
  REQUIRE(c.begin("tx-1").has_value());
  REQUIRE(c.send("/queue/fo23.tx", "half-1", {.persistent = true, .transaction = "tx-1"}).has_value());
  pair.master().kill(SIGKILL);
  auto more = c.send("/queue/fo23.tx", "half-2", {.persistent = true, .transaction = "tx-1"});
  REQUIRE_FALSE(more.has_value());
  CHECK(code_of(more.error()) == tc::Errc::transaction_rolled_back);
  CHECK(contains_ci(more.error().message, "rolled back"));
  auto commit = c.commit("tx-1");
  REQUIRE_FALSE(commit.has_value());
  CHECK(code_of(commit.error()) == tc::Errc::transaction_rolled_back);
  // The client is on the slave and works; nothing of tx-1 is there.
  REQUIRE(c.send("/queue/fo23.tx", "after", {.persistent = true}).has_value());
  REQUIRE(c.subscribe("/queue/fo23.tx", "s").has_value());
  std::vector<std::string> bodies;
  while (auto m = c.receive(Ms(500))) bodies.push_back(m->body);
  CHECK(bodies == std::vector<std::string>{"after"});
}

TEST_CASE("23 failover client: maxReconnectAttempts exhausted gives a clear error") {
  BrokerProcess broker;
  const std::uint16_t nobody = free_port();
  Log log;
  auto c = connect_failover(pair_uri(broker.port(), nobody, "&maxReconnectAttempts=3"), log);
  REQUIRE(c.send("/queue/fo23.gone", "one").has_value());
  broker.kill(SIGKILL);
  auto r = c.send("/queue/fo23.gone", "two");
  REQUIRE_FALSE(r.has_value());
  CHECK(code_of(r.error()) == tc::Errc::reconnect_exhausted);
  INFO(r.error().message);
  CHECK(contains_ci(r.error().message, "maxReconnectAttempts=3"));
  CHECK(contains_ci(r.error().message, "127.0.0.1:" + std::to_string(nobody)));
  CHECK(c.is_finished());
  CHECK(log.count(tc::FailoverEventKind::gave_up) == 1);
}

TEST_CASE("23 failover client: timeout=N fails a send when no broker is up, and the client keeps trying") {
  BrokerProcess broker;
  const std::uint16_t nobody = free_port();
  Log log;
  const std::string uri = "failover:(tcp://127.0.0.1:" + std::to_string(broker.port()) + ",tcp://127.0.0.1:" +
                          std::to_string(nobody) + ")?randomize=false&initialReconnectDelay=10&timeout=300";
  auto c = connect_failover(uri, log);
  REQUIRE(c.send("/queue/fo23.t", "one").has_value());
  broker.kill(SIGKILL);
  auto r = c.send("/queue/fo23.t", "two");
  REQUIRE_FALSE(r.has_value());
  CHECK(code_of(r.error()) == tc::Errc::timeout);
  INFO(r.error().message);
  CHECK(contains_ci(r.error().message, "timeout=300"));
  CHECK_FALSE(c.is_finished());
  CHECK(code_of(c.send("/queue/fo23.t", "three").error()) == tc::Errc::timeout);
  // And with no broker at all, connect() itself is bounded by timeout.
  auto none = tc::FailoverClient::connect("failover:(tcp://127.0.0.1:" + std::to_string(nobody) + ")?timeout=200");
  REQUIRE_FALSE(none.has_value());
  CHECK(code_of(none.error()) == tc::Errc::timeout);
}
