// EtcdClient when things go wrong: dead and silent endpoints, the endpoint list,
// the resend rule for transactions, authentication, and a three-member cluster
// with a member killed. Every etcd here is real.
#include <doctest.h>

#include "support.h"
#include "support/wait_until.h"

using namespace twinmq;
using namespace twinmq::witness;
using namespace twinmq::witness_test;

TEST_CASE("etcd failover: a dead endpoint is unreachable at once, naming it") {
  const std::uint16_t port = dead_port();
  EtcdOptions o = options_for({port});
  EtcdClient c(o);
  const auto start = std::chrono::steady_clock::now();
  auto r = c.grant(5);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(EtcdErrc::unreachable));
  CHECK(r.error().message == "127.0.0.1:" + std::to_string(port) + ": connection refused");
  CHECK(ms_since(start) < o.connect_timeout.count());
}

TEST_CASE("etcd failover: an endpoint that never answers is unreachable after the request timeout") {
  SilentEndpoint silent;
  EtcdOptions o = options_for({silent.port()});
  o.request_timeout = 300ms;
  EtcdClient c(o);
  const auto start = std::chrono::steady_clock::now();
  auto r = c.get("/failover-test/any");
  const auto elapsed = ms_since(start);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(EtcdErrc::unreachable));
  CHECK(r.error().message == "127.0.0.1:" + std::to_string(silent.port()) + ": no answer within 300 ms");
  CHECK(elapsed >= 250);   // it did wait for the answer...
  CHECK(elapsed < 3000);   // ...and no longer than the bound (generous: a loaded machine)
}

TEST_CASE("etcd failover: the first endpoint dead, the call succeeds on the second, which stays in use") {
  const std::uint16_t dead = dead_port();
  EtcdClient c(options_for({dead, shared_etcd().client_port()}));
  CHECK(c.endpoint() == "127.0.0.1:" + std::to_string(dead));
  auto g = c.grant(5);
  REQUIRE_MESSAGE(g.has_value(), error_text(g.error()));
  CHECK(c.endpoint() == shared_etcd().endpoint());
  auto ttl = c.keepalive(g->id);
  REQUIRE(ttl.has_value());
  CHECK(*ttl == 5);
  CHECK(c.revoke(g->id).has_value());
}

TEST_CASE("etcd failover: every endpoint down lists each failure") {
  const auto ports = test::free_loopback_ports(2);
  EtcdClient c(options_for(ports));
  auto r = c.keepalive(42);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(EtcdErrc::unreachable));
  CHECK(r.error().message == "127.0.0.1:" + std::to_string(ports[0]) + ": connection refused; 127.0.0.1:" +
                                 std::to_string(ports[1]) + ": connection refused");
}

TEST_CASE("etcd failover: a transaction that may have reached a silent endpoint is not resent elsewhere") {
  SilentEndpoint silent;
  EtcdOptions o = options_for({silent.port(), shared_etcd().client_port()});
  o.request_timeout = 300ms;
  EtcdClient c(o);
  const std::string key = "/failover-test/resend/holder";
  const Compare absent{key, Compare::Target::version, Compare::Op::equal, 0, {}};

  auto r = c.txn({absent}, {TxnOp::put(key, "a")}, {});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(EtcdErrc::unreachable));
  CHECK(r.error().message.find("(the transaction may have been applied)") != std::string::npos);
  // The failing endpoint was left: the next call goes to etcd at once.
  CHECK(c.endpoint() == shared_etcd().endpoint());
  r = c.txn({absent}, {TxnOp::put(key, "a")}, {});
  REQUIRE_MESSAGE(r.has_value(), error_text(r.error()));
  CHECK(r->succeeded);

  // A read is resent: silent first again, and the same call ends on etcd.
  EtcdClient reader(o);
  auto kv = reader.get(key);
  REQUIRE_MESSAGE(kv.has_value(), error_text(kv.error()));
  REQUIRE(kv->has_value());
  CHECK((*kv)->value == "a");
}

TEST_CASE("etcd failover: a transaction whose endpoint refuses connections is sent to the next one") {
  EtcdClient c(options_for({dead_port(), shared_etcd().client_port()}));
  const std::string key = "/failover-test/unsent/holder";
  auto r = c.txn({Compare{key, Compare::Target::version, Compare::Op::equal, 0, {}}}, {TxnOp::put(key, "a")}, {});
  REQUIRE_MESSAGE(r.has_value(), error_text(r.error()));
  CHECK(r->succeeded);
}

TEST_CASE("etcd failover: something that is not etcd is refused, not retried forever") {
  // The peer port of etcd speaks HTTP but not the v3 gateway.
  EtcdClient c(options_for({shared_etcd().peer_port()}));
  auto r = c.get("/failover-test/x");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(EtcdErrc::refused));
  CHECK(r.error().message.find(std::to_string(shared_etcd().peer_port())) != std::string::npos);
}

TEST_CASE("etcd auth: a user configured for an etcd without authentication goes on without a token") {
  EtcdOptions o = shared_options();
  o.user = "someone";
  o.password = "anything";
  EtcdClient c(o);
  auto kv = c.get("/failover-test/no-auth");
  REQUIRE_MESSAGE(kv.has_value(), error_text(kv.error()));
  CHECK_FALSE(kv->has_value());
}

