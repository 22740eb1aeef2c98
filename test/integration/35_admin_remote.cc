// 35 — the admin endpoint beyond loopback (README "<managementContext>" and "Admin
// endpoint, metrics and health checks"): https:// with the broker's <sslContext>, every
// path but /livez and /readyz behind an admin user's Basic credentials, twinmq-admin
// over https with --cacert, a plain-text client on the https port; the start-up
// refusals; loopback endpoints as before.
//
// A non-loopback address that sends nothing off this machine: each test that needs one
// makes a network namespace of its own (support/net_namespace.h) with 10.213.0.1 on an
// interface inside it, and runs the broker, curl and twinmq-admin in it. Creating one
// needs root: without it these tests fail under CI=true and are skipped, saying so,
// elsewhere. The certificates come from a throwaway CA made with the openssl command
// line (support/test_ca.h, as area 31), the broker's naming 10.213.0.1.
#include <cstdlib>
#include <memory>

#include <nlohmann/json.hpp>

#include "common.h"
#include "support/net_namespace.h"
#include "support/raw_http.h"
#include "support/test_ca.h"

using namespace twinmq::test;
using nlohmann::json;

namespace {

constexpr const char* kAddress = "10.213.0.1";
const KeyValues kAdminUsers = {{"ops", "ops-pw"}, {"bob", "bob-pw"}};

// A namespace, or null after saying why not (a failure under CI=true).
std::unique_ptr<NetNamespace> make_namespace() {
  const std::string why = NetNamespace::unavailable_reason();
  if (why.empty()) return std::make_unique<NetNamespace>(kAddress);
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string_view(ci) == "true") {
    FAIL("area 35 needs a network namespace and cannot make one: " << why);
  } else {
    MESSAGE("SKIPPED: area 35 needs a network namespace and cannot make one here: " << why);
  }
  return nullptr;
}

struct Pki {
  TempDir dir{"adminremote"};
  TestCa good{dir / "pki", "good"};
  TestCa rogue{dir / "pki", "rogue"};
  IssuedCertificate broker = good.issue("broker", {kAddress});
};

std::string ssl_context_xml(const Pki& pki) {
  return "  <sslContext certificate=\"" + pki.broker.certificate.string() + "\" privateKey=\"" +
         pki.broker.private_key.string() + "\" trustedCAs=\"" + pki.good.certificate().string() + "\"/>\n";
}

// A broker with users ops (admin) and bob (not), its admin endpoint at `admin_uri`.
BrokerConfig admin_broker(const Pki& pki, const std::string& admin_uri, const std::string& net_namespace = {}) {
  BrokerConfig cfg;
  cfg.broker_name = "remote";
  cfg.admin_uri = admin_uri;
  cfg.extra_xml = ssl_context_xml(pki);
  cfg.users = kAdminUsers;
  cfg.user_groups = {{"ops", "admin,users"}, {"bob", "users"}};
  cfg.net_namespace = net_namespace;
  return cfg;
}

