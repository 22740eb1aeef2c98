// test/integration/32_admin_verbs.cc — the operator's verbs of the admin endpoint
// (admin/admin_api.h) and twinmq-admin against real brokers: browse, purge, move and
// remove a destination; a purge on the master reflected on the slave and still done
// after kill -9 of the master; access (401, 403, the admin group, a deferred password
// check with a pipelined request behind it); a slave refusing changes; `twinmq-admin
// check` exit codes across a pair's life, `await-sync`, and `stop --drain`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "base/base64.h"
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

// One request with optional Basic credentials on a fresh connection.
HttpReply api(std::uint16_t port, const std::string& method, const std::string& path, const std::string& user = "",
              const std::string& password = "") {
  RawHttp h(port);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!user.empty()) req += "Authorization: Basic " + twinmq::base64_encode(user + ":" + password) + "\r\n";
  req += "\r\n";
  REQUIRE(h.send_raw(req));
  auto r = h.read_reply(Ms(10'000));
  REQUIRE_MESSAGE(r.has_value(), "no answer to " << method << " " << path);
  return *r;
}

json body_of(const HttpReply& r) { return json::parse(r.body); }

std::uint64_t depth(std::uint16_t port, const std::string& name) {
  auto r = http_get(port, "/status");
  if (!r) return ~0ull;
  const json status = json::parse(r->body);  // kept: a loop over a temporary's member would dangle
  for (const json& d : status["destinations"])
    if (d["name"] == name) return d["depth"].get<std::uint64_t>();
  return ~0ull;  // no such destination
}

struct ToolRun {
  int code = -1;
  std::string out, err;
};

// Runs build/twinmq-admin with `args` and waits (bounded) for it to end.
ToolRun admin_tool(std::vector<std::string> args, const KeyValues& env = {}, Ms timeout = Ms(60'000)) {
  auto p = BrokerProcess::spawn_tool("twinmq-admin", std::move(args), env);
  auto e = p->wait_exit(timeout);
  if (!e) throw std::runtime_error("twinmq-admin did not end within " + std::to_string(timeout.count()) + " ms");
  p->wait_output_eof(Ms(2000));
  return {e->code, p->stdout_text(), p->log_text()};
}

std::string url(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

void send_n(RawStomp& c, const std::string& queue, int n, const std::string& prefix) {
  for (int i = 0; i < n; ++i) c.send(queue, prefix + std::to_string(i), {{"persistent", "true"}});
}

}  // namespace

TEST_CASE("32 admin verbs: browse, purge, move and delete on a single broker; bad input gets a 4xx saying why") {
  BrokerConfig cfg;
  cfg.admin = true;
  BrokerProcess b(cfg);
  const std::uint16_t port = admin_port(b);
  auto c = client(b);
  for (int i = 0; i < 5; ++i) c->send("/queue/v.a", "m" + std::to_string(i), {{"color", "red"}});

  const HttpReply browsed = api(port, "GET", "/api/queues/v.a/messages?limit=2&preview=1");
  REQUIRE(browsed.status == 200);
  const json bj = body_of(browsed);
  CHECK(bj["queue"] == "/queue/v.a");
  CHECK(bj["depth"] == 5);
  REQUIRE(bj["messages"].size() == 2);
  CHECK(bj["messages"][0]["body_preview"] == "m");
  CHECK(bj["messages"][0]["body_bytes"] == 2);
  CHECK(bj["messages"][0]["headers"].dump().find("\"color\",\"red\"") != std::string::npos);
  CHECK(depth(port, "/queue/v.a") == 5);  // browsing takes nothing

  const HttpReply moved = api(port, "POST", "/api/queues/v.a/move?to=v.b&limit=2");
  REQUIRE(moved.status == 200);
  CHECK(body_of(moved)["moved"] == 2);
  CHECK(depth(port, "/queue/v.a") == 3);
  CHECK(depth(port, "/queue/v.b") == 2);
  // A consumer of the target gets the moved messages, in order, naming where they were sent.
  {
    c->subscribe("/queue/v.b", "s1");
    const ReceivedFrame m1 = c->message(Ms(5000));
    const ReceivedFrame m2 = c->message(Ms(5000));
    CHECK(m1.body == "m0");
    CHECK(m2.body == "m1");
    CHECK(m1["original-destination"] == "/queue/v.a");
  }

  const HttpReply purged = api(port, "POST", "/api/queues/v.a/purge");
  REQUIRE(purged.status == 200);
  CHECK(body_of(purged)["purged"] == 3);
  CHECK(depth(port, "/queue/v.a") == 0);

  const HttpReply removed = api(port, "DELETE", "/api/destinations/queue/v.a");
  REQUIRE(removed.status == 200);
  CHECK(depth(port, "/queue/v.a") == ~0ull);
  // /queue/v.b has a consumer: refused, and it stays.
  const HttpReply busy = api(port, "DELETE", "/api/destinations/queue/v.b");
  CHECK(busy.status == 409);
  CHECK(body_of(busy)["error"].get<std::string>().find("consumer") != std::string::npos);

  // Bad input: each a 4xx naming the problem.
  const HttpReply unknown = api(port, "POST", "/api/queues/nothing.here/purge");
  CHECK(unknown.status == 404);
  CHECK(body_of(unknown)["error"].get<std::string>().find("/queue/nothing.here") != std::string::npos);
  const HttpReply bad_limit = api(port, "GET", "/api/queues/v.b/messages?limit=0");
  CHECK(bad_limit.status == 400);
  CHECK(body_of(bad_limit)["error"].get<std::string>().find("'limit'") != std::string::npos);
  CHECK(api(port, "GET", "/api/queues/v.b/messages?limit=5000").status == 400);
  CHECK(api(port, "POST", "/api/queues/v.b/move").status == 400);       // no ?to=
  CHECK(api(port, "POST", "/api/queues/v.b/move?to=v.b").status == 400);  // onto itself
  CHECK(api(port, "POST", "/api/queues/v%zz/purge").status == 400);
  const HttpReply wrong_method = api(port, "GET", "/api/queues/v.b/purge");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("allow") == "POST");
  CHECK(api(port, "POST", "/api/invoke/anything").status == 404);

  // twinmq-admin: the same verbs.
  c->send("/queue/v.c", "x1");
  c->send("/queue/v.c", "x2");
  const ToolRun browse = admin_tool({"--url", url(port), "browse", "v.c"});
  CHECK(browse.code == 0);
  CHECK(browse.out.find("body: x1") != std::string::npos);
  const ToolRun move = admin_tool({"--url", url(port), "move", "v.c", "/queue/v.d"});
  CHECK(move.code == 0);
  CHECK(move.out.find("moved 2 message(s) from /queue/v.c to /queue/v.d") != std::string::npos);
  const ToolRun purge = admin_tool({"--url", url(port), "purge", "v.d"});
  CHECK(purge.code == 0);
  CHECK(purge.out.find("purged 2 message(s) from /queue/v.d") != std::string::npos);
  const ToolRun dstat = admin_tool({"--url", url(port), "dstat"});
  CHECK(dstat.code == 0);
  CHECK(dstat.out.find("Queue Size") != std::string::npos);
  CHECK(dstat.out.find("/queue/v.d") != std::string::npos);
  const ToolRun missing = admin_tool({"--url", url(port), "purge", "no.such"});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("HTTP 404: queue '/queue/no.such' does not exist") != std::string::npos);
}