TEST_CASE("etcd client: no endpoints at all is a configuration error") {
  EtcdClient c(EtcdOptions{});
  auto r = c.get("/x");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(EtcdErrc::bad_uri));
  CHECK(r.error().message == "no etcd endpoints configured");
}

TEST_CASE("etcd auth: the right password works, a wrong one is refused with etcd's message") {
  EtcdProcess etcd;
  const test::EtcdAuthSetup auth;
  etcd.enable_auth(auth);

  EtcdOptions o = options_for({etcd.client_port()});
  o.user = auth.user;
  o.password = auth.password;
  EtcdClient c(o);
  const std::string key = auth.prefix + "pair/holder";
  auto r = c.txn({Compare{key, Compare::Target::version, Compare::Op::equal, 0, {}}}, {TxnOp::put(key, "a")}, {});
  REQUIRE_MESSAGE(r.has_value(), error_text(r.error()));
  CHECK(r->succeeded);
  auto g = c.grant(5);
  REQUIRE_MESSAGE(g.has_value(), error_text(g.error()));
  CHECK(c.keepalive(g->id).value_or(-1) == 5);

  // Outside the role's prefix.
  auto denied = c.get("/elsewhere/key");
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code == static_cast<int>(EtcdErrc::refused));
  CHECK(denied.error().message == etcd.endpoint() + ": etcd says: permission denied");

  // An etcd restart: the client reconnects (etcd replays its log, tokens included).
  etcd.kill();
  etcd.restart();
  auto kv = c.get(key);
  REQUIRE_MESSAGE(kv.has_value(), error_text(kv.error()));
  REQUIRE(kv->has_value());
  CHECK((*kv)->value == "a");

  // Turning authentication off and on drops every token: etcd refuses ours ("invalid
  // auth token"); the client authenticates again once, and the caller sees nothing.
  test::run_etcdctl(etcd.endpoint(), {"--user=root:" + auth.root_password, "auth", "disable"});
  test::run_etcdctl(etcd.endpoint(), {"auth", "enable"});
  kv = c.get(key);
  REQUIRE_MESSAGE(kv.has_value(), error_text(kv.error()));
  REQUIRE(kv->has_value());
  CHECK((*kv)->value == "a");

  // No credentials at all.
  EtcdClient anonymous(options_for({etcd.client_port()}));
  kv = anonymous.get(key);
  REQUIRE_FALSE(kv.has_value());
  CHECK(kv.error().code == static_cast<int>(EtcdErrc::refused));
  CHECK(kv.error().message == etcd.endpoint() + ": etcd says: user name is empty");

  // A wrong password.
  EtcdOptions wrong = o;
  wrong.password = "not-the-password";
  EtcdClient bad(wrong);
  kv = bad.get(key);
  REQUIRE_FALSE(kv.has_value());
  CHECK(kv.error().code == static_cast<int>(EtcdErrc::refused));
  CHECK(kv.error().message == etcd.endpoint() + ": etcd says: authentication failed, invalid user ID or password");
}

TEST_CASE("etcd cluster: with one member killed, grant, keepalive and txn go through the endpoint list") {
  test::EtcdCluster cluster;
  auto options = parse_etcd_uri(cluster.uri());
  REQUIRE(options.has_value());
  REQUIRE(options->endpoints.size() == 3);
  // A follower that has not noticed its leader's death yet forwards a proposal into
  // the void and answers only at etcd's own timeout: the request timeout bounds that.
  options->request_timeout = 500ms;
  EtcdClient c(*options);
  const std::string key = "/cluster-test/holder";
  auto first = c.txn({}, {TxnOp::put(key, "before")}, {});
  REQUIRE_MESSAGE(first.has_value(), error_text(first.error()));
  CHECK(c.endpoint() == cluster.member(0).endpoint());

  cluster.kill(0);
  // If member 0 led, the others need an election (a few hundred ms with the test
  // tuning) before they answer; until then a call is `unreachable`, never refused.
  Result<LeaseGrant> g = make_error(EtcdErrc::unreachable, "not tried");
  REQUIRE(test::wait_until(10s, [&] {
    g = c.grant(10);
    if (!g) CHECK_MESSAGE(g.error().code == static_cast<int>(EtcdErrc::unreachable), error_text(g.error()));
    return g.has_value();
  }, "a grant through the two remaining members"));
  CHECK(c.endpoint() != cluster.member(0).endpoint());
  CHECK(c.keepalive(g->id).value_or(-1) == 10);
  auto r = c.txn({Compare{key, Compare::Target::value, Compare::Op::equal, 0, "before"}},
                 {TxnOp::put(key, "after", g->id)}, {});
  REQUIRE_MESSAGE(r.has_value(), error_text(r.error()));
  CHECK(r->succeeded);

  // The killed member comes back with its data and catches up: a client that knows
  // only that member reads the latest value (a linearizable read).
  cluster.restart(0);
  EtcdClient only_first(options_for({cluster.member(0).client_port()}));
  auto kv = only_first.get(key);
  REQUIRE_MESSAGE(kv.has_value(), error_text(kv.error()));
  REQUIRE(kv->has_value());
  CHECK((*kv)->value == "after");
  CHECK((*kv)->lease == g->id);
}
