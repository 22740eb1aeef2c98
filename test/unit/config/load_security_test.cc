// <plugins>: users with hashed passwords, anonymousAccessAllowed, failed-login limits,
// <authorizationPlugin>, replicationGroup, and listeners other hosts can reach.
#include <doctest.h>

#include "auth/password.h"
#include "helpers.h"

namespace twinmq::config::test {
namespace {

std::string users(const std::string& inner, const std::string& plugin_attributes = "") {
  return "<plugins>\n<simpleAuthenticationPlugin" + plugin_attributes + "><users>\n" + inner +
         "</users></simpleAuthenticationPlugin>\n</plugins>\n";
}

}  // namespace

TEST_CASE("a hashed password is recognised; a broken one is an error at its line") {
  const std::string hash = *auth::hash_password("pw");
  Config c = load_ok(broker("", users("<authenticationUser username=\"a\" password=\"" + hash + "\" groups=\"x\"/>\n"
                                      "<authenticationUser username=\"b\" password=\"plain\"/>\n")));
  REQUIRE(c.users.size() == 2);
  CHECK(c.users[0].hashed);
  CHECK_FALSE(c.users[1].hashed);
  const std::string e = error_of(broker("", users("<authenticationUser username=\"a\" password=\"" +
                                                  hash.substr(0, hash.size() - 5) + "\"/>\n")));
  CHECK(e.starts_with("conf/broker.xml:4: <authenticationUser> 'a': password looks like a crypt(3) hash ('$y$...')"));
  CHECK(error_of(broker("", users("<authenticationUser username=\"a\" password=\"$argon2id$v=19$x\"/>\n")))
            .find("this system's libcrypt does not take it") != std::string::npos);
}

TEST_CASE("<simpleAuthenticationPlugin> attributes, with defaults and ranges") {
  Config c = load_ok(broker("", users("<authenticationUser username=\"a\" password=\"p\"/>\n")));
  CHECK_FALSE(c.security.anonymous_access_allowed);
  CHECK(c.security.max_failed_logins == 5);
  CHECK(c.security.failed_login_window_ms == 60000);
  c = load_ok(broker("", users("<authenticationUser username=\"a\" password=\"p\"/>\n",
                               " anonymousAccessAllowed=\"true\" maximumFailedLogins=\"0\" failedLoginWindow=\"5000\"")));
  CHECK(c.security.anonymous_access_allowed);
  CHECK(c.security.max_failed_logins == 0);
  CHECK(c.security.failed_login_window_ms == 5000);
  CHECK(error_of(broker("", users("<authenticationUser username=\"a\" password=\"p\"/>\n", " failedLoginWindow=\"10\"")))
            .find("failedLoginWindow") != std::string::npos);
  CHECK(error_of(broker("", users("<authenticationUser username=\"a\" password=\"p\"/>\n", " anonymousAccessAlowed=\"true\"")))
            .find("did you mean 'anonymousAccessAllowed'?") != std::string::npos);
  // An explicitly open broker needs no users.
  load_ok(broker("", "<plugins><simpleAuthenticationPlugin anonymousAccessAllowed=\"true\"/></plugins>\n"));
}

TEST_CASE("<authorizationPlugin>: entries in ActiveMQ's shape; wrong forms are errors at their line") {
  const std::string map =
      "<plugins><authorizationPlugin><map><authorizationMap><authorizationEntries>\n"
      "<authorizationEntry queue=\"orders.>\" read=\"consumers\" write=\"producers, admins\" admin=\"admins\"/>\n"
      "<authorizationEntry topic=\"prices.*\" read=\"everyone\"/>\n"
      "</authorizationEntries></authorizationMap></map></authorizationPlugin></plugins>\n";
  Config c = load_ok(broker("", map));
  REQUIRE(c.security.authorization.size() == 2);
  CHECK(c.security.authorization[0].pattern == "orders.>");
  CHECK(c.security.authorization[0].write == std::vector<std::string>{"producers", "admins"});
  CHECK(c.security.authorization[1].is_topic);
  CHECK(c.security.authorization[1].admin.empty());
  CHECK(error_of(broker("", "<plugins><authorizationPlugin><map><authorizationMap><authorizationEntries>\n"
                            "<authorizationEntry queue=\"a.>.b\" read=\"x\"/>\n"
                            "</authorizationEntries></authorizationMap></map></authorizationPlugin></plugins>\n")) ==
        "conf/broker.xml:3: <authorizationEntry> queue pattern 'a.>.b' uses \">\" before the last segment (it matches "
        "the rest)");
  CHECK(error_of(broker("", "<plugins><authorizationPlugin><map><authorizationMap><authorizationEntries>\n"
                            "<authorizationEntry queue=\"a\" reed=\"x\"/>\n"
                            "</authorizationEntries></authorizationMap></map></authorizationPlugin></plugins>\n"))
            .find("did you mean 'read'?") != std::string::npos);
  CHECK(errors_of(broker("", "<plugins><authorizationPlugin><map><authorizationMap><tempDestinationAuthorizationEntry/>"
                             "</authorizationMap></map></authorizationPlugin></plugins>\n"))
            .front()
            .find("unknown element <tempDestinationAuthorizationEntry>") != std::string::npos);
  CHECK(error_of(broker("", "<plugins><authorizationPlugin><map><authorizationMap><authorizationEntries>\n"
                            "<authorizationEntry read=\"x\"/>\n"
                            "</authorizationEntries></authorizationMap></map></authorizationPlugin></plugins>\n")) ==
        "conf/broker.xml:3: <authorizationEntry> needs a queue=\"...\" or topic=\"...\" pattern");
  CHECK(error_of(broker("", "<plugins>\n<authorizationPlugin/></plugins>\n")) ==
        "conf/broker.xml:3: <authorizationPlugin> has no <authorizationEntry>; add entries or remove the plugin");
}

TEST_CASE("listeners other hosts can reach need users (or, for clients, anonymousAccessAllowed)") {
  const std::string open_stomp = connectors("<transportConnector name=\"stomp\" uri=\"stomp://0.0.0.0:61613\"/>\n");
  CHECK(error_of(broker("", open_stomp)).starts_with(
      "conf/broker.xml:3: transportConnector 'stomp' listens on 0.0.0.0 (not loopback) and no <authenticationUser> is "
      "configured"));
  load_ok(broker("", open_stomp + "<plugins><simpleAuthenticationPlugin anonymousAccessAllowed=\"true\"/></plugins>\n"));
  load_ok(broker("", open_stomp + users("<authenticationUser username=\"a\" password=\"p\"/>\n")));
  for (const char* host : {"127.0.0.1", "localhost", "[::1]"})
    load_ok(broker("", connectors(std::string("<transportConnector name=\"stomp\" uri=\"stomp://") + host + ":61613\"/>\n")));
  // The replication listener: anonymousAccessAllowed does not open it.
  const std::string open_link = connectors(
      "<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:61613\"/>\n"
      "<transportConnector name=\"replication\" uri=\"tcp://10.1.2.3:62001\"/>\n");
  CHECK(error_of(broker("", open_link + "<plugins><simpleAuthenticationPlugin anonymousAccessAllowed=\"true\"/></plugins>\n"))
            .find("could attach as the slave") != std::string::npos);
  load_ok(broker("", open_link + users("<authenticationUser username=\"r\" password=\"p\" groups=\"replicas\"/>\n")));
}

TEST_CASE("replicationGroup: one group some user has, on a broker with a replication listener") {
  const std::string link = connectors(
      "<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:61613\"/>\n"
      "<transportConnector name=\"replication\" uri=\"tcp://127.0.0.1:62001\"/>\n");
  const std::string u = users("<authenticationUser username=\"r\" password=\"p\" groups=\"a, replicas\"/>\n");
  Config c = load_ok(broker("replicationGroup=\"replicas\"", link + u));
  CHECK(c.security.replication_group == "replicas");
  CHECK(error_of(broker("replicationGroup=\"other\"", link + u)) ==
        "conf/broker.xml:1: replicationGroup 'other': no <authenticationUser> is in that group, so no slave could "
        "attach (add it to the groups of the user the slave logs in as)");
  CHECK(error_of(broker("replicationGroup=\"replicas\"", u)).find("no replication listener") != std::string::npos);
  CHECK(error_of(broker("replicationGroup=\"a,b\"", link + u)).find("one group name") != std::string::npos);
}

}  // namespace twinmq::config::test