TEST_CASE("32 admin verbs: a purge on the master is on the slave when answered and stays after kill -9 of the master") {
  PairSpec spec;
  spec.admin = true;
  ReplicaPair pair(spec);
  BrokerProcess& master = pair.start_master();
  BrokerProcess& slave = pair.start_slave();
  const std::uint16_t mport = admin_port(master);
  const std::uint16_t sport = admin_port(slave);
  RawStomp c(pair.master_stomp());
  c.connect();
  send_n(c, "/queue/p.gone", 10, "g");
  send_n(c, "/queue/p.keep", 4, "k");
  send_n(c, "/queue/p.deleted", 2, "d");

  const ToolRun purge = admin_tool({"--url", url(mport), "purge", "p.gone"});
  REQUIRE_MESSAGE(purge.code == 0, purge.err);
  // The answer waits for the slave like a receipt: the slave has it already.
  CHECK(depth(sport, "/queue/p.gone") == 0);
  CHECK(depth(sport, "/queue/p.keep") == 4);
  const ToolRun move = admin_tool({"--url", url(mport), "move", "p.keep", "p.moved", "--limit", "1"});
  REQUIRE_MESSAGE(move.code == 0, move.err);
  CHECK(depth(sport, "/queue/p.moved") == 1);
  REQUIRE(api(mport, "DELETE", "/api/destinations/queue/p.deleted").status == 200);
  CHECK(depth(sport, "/queue/p.deleted") == ~0ull);

  master.kill(SIGKILL);
  REQUIRE(wait_until(Ms(10'000), [&] { return http_get(sport, "/readyz") && http_get(sport, "/readyz")->status == 200; },
                     "the slave to take over"));
  CHECK(depth(sport, "/queue/p.gone") == 0);
  CHECK(depth(sport, "/queue/p.keep") == 3);
  CHECK(depth(sport, "/queue/p.moved") == 1);
  // What a client of the promoted slave gets: nothing of the purged queue, the rest whole.
  const std::uint16_t port = pair.slave_stomp();
  CHECK(bodies_of(drain(port, "/queue/p.keep", 3)) == std::vector<std::string>({"k1", "k2", "k3"}));
  CHECK(bodies_of(drain(port, "/queue/p.moved", 1)) == std::vector<std::string>({"k0"}));
  RawStomp after(port);
  after.connect();
  after.subscribe("/queue/p.gone", "s1");
  after.subscribe("/queue/p.deleted", "s2");
  CHECK(after.sync().empty());  // not one purged or deleted message comes back
}

TEST_CASE("32 admin verbs: with users, only the admin group: 401 without or with wrong credentials, 403 for others") {
  BrokerConfig cfg;
  cfg.admin = true;
  cfg.users = {{"root", "rootpw"}, {"bob", "bobpw"}};
  cfg.user_groups = {{"root", "admins,admin"}, {"bob", "users"}};
  BrokerProcess b(cfg);
  const std::uint16_t port = admin_port(b);
  RawStomp c(b.port());
  c.connect("1.2", {{"login", "root"}, {"passcode", "rootpw"}});
  c.send("/queue/s.a", "secret");

  const HttpReply none = api(port, "GET", "/api/queues/s.a/messages");
  CHECK(none.status == 401);
  CHECK(none.header("www-authenticate").find("Basic") == 0);
  CHECK(none.body.find("secret") == std::string::npos);
  CHECK(api(port, "POST", "/api/queues/s.a/purge", "root", "wrong").status == 401);
  CHECK(api(port, "POST", "/api/queues/s.a/purge", "nobody", "x").status == 401);
  const HttpReply bob = api(port, "POST", "/api/queues/s.a/purge", "bob", "bobpw");
  CHECK(bob.status == 403);
  CHECK(body_of(bob)["error"].get<std::string>().find("not in the 'admin' group") != std::string::npos);
  CHECK(depth(port, "/queue/s.a") == 1);
  // Read-only health and status stay open (monitoring), as before users.
  CHECK(http_get(port, "/status")->status == 200);

  // twinmq-admin: the password from the environment, never needed on the command line.
  const ToolRun denied = admin_tool({"--url", url(port), "--user", "bob", "purge", "s.a"},
                                    {{"TWINMQ_ADMIN_PASSWORD", "bobpw"}});
  CHECK(denied.code == 2);
  CHECK(denied.err.find("HTTP 403") != std::string::npos);
  const ToolRun granted = admin_tool({"--url", url(port), "--user", "root", "purge", "s.a"},
                                     {{"TWINMQ_ADMIN_PASSWORD", "rootpw"}});
  CHECK_MESSAGE(granted.code == 0, granted.err);
  CHECK(depth(port, "/queue/s.a") == 0);
  CHECK(b.wait_for_output("[event=admin_denied reason=not_admin]", Ms(5000), true));
  CHECK(b.wait_for_output("[event=admin_purge] admin endpoint: user 'root' purged /queue/s.a", Ms(5000), true));
}

TEST_CASE("32 admin verbs: a hashed password is checked off the loop; a request pipelined behind it is answered after it") {
  const std::string cmd = "printf 'pw\\n' | '" + twinmq_binary().string() + "' hash-password";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512] = {};
  std::string hash = std::fgets(buf, sizeof buf, p) != nullptr ? buf : "";
  REQUIRE(::pclose(p) == 0);
  while (!hash.empty() && hash.back() == '\n') hash.pop_back();
  REQUIRE(hash.starts_with("$y$"));
  BrokerConfig cfg;
  cfg.admin = true;
  cfg.users = {{"ops", hash}};
  cfg.user_groups = {{"ops", "admin"}};
  BrokerProcess b(cfg);
  const std::uint16_t port = admin_port(b);
  RawStomp c(b.port());
  c.connect("1.2", {{"login", "ops"}, {"passcode", "pw"}});
  c.send("/queue/h.a", "one");

  RawHttp h(port);
  const std::string auth = "Authorization: Basic " + twinmq::base64_encode("ops:pw") + "\r\n";
  REQUIRE(h.send_raw("POST /api/queues/h.a/purge HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n" +
                     "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = h.read_reply(Ms(10'000));
  REQUIRE(first.has_value());
  CHECK(first->status == 200);
  CHECK(json::parse(first->body)["purged"] == 1);
  auto second = h.read_reply(Ms(10'000));
  REQUIRE(second.has_value());
  CHECK(second->status == 200);
  CHECK(second->body == "live\n");
}

TEST_CASE("32 admin verbs: a slave refuses changes (503, naming its master) but can be browsed") {
  PairSpec spec;
  spec.admin = true;
  ReplicaPair pair(spec);
  pair.start_master();
  BrokerProcess& slave = pair.start_slave();
  const std::uint16_t sport = admin_port(slave);
  RawStomp c(pair.master_stomp());
  c.connect();
  send_n(c, "/queue/r.a", 2, "r");
  REQUIRE(wait_until(Ms(5000), [&] { return depth(sport, "/queue/r.a") == 2; }, "the slave to hold both messages"));

  const HttpReply refused = api(sport, "POST", "/api/queues/r.a/purge");
  CHECK(refused.status == 503);
  const std::string why = body_of(refused)["error"].get<std::string>();
  CHECK(why.find("this broker is the slave; send it to the master at tcp://127.0.0.1:") != std::string::npos);
  CHECK(api(sport, "DELETE", "/api/destinations/queue/r.a").status == 503);
  CHECK(api(sport, "POST", "/api/queues/r.a/move?to=r.b").status == 503);
  CHECK(depth(sport, "/queue/r.a") == 2);
  const HttpReply browsed = api(sport, "GET", "/api/queues/r.a/messages");
  CHECK(browsed.status == 200);
  CHECK(body_of(browsed)["messages"].size() == 2);
  const ToolRun tool = admin_tool({"--url", url(sport), "purge", "r.a"});
  CHECK(tool.code == 2);
  CHECK(tool.err.find("HTTP 503: this broker is the slave") != std::string::npos);
}

TEST_CASE("32 admin verbs: twinmq-admin check in-sync/ready/live exit codes across the pair's life, and await-sync") {
  PairSpec spec;
  spec.admin = true;
  ReplicaPair pair(spec);
  BrokerProcess& master = pair.start_master();
  pair.start_slave();
  const std::uint16_t mport = admin_port(master);
  const std::uint16_t sport = admin_port(pair.slave());
  auto check = [](std::uint16_t port, const std::string& what) {
    return admin_tool({"--url", url(port), "check", what});
  };

  // In sync: 0 on both; ready: the master 0, the standby 2 (not serving).
  const ToolRun ok = check(mport, "in-sync");
  CHECK(ok.code == 0);
  CHECK(ok.out.find("OK: master in sync") != std::string::npos);
  CHECK(check(sport, "in-sync").code == 0);
  CHECK(check(mport, "ready").code == 0);
  const ToolRun standby = check(sport, "ready");
  CHECK(standby.code == 2);
  CHECK(standby.out.find("role slave") != std::string::npos);
  CHECK(check(sport, "live").code == 0);
  CHECK(admin_tool({"--url", url(mport), "await-sync", "--timeout", "10"}).code == 0);

  // The slave killed: critical on the master, which still serves (ready).
  pair.slave().kill(SIGKILL);
  pair.slave().wait_exit(Ms(5000));
  REQUIRE(wait_until(Ms(10'000), [&] { return check(mport, "in-sync").code == 2; },
                     "check in-sync on the master to say critical"));
  CHECK(check(mport, "in-sync").out.find("CRITICAL: master has no slave attached") != std::string::npos);
  CHECK(check(mport, "ready").code == 0);
  const ToolRun gone = check(sport, "live");
  CHECK(gone.code == 2);
  CHECK(gone.out.find("cannot reach the admin endpoint") != std::string::npos);
  const ToolRun waited = admin_tool({"--url", url(mport), "await-sync", "--timeout", "1"});
  CHECK(waited.code == 2);
  CHECK(waited.out.find("not in sync after 1 s") != std::string::npos);

  // The slave back (same store): await-sync returns 0 once it is in sync again.
  auto again = pair.start_config("slave.xml", pair.slave_xml("slave", pair.replication_port(), pair.slave_stomp()));
  const std::uint16_t sport2 = admin_port(*again);
  CHECK(admin_tool({"--url", url(mport), "await-sync", "--timeout", "30"}).code == 0);
  CHECK(check(mport, "in-sync").code == 0);
  CHECK(check(sport2, "in-sync").code == 0);

  // The master killed: the promoted slave serves (ready 0) with no standby (critical).
  master.kill(SIGKILL);
  REQUIRE(wait_until(Ms(10'000), [&] { return check(sport2, "ready").code == 0; }, "the slave to take over"));
  const ToolRun alone = check(sport2, "in-sync");
  CHECK(alone.code == 2);
  CHECK(alone.out.find("CRITICAL: promoted has no slave attached") != std::string::npos);
}

TEST_CASE("32 admin verbs: stop --drain closes to new clients, lets a consumer drain, then hands over to the slave") {
  PairSpec spec;
  spec.admin = true;
  ReplicaPair pair(spec);
  BrokerProcess& master = pair.start_master();
  BrokerProcess& slave = pair.start_slave();
  const std::uint16_t mport = admin_port(master);
  const std::uint16_t sport = admin_port(slave);
  const std::uint16_t stomp = pair.master_stomp();
  RawStomp c(stomp);
  c.connect();
  send_n(c, "/queue/d.a", 20, "d");

  auto tool = BrokerProcess::spawn_tool("twinmq-admin", {"--url", url(mport), "stop", "--drain", "--timeout", "60"});
  REQUIRE_MESSAGE(master.wait_for_output("[event=admin_stop]", Ms(10'000), true), master.log_tail());
  REQUIRE(master.wait_for_output("connector 'stomp' closed", Ms(10'000), true));
  // New clients are refused; the connected one goes on.
  // The listener closes on the loop turn after its log line (libuv closes handles
  // asynchronously), so the refusal is waited for, bounded.
  CHECK(wait_until(Ms(5000), [&] { return connection_refused(stomp); }, "new STOMP connections to be refused"));
  c.subscribe("/queue/d.a", "s1");
  std::vector<std::string> got;
  for (int i = 0; i < 20; ++i) got.push_back(c.message(Ms(5000)).body);
  CHECK(got.front() == "d0");
  CHECK(got.back() == "d19");

  auto e = tool->wait_exit(Ms(60'000));
  REQUIRE(e.has_value());
  tool->wait_output_eof(Ms(2000));
  CHECK(e->code == 0);
  CHECK(tool->stdout_text().find("stopped") != std::string::npos);
  auto me = master.wait_exit(Ms(10'000));
  REQUIRE(me.has_value());
  CHECK(me->code == 0);
  CHECK(master.log_text().find("queues drained; stopping") != std::string::npos);
  // A planned stop: the slave takes over at once, with nothing left to deliver.
  REQUIRE(wait_until(Ms(10'000), [&] { return http_get(sport, "/readyz") && http_get(sport, "/readyz")->status == 200; },
                     "the slave to take over"));
  CHECK(depth(sport, "/queue/d.a") == 0);
}

TEST_CASE("32 admin verbs: stop --drain gives up after its time with messages left, and they stay") {
  BrokerConfig cfg;
  cfg.admin = true;
  cfg.persistent = true;
  BrokerProcess b(cfg);
  const std::uint16_t port = admin_port(b);
  auto c = client(b);
  c->send("/queue/left", "x", {{"persistent", "true"}});
  const ToolRun stop = admin_tool({"--url", url(port), "stop", "--drain", "1"});
  CHECK(stop.code == 0);
  auto e = b.wait_exit(Ms(10'000));
  REQUIRE(e.has_value());
  CHECK(e->code == 0);
  CHECK(b.log_text().find("drain time is up with 1 message(s) still queued") != std::string::npos);
}

TEST_CASE("32 admin verbs: twinmq-admin: an endpoint that cannot be reached, and bad command lines") {
  const std::uint16_t dead = free_port();  // picked by the OS, nothing listens on it any more
  const ToolRun unreachable = admin_tool({"--url", url(dead), "status"});
  CHECK(unreachable.code == 2);
  CHECK(unreachable.err.find("cannot reach the admin endpoint at http://127.0.0.1:" + std::to_string(dead)) !=
        std::string::npos);
  const ToolRun bad = admin_tool({"frobnicate"});
  CHECK(bad.code == 64);
  CHECK(bad.err.find("unknown command 'frobnicate'") != std::string::npos);
  const ToolRun nocfg = admin_tool({"--config", "/nonexistent/broker.xml", "status"});
  CHECK(nocfg.code == 64);
}