std::uint16_t admin_port(BrokerProcess& b) {
  if (!b.wait_listening("admin", Ms(10'000)))
    throw std::runtime_error("no 'twinmq: listening admin' line:\n" + b.log_tail());
  return b.port("admin");
}

struct CurlReply {
  int exit = -1;       // curl's exit code
  int status = 0;      // HTTP status (0: none)
  std::string head;    // status line and headers
  std::string body;
  std::string output;  // all of it, for failure messages
};

// One request with the curl command line, in `ns` (null: here). `extra`: curl options.
CurlReply curl(const NetNamespace* ns, const std::string& url, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"curl", "-sS", "--max-time", "10", "--noproxy", "*", "-i", "-w", "\n@status=%{http_code}"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  CurlReply r;
  r.exit = ns != nullptr ? ns->run_in(args, r.output) : run_program(args, r.output);
  const std::size_t mark = r.output.rfind("\n@status=");
  if (mark != std::string::npos) r.status = std::atoi(r.output.c_str() + mark + 9);
  const std::string text = r.output.substr(0, mark);
  const std::size_t end = text.find("\r\n\r\n");
  r.head = text.substr(0, end);
  if (end != std::string::npos) r.body = text.substr(end + 4);
  return r;
}

struct ToolRun {
  int code = -1;
  std::string out, err;
};

ToolRun admin_tool(const NetNamespace* ns, std::vector<std::string> args, const KeyValues& env = {}) {
  auto p = BrokerProcess::spawn_tool("twinmq-admin", std::move(args), env, ns != nullptr ? ns->path() : "");
  auto e = p->wait_exit(Ms(60'000));
  if (!e) throw std::runtime_error("twinmq-admin did not end within 60 s");
  p->wait_output_eof(Ms(2000));
  return {e->code, p->stdout_text(), p->log_text()};
}

std::string https_url(std::uint16_t port, const std::string& path = "") {
  return "https://" + std::string(kAddress) + ":" + std::to_string(port) + path;
}

// Starts a config that must be refused; returns its exit and log.
std::pair<int, std::string> refused_start(const TempDir& dir, const std::string& body) {
  const auto file = dir.write_file("broker.xml",
                                   "<broker brokerName=\"x\" dataDirectory=\"" + (dir.path() / "data").string() +
                                       "\" persistent=\"false\">\n"
                                       "  <transportConnectors><transportConnector name=\"stomp\" "
                                       "uri=\"stomp://127.0.0.1:0\"/></transportConnectors>\n" +
                                       body + "</broker>\n");
  auto p = BrokerProcess::spawn({"--config", file.string()});
  auto e = p->wait_exit(Ms(10'000));
  REQUIRE(e.has_value());
  p->wait_output_eof(Ms(2000));
  CHECK(p->stdout_text().find("twinmq: listening") == std::string::npos);
  return {e->code, p->log_text() + p->stdout_text()};
}

}  // namespace

TEST_CASE("35 admin remote: https beyond loopback: 401, 403 and 200 by user; failed logins logged and limited; probes open") {
  auto ns = make_namespace();
  if (!ns) return;
  Pki pki;
  BrokerConfig cfg = admin_broker(pki, https_url(0), ns->path());
  cfg.auth_attributes = {{"maximumFailedLogins", "4"}};
  BrokerProcess b(cfg);
  const std::uint16_t port = admin_port(b);
  CHECK(b.stdout_text().find(std::string("twinmq: listening admin ") + kAddress + ":") != std::string::npos);
  const std::string ca = pki.good.certificate().string();
  {  // curl in the namespace reaches the endpoint and trusts its certificate
    const CurlReply reached = curl(ns.get(), https_url(port, "/livez"), {"--cacert", ca});
    REQUIRE_MESSAGE(reached.status == 200, reached.output);
  }

  for (const char* path : {"/status", "/metrics", "/", "/api/queues/q/messages"}) {
    CAPTURE(path);
    const CurlReply anonymous = curl(ns.get(), https_url(port, path), {"--cacert", ca});
    INFO(anonymous.output);
    CHECK(anonymous.status == 401);
    CHECK(contains_ci(anonymous.head, "www-authenticate: basic realm=\"twinmq admin\""));
    CHECK(anonymous.body.find("remote") == std::string::npos);  // not even the broker's name
  }
  const CurlReply wrong = curl(ns.get(), https_url(port, "/status"), {"--cacert", ca, "-u", "ops:guess"});
  CHECK(wrong.status == 401);
  CHECK(b.wait_for_output(std::string("[event=admin_denied reason=wrong_password] admin endpoint: user 'ops' from ") +
                              kAddress + ":",
                          Ms(5000), true));
  const CurlReply other = curl(ns.get(), https_url(port, "/metrics"), {"--cacert", ca, "-u", "bob:bob-pw"});
  CHECK(other.status == 403);
  CHECK(other.body.find("not in the 'admin' group") != std::string::npos);

  const CurlReply status = curl(ns.get(), https_url(port, "/status"), {"--cacert", ca, "-u", "ops:ops-pw"});
  REQUIRE_MESSAGE(status.status == 200, status.output);
  CHECK(contains_ci(status.head, "content-type: application/json"));
  const json s = json::parse(status.body);
  CHECK(s["broker"] == "remote");
  CHECK(s["serving"] == true);
  const CurlReply metrics = curl(ns.get(), https_url(port, "/metrics"), {"--cacert", ca, "-u", "ops:ops-pw"});
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("twinmq_info{broker=\"remote\"") != std::string::npos);
  const CurlReply page = curl(ns.get(), https_url(port, "/"), {"--cacert", ca, "-u", "ops:ops-pw"});
  CHECK(page.status == 200);
  CHECK(page.body.find("fetch(location.origin + \"/status\"") != std::string::npos);

  // The probes: no credentials asked.
  const CurlReply live = curl(ns.get(), https_url(port, "/livez"), {"--cacert", ca});
  CHECK(live.status == 200);
  CHECK(live.body == "live\n");
  const CurlReply ready = curl(ns.get(), https_url(port, "/readyz"), {"--cacert", ca});
  CHECK(ready.status == 200);
  CHECK(json::parse(ready.body)["ready"] == true);
  CHECK(curl(ns.get(), https_url(port, "/readyz"), {"--cacert", ca, "-I"}).status == 200);  // HEAD

  // The failed-login limit STOMP uses (maximumFailedLogins 4; the logins above that
  // succeeded cleared the count): after 4 failures from this address even the right
  // password is refused until the window ends.
  for (int i = 0; i < 4; ++i)
    CHECK(curl(ns.get(), https_url(port, "/status"), {"--cacert", ca, "-u", "ops:guess" + std::to_string(i)}).status ==
          401);
  const CurlReply blocked = curl(ns.get(), https_url(port, "/status"), {"--cacert", ca, "-u", "ops:ops-pw"});
  CHECK(blocked.status == 429);
  CHECK(blocked.body.find(std::string("too many failed logins from ") + kAddress) != std::string::npos);
  // The probes still answer a blocked address: they ask nobody's password.
  CHECK(curl(ns.get(), https_url(port, "/readyz"), {"--cacert", ca}).status == 200);
}

TEST_CASE("35 admin remote: twinmq-admin over https: --cacert, --config's trustedCAs, an untrusted certificate, no credentials") {
  auto ns = make_namespace();
  if (!ns) return;
  Pki pki;
  BrokerProcess b(admin_broker(pki, https_url(0), ns->path()));
  const std::uint16_t port = admin_port(b);
  const std::string ca = pki.good.certificate().string();
  const KeyValues pw = {{"TWINMQ_ADMIN_PASSWORD", "ops-pw"}};

  const ToolRun status = admin_tool(ns.get(), {"--url", https_url(port), "--cacert", ca, "--user", "ops", "status"}, pw);
  INFO(status.err);
  CHECK(status.code == 0);
  CHECK(status.out.find("broker     remote") != std::string::npos);
  CHECK(admin_tool(ns.get(), {"--url", https_url(port), "--cacert", ca, "--user", "ops", "check", "ready"}, pw).code ==
        0);
  // The probes need no user: a monitoring check works without one.
  const ToolRun live = admin_tool(ns.get(), {"--url", https_url(port), "--cacert", ca, "check", "live"});
  CHECK(live.code == 0);
  // --config gives the CA (its <sslContext trustedCAs>) when --cacert does not.
  const ToolRun from_config = admin_tool(
      ns.get(), {"--config", b.config_file().string(), "--url", https_url(port), "--user", "ops", "--json", "status"}, pw);
  INFO(from_config.err);
  CHECK(from_config.code == 0);
  CHECK(json::parse(from_config.out)["broker"] == "remote");

  // No credentials: the endpoint's 401, as an error.
  const ToolRun anonymous = admin_tool(ns.get(), {"--url", https_url(port), "--cacert", ca, "status"});
  CHECK(anonymous.code == 2);
  CHECK(anonymous.err.find("HTTP 401: credentials required") != std::string::npos);
  // A CA that did not sign the broker's certificate, and none at all (the system's).
  const ToolRun rogue = admin_tool(
      ns.get(), {"--url", https_url(port), "--cacert", pki.rogue.certificate().string(), "--user", "ops", "status"}, pw);
  CHECK(rogue.code == 2);
  CHECK(rogue.err.find("the endpoint's certificate is not signed by a CA in --cacert") != std::string::npos);
  const ToolRun system = admin_tool(ns.get(), {"--url", https_url(port), "--user", "ops", "status"}, pw);
  CHECK(system.code == 2);
  CHECK(system.err.find("give the CA that signed the broker's <sslContext certificate> with --cacert FILE") !=
        std::string::npos);
  // Each handshake the tool broke off is in the broker's log with its address.
  CHECK(b.wait_for_output(std::string("TLS handshake with ") + kAddress + ":", Ms(5000), true));
}

TEST_CASE("35 admin remote: a plain-text client on the https port gets nothing it can use, and the broker keeps serving") {
  auto ns = make_namespace();
  if (!ns) return;
  Pki pki;
  BrokerProcess b(admin_broker(pki, https_url(0), ns->path()));
  const std::uint16_t port = admin_port(b);
  const std::string plain = "http://" + std::string(kAddress) + ":" + std::to_string(port);
  const CurlReply r = curl(ns.get(), plain + "/status", {"-u", "ops:ops-pw"});
  INFO(r.output);
  CHECK(r.status != 200);
  CHECK(r.output.find("\"broker\"") == std::string::npos);
  CHECK(b.wait_for_output("(the peer does not speak TLS: a plain-text client on a TLS port?)", Ms(5000), true));
  const ToolRun tool = admin_tool(ns.get(), {"--url", plain, "--user", "ops", "status"}, {{"TWINMQ_ADMIN_PASSWORD", "ops-pw"}});
  CHECK(tool.code == 2);
  CHECK(tool.err.find("if its <managementContext uri> is https://, use an https:// URL") != std::string::npos);
  // Still serving, over https and STOMP.
  const CurlReply after = curl(ns.get(), https_url(port, "/status"),
                               {"--cacert", pki.good.certificate().string(), "-u", "ops:ops-pw"});
  CHECK(after.status == 200);
  CHECK(b.running());
}

TEST_CASE("35 admin remote: refused at start-up: http:// beyond loopback, no admin user, https:// without <sslContext>") {
  TempDir dir("adminremote");
  const std::string ops_admin = "  <plugins><simpleAuthenticationPlugin><users><authenticationUser username=\"ops\" "
                                "password=\"pw\" groups=\"admin\"/></users></simpleAuthenticationPlugin></plugins>\n";
  {
    auto [code, log] = refused_start(dir, "  <managementContext uri=\"http://0.0.0.0:8162\"/>\n" + ops_admin);
    INFO(log);
    CHECK(code == 2);
    CHECK(log.find("broker.xml:3: <managementContext uri=\"http://0.0.0.0:8162\">: address '0.0.0.0' is not a "
                   "loopback address, and over http:// the admin password would cross the network in clear") !=
          std::string::npos);
    CHECK(log.find("use https://0.0.0.0:8162") != std::string::npos);
  }
  {
    const std::string no_admin = "  <plugins><simpleAuthenticationPlugin><users><authenticationUser username=\"app\" "
                                 "password=\"pw\" groups=\"users\"/></users></simpleAuthenticationPlugin></plugins>\n";
    auto [code, log] = refused_start(dir, "  <managementContext uri=\"https://0.0.0.0:8162\"/>\n" + no_admin);
    INFO(log);
    CHECK(code == 2);
    CHECK(log.find("broker.xml:3: <managementContext uri=\"https://0.0.0.0:8162\">: address '0.0.0.0' is not a "
                   "loopback address, so every path but /livez and /readyz needs a user of the 'admin' group") !=
          std::string::npos);
  }
  {
    auto [code, log] = refused_start(dir, "  <managementContext uri=\"https://127.0.0.1:0\"/>\n");
    INFO(log);
    CHECK(code == 2);
    CHECK(log.find("broker.xml:3: <managementContext uri=\"https://127.0.0.1:0\">: https:// needs the broker's "
                   "<sslContext") != std::string::npos);
  }
}

TEST_CASE("35 admin remote: on loopback the read-only paths stay open, over http:// and https://, with users configured") {
  Pki pki;
  for (const std::string scheme : {"http", "https"}) {
    CAPTURE(scheme);
    BrokerProcess b(admin_broker(pki, scheme + "://127.0.0.1:0"));
    const std::uint16_t port = admin_port(b);
    const std::string base = scheme + "://127.0.0.1:" + std::to_string(port);
    const std::vector<std::string> ca = {"--cacert", pki.good.certificate().string()};
    const CurlReply status = curl(nullptr, base + "/status", ca);
    INFO(status.output);
    CHECK(status.status == 200);
    CHECK(json::parse(status.body)["broker"] == "remote");
    CHECK(curl(nullptr, base + "/metrics", ca).status == 200);
    // The verbs still ask.
    CHECK(curl(nullptr, base + "/api/queues/q/messages", ca).status == 401);
    std::vector<std::string> as_ops = ca;
    as_ops.insert(as_ops.end(), {"-u", "ops:ops-pw"});
    CHECK(curl(nullptr, base + "/api/queues/q/messages", as_ops).status == 404);  // no such queue: access granted
  }
}
