// test/integration/30_admin_http.cc — the HTTP admin endpoint (<managementContext>)
// on real brokers: every endpoint on a single broker and on a pair, /readyz across a
// promotion, the in-sync gauge when the slave dies, `twinmq status` and /status
// telling the same story, the endpoint's bounds, and the loopback-only rule.
// (promtool and the status page in headless chromium: test/interop/test_admin_http.py.)
#include <signal.h>

#include <nlohmann/json.hpp>

#include "common.h"
#include "replication_support.h"
#include "support/raw_http.h"

using namespace twinmq::test;
using nlohmann::json;

namespace {

std::uint16_t admin_port(BrokerProcess& b) {
  if (!b.wait_listening("admin", Ms(10'000)))
    throw std::runtime_error("no 'twinmq: listening admin' line:\n" + b.log_tail());
  return b.port("admin");
}

json get_json(std::uint16_t port, const std::string& path) {
  auto r = http_get(port, path);
  if (!r) throw std::runtime_error("no answer to GET " + path);
  return json::parse(r->body);
}

int status_of(std::uint16_t port, const std::string& path) {
  auto r = http_get(port, path);
  return r ? r->status : 0;
}

std::string metrics(std::uint16_t port) {
  auto r = http_get(port, "/metrics");
  return r ? r->body : std::string();
}

const json* find_destination(const json& status, const std::string& name) {
  for (const json& d : status["destinations"])
    if (d["name"] == name) return &d;
  return nullptr;
}

}  // namespace

TEST_CASE("30 admin: a single broker answers /livez, /readyz, /status, /metrics and / ") {
  BrokerConfig cfg;
  cfg.admin = true;
  BrokerProcess b(cfg);
  const std::uint16_t port = admin_port(b);
  auto producer = client(b);
  producer->send("/queue/admin.a", "one");
  producer->send("/queue/admin.a", "two");

  auto live = http_get(port, "/livez");
  REQUIRE(live.has_value());
  CHECK(live->status == 200);

  auto ready = http_get(port, "/readyz");
  REQUIRE(ready.has_value());
  CHECK(ready->status == 200);
  CHECK(json::parse(ready->body)["role"] == "single");

  auto st = http_get(port, "/status");
  REQUIRE(st.has_value());
  CHECK(st->status == 200);
  CHECK(st->header("content-type") == "application/json");
  CHECK(st->header("cache-control") == "no-store");
  const json s = json::parse(st->body);
  CHECK(s["broker"] == "itest");
  CHECK(s["role"] == "single");
  CHECK(s["serving"] == true);
  CHECK(s["peer"].is_null());
  CHECK(s["connections"] == 1);
  CHECK(s["connectors"][0]["listening"] == true);
  const json* d = find_destination(s, "/queue/admin.a");
  REQUIRE_MESSAGE(d != nullptr, st->body);
  CHECK((*d)["kind"] == "queue");
  CHECK((*d)["depth"] == 2);
  CHECK((*d)["enqueued"] == 2);
  CHECK((*d)["producers"] == 1);

  const std::string m = metrics(port);
  CHECK(m.find("twinmq_destination_depth{destination=\"/queue/admin.a\",kind=\"queue\"} 2\n") != std::string::npos);
  CHECK(m.find("twinmq_ha_role{role=\"single\"} 1\n") != std::string::npos);
  CHECK(m.find("twinmq_connections 1\n") != std::string::npos);

  auto page = http_get(port, "/");
  REQUIRE(page.has_value());
  CHECK(page->status == 200);
  CHECK(page->header("content-type").starts_with("text/html"));
  CHECK(page->body.find("<title>twinmq</title>") != std::string::npos);
}

TEST_CASE("30 admin: counters never go down when connections close; producers and consumers do") {
  BrokerConfig cfg;
  cfg.admin = true;
  BrokerProcess b(cfg);
  const std::uint16_t port = admin_port(b);
  {
    auto c = client(b);
    c->send("/queue/admin.count", "x");
    c->subscribe("/queue/admin.count", "s1");
    c->message();
  }
  // The client is gone: the broker notices the close (bounded wait), then the totals stay.
  REQUIRE(wait_until(Ms(5000), [&] { return get_json(port, "/status")["connections"] == 0; }, "the client detached"));
  const json s = get_json(port, "/status");
  const json* d = find_destination(s, "/queue/admin.count");
  REQUIRE(d != nullptr);
  CHECK((*d)["enqueued"] == 1);
  CHECK((*d)["dequeued"] == 1);
  CHECK((*d)["consumers"] == 0);
  CHECK((*d)["producers"] == 0);
  CHECK(s["connectors"][0]["accepted_total"] == 1);
  CHECK(metrics(port).find("twinmq_connections_accepted_total{connector=\"stomp\"} 1\n") != std::string::npos);
}

TEST_CASE("30 admin: bad requests: 404, 405 with Allow, 431, 413, 414, 400; keep-alive answers in order") {
  BrokerConfig cfg;
  cfg.admin = true;
  BrokerProcess b(cfg);
  const std::uint16_t port = admin_port(b);

  auto nf = http_get(port, "/nope");
  REQUIRE(nf.has_value());
  CHECK(nf->status == 404);
  CHECK(nf->body.find("/status") != std::string::npos);

  auto na = http_request(port, "DELETE", "/status");
  REQUIRE(na.has_value());
  CHECK(na->status == 405);
  CHECK(na->header("allow") == "GET, HEAD");

  {
    RawHttp h(port);
    std::string req = "GET /status HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 100; ++i) req += "X-Filler-" + std::to_string(i) + ": y\r\n";
    req += "\r\n";
    REQUIRE(h.send_raw(req));
    auto r = h.read_reply();
    REQUIRE(r.has_value());
    CHECK(r->status == 431);
    CHECK(r->body.find("header lines") != std::string::npos);
    CHECK(h.closed_by_peer());
  }
  {
    RawHttp h(port);
    REQUIRE(h.send_raw("GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 << 10, 'a') + "\r\n\r\n"));
    auto r = h.read_reply();
    REQUIRE(r.has_value());
    CHECK(r->status == 431);
    CHECK(h.closed_by_peer());
  }
  {
    RawHttp h(port);
    REQUIRE(h.send_raw("POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"));
    auto r = h.read_reply();
    REQUIRE(r.has_value());
    CHECK(r->status == 413);
    CHECK(h.closed_by_peer());
  }
  {
    RawHttp h(port);
    REQUIRE(h.send_raw("GET /" + std::string(4000, 'p') + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = h.read_reply();
    REQUIRE(r.has_value());
    CHECK(r->status == 414);
  }
  {
    RawHttp h(port);
    REQUIRE(h.send_raw("NOT HTTP AT ALL\r\n\r\n"));
    auto r = h.read_reply();
    REQUIRE(r.has_value());
    CHECK(r->status == 400);
    CHECK(h.closed_by_peer());
  }
  {
    // Two requests written at once on one connection: two answers, in order, and the
    // connection stays open for a third.
    RawHttp h(port);
    REQUIRE(h.send_raw("GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto a = h.read_reply();
    auto c = h.read_reply();
    REQUIRE(a.has_value());
    REQUIRE(c.has_value());
    CHECK(a->status == 200);
    CHECK(c->status == 404);
    REQUIRE(h.send_raw("GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto third = h.read_reply();
    REQUIRE(third.has_value());
    CHECK(third->status == 200);
    CHECK(h.closed_by_peer());
  }
  {
    // HEAD: the headers of a GET (its Content-Length too), no body.
    RawHttp h(port);
    REQUIRE(h.send_raw("HEAD /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto head = h.read_reply(Ms(5000), /*head_only=*/true);
    REQUIRE(head.has_value());
    CHECK(head->status == 200);
    CHECK(std::stoul(head->header("content-length")) > 0);
    CHECK(h.closed_by_peer());
  }
  // After all that the broker still serves.
  CHECK(status_of(port, "/livez") == 200);
  CHECK(b.running());
}

TEST_CASE("30 admin: a pair: roles, readiness, the peer line, and `twinmq status` agreeing with /status") {
  PairSpec spec;
  spec.admin = true;
  ReplicaPair pair(spec);
  BrokerProcess& master = pair.start_master();
  BrokerProcess& slave = pair.start_slave();
  const std::uint16_t mport = admin_port(master);
  const std::uint16_t sport = admin_port(slave);
  RawStomp c(pair.master_stomp());
  c.connect();
  c.send("/queue/admin.pair", "p1", {{"persistent", "true"}});

  CHECK(status_of(mport, "/readyz") == 200);
  auto sr = http_get(sport, "/readyz");
  REQUIRE(sr.has_value());
  CHECK(sr->status == 503);
  CHECK(json::parse(sr->body)["role"] == "slave");

  REQUIRE(wait_until(Ms(5000), [&] { return get_json(mport, "/status")["peer"]["lag_events"] == 0; },
                     "the slave to acknowledge everything"));
  const json ms = get_json(mport, "/status");
  CHECK(ms["role"] == "master");
  CHECK(ms["peer"]["in_sync"] == true);
  CHECK(ms["peer"]["link_state"] == "streaming");
  CHECK(ms["peer"]["last_ack_ms_ago"].is_number());
  CHECK(ms["peer"]["lag_bytes"] == 0);
  CHECK(ms["store"]["epoch"].is_number());
  const json ss = get_json(sport, "/status");
  CHECK(ss["role"] == "slave");
  CHECK(ss["serving"] == false);
  CHECK(ss["peer"]["in_sync"] == true);
  CHECK(ss["peer"]["last_heard_ms_ago"].is_number());
  REQUIRE(find_destination(ss, "/queue/admin.pair") != nullptr);
  CHECK((*find_destination(ss, "/queue/admin.pair"))["depth"] == 1);
  // Group commit counters on both sides: the one persistent message was written by each
  // journal, in at least one write round (the master's may still be finishing its own).
  CHECK(ms["store"]["messages_written"] == 1);
  CHECK(ss["store"]["messages_written"] == 1);
  CHECK(ss["store"]["write_groups"].get<std::uint64_t>() >= 1);
  REQUIRE(wait_until(Ms(5000), [&] { return get_json(mport, "/status")["store"]["write_groups"] >= 1; },
                     "the master's journal to write its round"));

  const std::string mm = metrics(mport);
  CHECK(mm.find("twinmq_ha_role{role=\"master\"} 1\n") != std::string::npos);
  CHECK(mm.find("twinmq_ha_replication_in_sync 1\n") != std::string::npos);
  CHECK(mm.find("twinmq_ha_last_slave_ack_age_seconds ") != std::string::npos);
  const std::string sm = metrics(sport);
  CHECK(sm.find("twinmq_ha_role{role=\"slave\"} 1\n") != std::string::npos);
  CHECK(sm.find("twinmq_ha_serving 0\n") != std::string::npos);
  CHECK(sm.find("twinmq_journal_messages_total 1\n") != std::string::npos);

  // One model, two renderings: the text says what the JSON says.
  const std::string text = pair.status(pair.slave_config());
  CHECK(text.find("role: slave\n") != std::string::npos);
  CHECK(text.find("in sync: yes\n") != std::string::npos);
  CHECK(text.find("client connectors: closed") != std::string::npos);
}

TEST_CASE("30 admin: the in-sync gauge drops when the slave is killed") {
  PairSpec spec;
  spec.admin = true;
  ReplicaPair pair(spec);
  BrokerProcess& master = pair.start_master();
  pair.start_slave();
  const std::uint16_t mport = admin_port(master);
  CHECK(metrics(mport).find("twinmq_ha_replication_in_sync 1\n") != std::string::npos);
  pair.slave().kill(SIGKILL);
  REQUIRE(wait_until(Ms(10'000), [&] { return metrics(mport).find("twinmq_ha_replication_in_sync 0\n") != std::string::npos; },
                     "the master's in-sync gauge to drop to 0"));
  const std::string m = metrics(mport);
  CHECK(m.find("twinmq_ha_slaves_lost_total 1\n") != std::string::npos);
  const json s = get_json(mport, "/status");
  CHECK(s["peer"]["in_sync"] == false);
  CHECK(s["serving"] == true);  // alone, but serving (minimumReplicas="0")
  CHECK(status_of(mport, "/readyz") == 200);
}

TEST_CASE("30 admin: /readyz flips from 503 to 200 on the slave when it takes over (kill -9 of the master)") {
  PairSpec spec;
  spec.admin = true;
  ReplicaPair pair(spec);
  pair.start_master();
  BrokerProcess& slave = pair.start_slave();
  const std::uint16_t sport = admin_port(slave);
  CHECK(status_of(sport, "/readyz") == 503);
  const std::uint64_t epoch_before = get_json(sport, "/status")["epoch"].get<std::uint64_t>();

  pair.master().kill(SIGKILL);
  REQUIRE(wait_until(Ms(10'000), [&] { return status_of(sport, "/readyz") == 200; }, "the slave's /readyz to say 200"));
  const json s = get_json(sport, "/status");
  CHECK(s["role"] == "promoted");
  CHECK(s["serving"] == true);
  CHECK(s["failovers"] == 1);
  CHECK(s["epoch"].get<std::uint64_t>() > epoch_before);
  CHECK(!s["role_reason"].get<std::string>().empty());
  const std::string m = metrics(sport);
  CHECK(m.find("twinmq_ha_role{role=\"promoted\"} 1\n") != std::string::npos);
  CHECK(m.find("twinmq_ha_failovers_total 1\n") != std::string::npos);
}

TEST_CASE("30 admin: a non-loopback managementContext is refused at start-up as FILE:LINE") {
  TempDir dir("admin");
  const auto file = dir.write_file("broker.xml",
                                   "<broker brokerName=\"x\" dataDirectory=\"" + (dir.path() / "data").string() +
                                       "\" persistent=\"false\">\n"
                                       "  <transportConnectors><transportConnector name=\"stomp\" "
                                       "uri=\"stomp://127.0.0.1:0\"/></transportConnectors>\n"
                                       "  <managementContext uri=\"http://0.0.0.0:8162\"/>\n"
                                       "</broker>\n");
  auto p = BrokerProcess::spawn({"--config", file.string()});
  auto e = p->wait_exit(Ms(10'000));
  REQUIRE(e.has_value());
  p->wait_output_eof(Ms(2000));
  CHECK(e->code == 2);
  const std::string log = p->log_text() + p->stdout_text();
  INFO(log);
  CHECK(log.find("broker.xml:3") != std::string::npos);
  CHECK(log.find("not a loopback address") != std::string::npos);
  CHECK(p->stdout_text().find("twinmq: listening") == std::string::npos);
}

TEST_CASE("30 admin: an admin port already in use stops the start-up with FILE:LINE") {
  BrokerConfig cfg;
  cfg.admin = true;
  BrokerProcess first(cfg);
  const std::uint16_t taken = admin_port(first);
  TempDir dir("admin");
  const auto file = dir.write_file("broker.xml",
                                   "<broker brokerName=\"y\" dataDirectory=\"" + (dir.path() / "data").string() +
                                       "\" persistent=\"false\">\n"
                                       "  <transportConnectors><transportConnector name=\"stomp\" "
                                       "uri=\"stomp://127.0.0.1:0\"/></transportConnectors>\n"
                                       "  <managementContext uri=\"http://127.0.0.1:" +
                                       std::to_string(taken) + "\"/>\n</broker>\n");
  auto p = BrokerProcess::spawn({"--config", file.string()});
  auto e = p->wait_exit(Ms(10'000));
  REQUIRE(e.has_value());
  p->wait_output_eof(Ms(2000));
  CHECK(e->code == 1);
  INFO(p->log_text());
  CHECK(p->wait_for_output("broker.xml:3", Ms(5000), true));
  CHECK(p->wait_for_output("admin endpoint cannot listen", Ms(5000), true));
}
