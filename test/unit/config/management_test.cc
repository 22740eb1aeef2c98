// <managementContext> beyond loopback and over https:// (README "<managementContext>"):
// the exact "file:line: text" of each refusal. What needs real certificate files (an
// https:// endpoint that loads and answers) is in integration area 35.
#include <doctest.h>

#include <string>

#include "config/uri.h"
#include "helpers.h"

namespace twinmq::config {

using test::broker;
using test::error_of;
using test::errors_of;

namespace {

std::string management(const std::string& uri) { return "<managementContext uri=\"" + uri + "\"/>\n"; }

// <plugins> with one user in `groups`.
std::string user_in(const std::string& groups) {
  return "<plugins><simpleAuthenticationPlugin><users>\n"
         "<authenticationUser username=\"ops\" password=\"pw\" groups=\"" +
         groups + "\"/>\n</users></simpleAuthenticationPlugin></plugins>\n";
}

}  // namespace

TEST_CASE("management: which hosts are loopback") {
  for (const char* yes : {"localhost", "127.0.0.1", "127.255.1.2", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"}) {
    CAPTURE(yes);
    CHECK(is_loopback_host(yes));
  }
  for (const char* no : {"0.0.0.0", "::", "10.213.0.1", "128.0.0.1", "127.evil.example", "localhost.example", "fe80::1",
                         "broker1", "::ffff:10.0.0.1"}) {
    CAPTURE(no);
    CHECK_FALSE(is_loopback_host(no));
  }
}

TEST_CASE("management: plain http:// beyond loopback is refused, pointing to https://") {
  // With an admin user, so that the http:// refusal is the only one.
  CHECK(error_of(broker("", management("http://0.0.0.0:8162") + user_in("admin"))) ==
        "conf/broker.xml:2: <managementContext uri=\"http://0.0.0.0:8162\">: address '0.0.0.0' is not a loopback "
        "address, and over http:// the admin password would cross the network in clear with every request: use "
        "https://0.0.0.0:8162 (with the broker's <sslContext>), or listen on 127.0.0.1");
  CHECK(error_of(broker("", management("http://[::]:8162") + user_in("admin"))).find("use https://[::]:8162") !=
        std::string::npos);
  CHECK(error_of(broker("", management("http://10.213.0.1:8162") + user_in("admin"))).find(
            "address '10.213.0.1' is not a loopback address") != std::string::npos);
  // A host name is not loopback, whatever it starts with.
  CHECK(error_of(broker("", management("http://127.evil.example:8162") + user_in("admin"))).find(
            "not a loopback address") != std::string::npos);
}

TEST_CASE("management: beyond loopback there must be a user of the admin group") {
  const std::string no_users_text =
      "conf/broker.xml:2: <managementContext uri=\"https://0.0.0.0:8162\">: address '0.0.0.0' is not a loopback "
      "address, so every path but /livez and /readyz needs a user of the 'admin' group, and no "
      "<authenticationUser> has groups=\"admin\" (add one inside <plugins><simpleAuthenticationPlugin><users>), or "
      "listen on 127.0.0.1";
  // No users at all; the https:// refusal (no <sslContext>) comes with it.
  const auto none = errors_of(broker("", management("https://0.0.0.0:8162")));
  REQUIRE(none.size() == 2);
  CHECK(none[0].find("https:// needs the broker's <sslContext") != std::string::npos);
  CHECK(none[1] == no_users_text);
  // A user, but in other groups ("administrators" is not "admin").
  const auto others = errors_of(broker("", management("https://0.0.0.0:8162") + user_in("users,administrators")));
  REQUIRE(others.size() == 2);
  CHECK(others[1] == no_users_text);
  // The users may come after the element: checked once the whole file is read.
  const auto later = errors_of(broker("", user_in("ops,admin") + management("https://0.0.0.0:8162")));
  REQUIRE(later.size() == 1);
  CHECK(later[0].find("needs the broker's <sslContext") != std::string::npos);
}

TEST_CASE("management: https:// needs an <sslContext>, on loopback too") {
  CHECK(error_of(broker("", management("https://127.0.0.1:8162"))) ==
        "conf/broker.xml:2: <managementContext uri=\"https://127.0.0.1:8162\">: https:// needs the broker's "
        "<sslContext certificate=\"...\" privateKey=\"...\"/> (the certificate the endpoint shows; add one inside "
        "<broker>), or use http:// on 127.0.0.1");
  // A broken <sslContext> is reported where it is, and only there.
  const auto broken = errors_of(broker("", "<sslContext certificate=\"/nonexistent/b.pem\" privateKey=\"/nonexistent/b.key\"/>\n" +
                                               management("https://127.0.0.1:8162")));
  REQUIRE(broken.size() == 1);
  CHECK(broken[0].starts_with("conf/broker.xml:2: <sslContext>"));
}

TEST_CASE("management: the scheme and the loopback flag as loaded") {
  const Config c = test::load_ok(broker("", management("http://localhost:0")));
  REQUIRE(c.management.has_value());
  CHECK(c.management->loopback);
  CHECK_FALSE(c.management->tls);
}

}  // namespace twinmq::config
