// 31 — TLS on client connectors (README "TLS"): stomp+ssl:// with the broker's
// <sslContext> PEM files, needClientAuth / wantClientAuth, a plain-text client on a TLS
// port, a client that does not trust the broker, and the start-up refusals for bad
// files. Every test makes its own throwaway CAs with the openssl command line
// (support/test_ca.h): "good" signs the broker's and the trusted clients' certificates,
// "rogue" is a CA the broker has never heard of.
#include <csignal>
#include <filesystem>

#include "common.h"
#include "replication_support.h"
#include "support/etcd_process.h"
#include "support/test_ca.h"

#include <twinmq/client.h>
#include <twinmq/failover.h>

using namespace twinmq::test;

namespace {

struct Pki {
  TempDir dir{"tls"};
  TestCa good{dir / "pki", "good"};
  TestCa rogue{dir / "pki", "rogue"};
  IssuedCertificate broker = good.issue("broker");
};

std::string ssl_context_xml(const Pki& pki, bool with_cas = true) {
  return "  <sslContext><sslContext certificate=\"" + pki.broker.certificate.string() + "\" privateKey=\"" +
         pki.broker.private_key.string() + "\"" +
         (with_cas ? " trustedCAs=\"" + pki.good.certificate().string() + "\"" : std::string()) +
         "/></sslContext>\n";
}

BrokerConfig tls_broker(const Pki& pki, std::string_view client_auth = {}) {
  BrokerConfig cfg;
  cfg.scheme = "stomp+ssl";
  cfg.extra_xml = ssl_context_xml(pki);
  if (!client_auth.empty()) cfg.set(std::string(client_auth), "true");
  return cfg;
}

// A client that trusts `ca` and shows `cert` (none when null).
RawStompOptions tls_client(const TestCa& ca, const IssuedCertificate* cert = nullptr) {
  RawStompOptions o;
  o.tls = TlsClientFiles{ca.certificate().string(), cert ? cert->certificate.string() : "",
                         cert ? cert->private_key.string() : ""};
  return o;
}

// Connects with `options` and tries CONNECT: returns how the attempt ended, and fails
// the test if a CONNECTED came back. The broker may refuse during the handshake (the
// constructor throws) or, with TLS 1.3, right after the client's side of it finished
// (the CONNECT then meets a closed connection).
std::string expect_refused(BrokerProcess& b, RawStompOptions options) {
  try {
    RawStomp c(b.port(), std::move(options));
    auto f = c.try_connect("1.2");
    if (f) FAIL("a refused client got " << f->describe());
    CHECK(c.wait_closed());
    return std::string(c.close_reason());
  } catch (const StompFailure& e) {
    return e.what();
  }
}

void check_serves(BrokerProcess& b, const RawStompOptions& options, std::string_view queue) {
  RawStomp c(b.port(), options);
  c.connect("1.2");
  c.subscribe(queue, "s1");
  c.send(queue, "still serving");
  CHECK(c.message()["destination"] == queue);
}

struct CliRun {
  ExitResult exit;
  std::string out;
  std::string err;
};

CliRun run_config(const TempDir& dir, const std::string& xml) {
  const auto file = dir.write_file("bad.xml", xml);
  auto p = BrokerProcess::spawn({"--config", file.string()});
  auto e = p->wait_exit(Ms(10'000));
  REQUIRE_MESSAGE(e.has_value(), "twinmq did not exit on a bad configuration");
  p->wait_output_eof(Ms(2000));
  return {*e, p->stdout_text(), p->log_text()};
}

}  // namespace

TEST_CASE("31 tls: a client that trusts the broker's CA connects, subscribes, sends and receives over stomp+ssl://") {
  Pki pki;
  BrokerProcess b(tls_broker(pki));
  CHECK(b.wait_for_output("(TLS)", Ms(5000), true));  // "connector 'stomp' listening on ... (TLS)"
  RawStomp consumer(b.port(), tls_client(pki.good));
  CHECK(consumer.connect("1.2")["version"] == "1.2");
  consumer.subscribe("/queue/tls", "s1");
  RawStomp producer(b.port(), tls_client(pki.good));
  producer.connect("1.2");
  // Small frames many to a record, and one body of several TLS records (16 KiB each)
  // that also spans several of the broker's reads.
  for (int i = 0; i < 200; ++i) producer.send("/queue/tls", "m" + std::to_string(i));
  const std::string big(1u << 20, 'x');
  producer.send("/queue/tls", big);
  auto got = consumer.messages(201);
  for (int i = 0; i < 200; ++i) CHECK(got[static_cast<std::size_t>(i)].body == "m" + std::to_string(i));
  CHECK(got[200].body == big);
  // DISCONNECT with a receipt: the RECEIPT arrives, then the broker closes (close_notify).
  auto r = consumer.request("DISCONNECT");
  CHECK(r.command == "RECEIPT");
  CHECK(consumer.wait_closed());
}

TEST_CASE("31 tls: needClientAuth lets in a certificate signed by trustedCAs and refuses one from another CA or "
          "none; each refusal is logged with the peer address and the broker keeps serving") {
  Pki pki;
  const auto alice = pki.good.issue("alice");
  const auto mallory = pki.rogue.issue("mallory");
  BrokerProcess b(tls_broker(pki, "needClientAuth"));
  // A client already connected keeps being served through the refusals below.
  RawStomp early(b.port(), tls_client(pki.good, &alice));
  early.connect("1.2");
  early.subscribe("/queue/early", "s1");

  const std::string rogue = expect_refused(b, tls_client(pki.good, &mallory));
  INFO("rogue client saw: " << rogue);
  CHECK(b.wait_for_output("certificate verify failed", Ms(5000), true));
  const std::string none = expect_refused(b, tls_client(pki.good));
  INFO("client without a certificate saw: " << none);
  CHECK(b.wait_for_count("TLS handshake with 127.0.0.1:", 2, Ms(5000), true));
  INFO(b.log_tail());
  CHECK(b.log_text().find("peer did not return a certificate") != std::string::npos);

  check_serves(b, tls_client(pki.good, &alice), "/queue/after");
  early.send("/queue/early", "hello");
  CHECK(early.message().body == "hello");
}

TEST_CASE("31 tls: wantClientAuth lets in a client without a certificate and refuses one from another CA") {
  Pki pki;
  const auto mallory = pki.rogue.issue("mallory");
  BrokerProcess b(tls_broker(pki, "wantClientAuth"));
  check_serves(b, tls_client(pki.good), "/queue/anonymous");
  const auto alice = pki.good.issue("alice");
  check_serves(b, tls_client(pki.good, &alice), "/queue/alice");
  expect_refused(b, tls_client(pki.good, &mallory));
  CHECK(b.wait_for_output("certificate verify failed", Ms(5000), true));
  check_serves(b, tls_client(pki.good), "/queue/after");
}

TEST_CASE("31 tls: a plain-text client on a TLS port is served nothing; the broker logs it and keeps serving") {
  Pki pki;
  BrokerProcess b(tls_broker(pki));
  RawStomp plain(b.port());
  plain.send_raw(frame_bytes("CONNECT", {{"accept-version", "1.2"}, {"host", "x"}}));
  CHECK_FALSE(plain.next_frame().has_value());
  CHECK(plain.wait_closed());
  CHECK(plain.received_bytes().find("CONNECTED") == std::string::npos);
  CHECK(b.wait_for_output("(the peer does not speak TLS: a plain-text client on a TLS port?)", Ms(5000), true));
  check_serves(b, tls_client(pki.good), "/queue/after");
}

TEST_CASE("31 tls: a peer that opens a TLS port and never starts a handshake is closed by the connect timeout") {
  Pki pki;
  BrokerProcess b(tls_broker(pki));  // transport.connectAttemptTimeout=2000 (test default)
  RawStomp idle(b.port());
  CHECK(idle.wait_closed(Ms(10'000)));
  check_serves(b, tls_client(pki.good), "/queue/after");
}

TEST_CASE("31 tls: a client that does not trust the broker's CA refuses the handshake, and the broker logs it") {
  Pki pki;
  BrokerProcess b(tls_broker(pki));
  const std::string why = expect_refused(b, tls_client(pki.rogue));
  CHECK(why.find("certificate verify failed") != std::string::npos);
  CHECK(b.wait_for_output("TLS handshake with 127.0.0.1:", Ms(5000), true));
  CHECK(b.log_text().find("unknown ca") != std::string::npos);
  check_serves(b, tls_client(pki.good), "/queue/after");
}

TEST_CASE("31 tls: bad TLS configuration stops the broker at start with file:line and what is wrong") {
  Pki pki;
  const auto other = pki.good.issue("other");
  const std::string head = "<broker brokerName=\"x\" persistent=\"false\">\n";
  const std::string connector =
      "<transportConnectors><transportConnector name=\"stomp\" uri=\"stomp+ssl://127.0.0.1:0\"/></transportConnectors>\n";
  auto ssl = [](const std::string& attributes) { return "<sslContext " + attributes + "/>\n"; };
  const std::string cert = "certificate=\"" + pki.broker.certificate.string() + "\"";
  const std::string key = "privateKey=\"" + pki.broker.private_key.string() + "\"";
  struct Case {
    const char* name;
    std::string xml;
    std::string expected;
  };
  const Case cases[] = {
      {"missing certificate file", head + ssl("certificate=\"/nonexistent/broker.pem\" " + key) + connector + "</broker>\n",
       "bad.xml:2: <sslContext> cannot use certificate file '/nonexistent/broker.pem': No such file or directory"},
      {"key of another certificate",
       head + ssl(cert + " privateKey=\"" + other.private_key.string() + "\"") + connector + "</broker>\n",
       "bad.xml:2: <sslContext> private key '" + other.private_key.string() + "' does not match certificate '" +
           pki.broker.certificate.string() + "'"},
      {"a key file given as the certificate",
       head + ssl("certificate=\"" + pki.broker.private_key.string() + "\" " + key) + connector + "</broker>\n",
       "no PEM certificate in it"},
      {"no sslContext", head + connector + "</broker>\n",
       "bad.xml:2: transportConnector 'stomp' (stomp+ssl://127.0.0.1:0) speaks TLS but the broker has no "
       "<sslContext"},
      {"needClientAuth without trustedCAs",
       head + ssl(cert + " " + key) +
           "<transportConnectors><transportConnector name=\"stomp\" "
           "uri=\"stomp+ssl://127.0.0.1:0?needClientAuth=true\"/></transportConnectors>\n</broker>\n",
       "bad.xml:3: transportConnector 'stomp' (stomp+ssl://127.0.0.1:0?needClientAuth=true) needClientAuth needs "
       "trustedCAs"},
      {"a Java keystore", head + ssl("keyStore=\"broker.ks\" keyStorePassword=\"password\"") + connector + "</broker>\n",
       "bad.xml:2: <sslContext> keyStore: twinmq reads PEM files, not Java keystores"},
  };
  for (const Case& c : cases) {
    INFO("case: " << std::string(c.name));
    const CliRun r = run_config(pki.dir, c.xml);
    INFO("stderr: " << r.err);
    CHECK(r.exit.code == 2);
    CHECK(r.err.find(c.expected) != std::string::npos);
    CHECK(r.out.find("twinmq: listening") == std::string::npos);
  }
}

// ---- the replication link over ssl:// (mutual TLS) ----

namespace {

std::string link_ssl_context(const IssuedCertificate& own, const TestCa& trusted) {
  return "  <sslContext certificate=\"" + own.certificate.string() + "\" privateKey=\"" + own.private_key.string() +
         "\" trustedCAs=\"" + trusted.certificate().string() + "\"/>\n";
}

}  // namespace

TEST_CASE("31 tls: the replication link over ssl:// is mutual TLS; a slave with a certificate of the trusted CA "
          "mirrors, and takes over with what the master receipted") {
  Pki pki;
  const auto slave_cert = pki.good.issue("slave");
  PairSpec spec;
  spec.tls_link = true;
  spec.master_extra_xml = link_ssl_context(pki.broker, pki.good);
  spec.slave_extra_xml = link_ssl_context(slave_cert, pki.good);
  ReplicaPair pair(spec);
  pair.start_master();
  // The log line may trail the readiness line the harness waited for: wait (bounded) for it.
  CHECK(pair.master().wait_for_output("(TLS, slave certificate required)", Ms(5000), true));
  pair.start_slave();  // waits for "in sync"
  {
    RawStomp producer(pair.master_stomp());
    producer.connect("1.2");
    producer.send("/queue/mirrored", "over tls", {{"persistent", "true"}});
  }
  const auto since = std::chrono::steady_clock::now();
  pair.master().kill(SIGKILL);
  REQUIRE(pair.wait_takeover(since, Ms(10'000)).has_value());
  RawStomp consumer(pair.slave_stomp());
  consumer.connect("1.2");
  consumer.subscribe("/queue/mirrored", "s1");
  CHECK(consumer.message().body == "over tls");
}

TEST_CASE("31 tls: a slave whose certificate is not signed by the master's trustedCAs is refused; both logs say so") {
  Pki pki;
  const auto mallory = pki.rogue.issue("mallory");
  PairSpec spec;
  spec.tls_link = true;
  spec.master_extra_xml = link_ssl_context(pki.broker, pki.good);
  spec.slave_extra_xml = link_ssl_context(mallory, pki.good);
  ReplicaPair pair(spec);
  pair.start_master();
  auto& slave = pair.start_slave("slave", std::nullopt, /*wait_in_sync=*/false);
  CHECK(pair.master().wait_for_output("certificate verify failed", Ms(10'000), true));
  CHECK(slave.wait_for_output("the peer refused our certificate", Ms(10'000), true));
  INFO("master log: " << pair.master().log_tail() << "\nslave log: " << slave.log_tail());
  CHECK(pair.master().log_text().find("in sync") == std::string::npos);
  CHECK(slave.log_text().find("IN SYNC") == std::string::npos);
  CHECK(pair.master().running());
}

// ---- the witness over etcds:// ----

TEST_CASE("31 tls: the witness over etcds:// (etcd with --client-cert-auth) lets the master serve; a broker that "
          "does not trust etcd's certificate never does, and says why") {
  Pki pki;
  const auto etcd_cert = pki.good.issue("etcd");
  const auto harness = pki.good.issue("harness");
  EtcdProcess etcd(EtcdTls{etcd_cert.certificate.string(), etcd_cert.private_key.string(),
                           pki.good.certificate().string(), true, harness.certificate.string(),
                           harness.private_key.string()});
  const std::string uri = "etcds://127.0.0.1:" + std::to_string(etcd.client_port());
  SUBCASE("trusted") {
    PairSpec spec;
    spec.witness = WitnessSpec{uri, uri};
    spec.master_extra_xml = link_ssl_context(pki.broker, pki.good);
    ReplicaPair pair(spec);
    pair.start_master();  // its STOMP connector opens only once it holds the witness key
    CHECK(pair.master().wait_for_output("SERVING: this broker holds", Ms(5000), true));
    RawStomp c(pair.master_stomp());
    CHECK(c.connect("1.2")["version"] == "1.2");
  }
  SUBCASE("etcd's certificate is not signed by trustedCAs") {
    PairSpec spec;
    spec.witness = WitnessSpec{uri, uri};
    spec.master_extra_xml = link_ssl_context(pki.broker, pki.rogue);
    ReplicaPair pair(spec);
    pair.start_master(/*expect_stomp=*/false);
    CHECK(pair.master().wait_for_output("SSL certificate problem", Ms(10'000), true));
    INFO("master log: " << pair.master().log_tail());
    CHECK(pair.master().stdout_text().find("twinmq: listening stomp") == std::string::npos);
  }
}

// The project's own client library (twinmq/client.h, twinmq/failover.h) over TLS.
namespace tc = twinmq::client;

TEST_CASE("31 tls: SyncClient with ConnectOptions::tls connects to stomp+ssl:// (with a client certificate for "
          "needClientAuth); a CA it does not trust, or a missing CA file, fails the connect and says why") {
  Pki pki;
  const IssuedCertificate client = pki.good.issue("client");
  BrokerProcess b(tls_broker(pki, "needClientAuth"));
  CHECK(b.wait_for_output("(TLS)", Ms(5000), true));

  tc::ConnectOptions good;
  good.tls = tc::TlsOptions{.trusted_cas = pki.good.certificate().string(),
                            .certificate = client.certificate.string(),
                            .private_key = client.private_key.string()};
  auto c = tc::SyncClient::connect("localhost", b.port(), good);
  REQUIRE_MESSAGE(c, (c ? std::string() : c.error().message));
  REQUIRE(c->subscribe("/queue/tls-lib", "s1"));
  const std::string big(100'000, 'b');  // several TLS records
  REQUIRE(c->send("/queue/tls-lib", "small", {.persistent = true}));
  REQUIRE(c->send("/queue/tls-lib", big));
  auto m1 = c->receive(Ms(5000));
  auto m2 = c->receive(Ms(5000));
  REQUIRE(m1);
  REQUIRE(m2);
  CHECK(m1->body == "small");
  CHECK(m2->body == big);
  CHECK(c->disconnect());

  tc::ConnectOptions rogue = good;
  rogue.tls->trusted_cas = pki.rogue.certificate().string();
  rogue.timeout = Ms(3000);
  auto r = tc::SyncClient::connect("localhost", b.port(), rogue);
  REQUIRE_FALSE(r);
  INFO(r.error().message);
  CHECK(r.error().message.find("certificate verify failed") != std::string::npos);

  tc::ConnectOptions missing = good;
  missing.tls->trusted_cas = (pki.dir / "no-such-ca.pem").string();
  auto m = tc::SyncClient::connect("localhost", b.port(), missing);
  REQUIRE_FALSE(m);
  CHECK(tc::Errc(m.error().code) == tc::Errc::bad_argument);
  CHECK(m.error().message.find("no-such-ca.pem") != std::string::npos);
}

TEST_CASE("31 tls: FailoverClient speaks TLS to ssl:// members and skips a dead one; an ssl:// member without "
          "ConnectOptions::tls is refused up front") {
  Pki pki;
  BrokerProcess b(tls_broker(pki));
  CHECK(b.wait_for_output("(TLS)", Ms(5000), true));
  const auto dead = free_port();
  const std::string uri = "failover:(ssl://127.0.0.1:" + std::to_string(dead) + ",stomp+ssl://localhost:" +
                          std::to_string(b.port()) + ")?randomize=false&initialReconnectDelay=10";
  tc::ConnectOptions o;
  o.tls = tc::TlsOptions{.trusted_cas = pki.good.certificate().string()};
  auto f = tc::FailoverClient::connect(uri, o);
  REQUIRE_MESSAGE(f, (f ? std::string() : f.error().message));
  CHECK(f->broker() == "stomp+ssl://localhost:" + std::to_string(b.port()));
  REQUIRE(f->subscribe("/queue/tls-failover", "s1"));
  REQUIRE(f->send("/queue/tls-failover", "over tls", {.persistent = true}));
  auto got = f->receive(Ms(5000));
  REQUIRE(got);
  CHECK(got->body == "over tls");
  CHECK(f->disconnect());

  auto no_tls = tc::FailoverClient::connect(uri, {});
  REQUIRE_FALSE(no_tls);
  CHECK(tc::Errc(no_tls.error().code) == tc::Errc::bad_argument);
  CHECK(no_tls.error().message.find("speaks TLS: give ConnectOptions::tls") != std::string::npos);
}
