// Rules across elements: connectors, the master/slave role, replication timing, users.
#include <doctest.h>

#include <algorithm>
#include <string>

#include "helpers.h"

namespace twinmq::config {

using test::broker;
using test::connectors;
using test::error_of;
using test::errors_of;

namespace {
const std::string kStomp = "<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:61613\"/>\n";    // line 3
const std::string kReplication = "<transportConnector name=\"replication\" uri=\"tcp://127.0.0.1:62001\"/>\n";
}  // namespace

TEST_CASE("connectors: names and addresses are unique") {
  CHECK(error_of(broker("", connectors(kStomp + "<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:61614\"/>\n"))) ==
        "conf/broker.xml:4: duplicate transportConnector name 'stomp' (first at line 3)");
  CHECK(error_of(broker("", connectors(kStomp + "<transportConnector name=\"stomp2\" uri=\"stomp://127.0.0.1:61613\"/>\n"))) ==
        "conf/broker.xml:4: transportConnector 'stomp2': address 127.0.0.1:61613 is already used by "
        "transportConnector 'stomp' (line 3)");
  // A wildcard host overlaps every host on the same port.
  CHECK(error_of(broker("", connectors(kStomp + "<transportConnector name=\"replication\" uri=\"tcp://0.0.0.0:61613\"/>\n"))) ==
        "conf/broker.xml:4: transportConnector 'replication': address 0.0.0.0:61613 is already used by "
        "transportConnector 'stomp' (line 3)");
  CHECK(error_of(broker("", connectors(kStomp + "<transportConnector name=\"v6\" uri=\"stomp://[::]:61613\"/>\n"))) ==
        "conf/broker.xml:4: transportConnector 'v6': address [::]:61613 is already used by transportConnector 'stomp' "
        "(line 3)");
  // Different hosts, different ports, or port 0 (the OS picks distinct ports): fine.
  test::load_ok(broker("", connectors(kStomp + "<transportConnector name=\"v6\" uri=\"stomp://[::1]:61613\"/>\n" +
                                      "<transportConnector name=\"other\" uri=\"stomp://127.0.0.1:61614\"/>\n")));
  test::load_ok(broker("", connectors("<transportConnector name=\"a\" uri=\"stomp://127.0.0.1:0\"/>\n"
                                      "<transportConnector name=\"b\" uri=\"stomp://127.0.0.1:0\"/>\n")));
}

TEST_CASE("connectors: tcp:// is the one replication listener") {
  CHECK(error_of(broker("", connectors(kStomp + "<transportConnector name=\"repl\" uri=\"tcp://0.0.0.0:62001\"/>\n"))) ==
        "conf/broker.xml:4: transportConnector 'repl': a tcp:// connector is the replication listener and must be "
        "named 'replication'");
  CHECK(errors_of(broker("", connectors(kStomp + kReplication +
                                        "<transportConnector name=\"replication\" uri=\"tcp://0.0.0.0:62002\"/>\n"))) ==
        std::vector<std::string>{
            "conf/broker.xml:5: duplicate transportConnector name 'replication' (first at line 4)",
            "conf/broker.xml:5: transportConnector 'replication': only one replication listener is allowed (first "
            "at line 4)"});
  CHECK(error_of(broker("", connectors(kStomp + "<transportConnector name=\"replication\" uri=\"stomp://0.0.0.0:62001\"/>\n"))) ==
        "conf/broker.xml:4: transportConnector 'replication': the name 'replication' is kept for the tcp:// or "
        "ssl:// replication listener");
  // An ssl:// listener is named as written, not as the tcp:// it is read as.
  const auto ssl_errors = errors_of(broker("", connectors(kStomp + "<transportConnector name=\"repl\" uri=\"ssl://0.0.0.0:62001\"/>\n")));
  CHECK(std::find(ssl_errors.begin(), ssl_errors.end(),
                  "conf/broker.xml:4: transportConnector 'repl': an ssl:// connector is the replication listener and "
                  "must be named 'replication'") != ssl_errors.end());
  CHECK(error_of(broker("", connectors(kStomp + "<transportConnector name=\"replication\" uri=\"tcp://0.0.0.0:62001?x=1\"/>\n"))) ==
        "conf/broker.xml:4: transportConnector 'replication': tcp:// takes no options, got 'x' in uri "
        "'tcp://0.0.0.0:62001?x=1'");
}

TEST_CASE("connectors: a broker needs a stomp connector") {
  CHECK(error_of("<broker>\n</broker>\n") ==
        "conf/broker.xml:1: no stomp connector: clients could not connect (add <transportConnector name=\"stomp\" "
        "uri=\"stomp://0.0.0.0:61613\"/> inside <transportConnectors>)");
  CHECK(error_of(broker("", connectors(kReplication))) ==
        "conf/broker.xml:1: no stomp connector: clients could not connect (add <transportConnector name=\"stomp\" "
        "uri=\"stomp://0.0.0.0:61613\"/> inside <transportConnectors>)");
  // A broken connector may have been meant as the stomp one: it is reported alone.
  CHECK(error_of(broker("", connectors("<transportConnector name=\"stomp\" uri=\"stomp://0.0.0.0:70000\"/>\n"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': port 70000 out of range in uri 'stomp://0.0.0.0:70000'");
}

TEST_CASE("slave: one way to name the master, tcp:// with a real port") {
  CHECK(error_of(broker("masterConnectorURI=\"tcp://m:62001\"",
                        "<services><masterConnector remoteURI=\"tcp://m:62001\"/></services>\n")) ==
        "conf/broker.xml:2: <masterConnector> and masterConnectorURI (line 1) both name the master; give only one");
  CHECK(error_of(broker("masterConnectorURI=\"stomp://m:61613\"", "")) ==
        "conf/broker.xml:1: masterConnectorURI: scheme 'stomp' is not supported (the master's replication listener "
        "is tcp://, or ssl:// with TLS) in uri 'stomp://m:61613'");
  CHECK(error_of(broker("masterConnectorURI=\"tcp://m:0\"", "")) ==
        "conf/broker.xml:1: masterConnectorURI: port 0 is not allowed (give the master's replication port) in uri "
        "'tcp://m:0'");
  CHECK(error_of(broker("masterConnectorURI=\"tcp://m\"", "")) ==
        "conf/broker.xml:1: masterConnectorURI: missing port in uri 'tcp://m'");
  CHECK(error_of(broker("masterConnectorURI=\"tcp://m:1?a=b\"", "")) ==
        "conf/broker.xml:1: masterConnectorURI: tcp:// takes no options, got 'a' in uri 'tcp://m:1?a=b'");
  CHECK(error_of(broker("", "<services><masterConnector remoteURI=\"failover:(tcp://m:1)\"/></services>\n")) ==
        "conf/broker.xml:2: <masterConnector> remoteURI: failover: lists several brokers for a client; a connector names one address "
        "(scheme://host:port) in uri "
        "'failover:(tcp://m:1)'");
}

TEST_CASE("slave: master-only settings are errors") {
  CHECK(errors_of("<broker masterConnectorURI=\"tcp://m:62001\"\n waitForSlave=\"false\"\n shutdownOnSlaveFailure=\"true\"\n"
                  " minimumReplicas=\"0\">\n" + connectors(kStomp + kReplication) + "</broker>\n") ==
        std::vector<std::string>{
            "conf/broker.xml:2: waitForSlave is a master-only setting, but this broker is a slave "
            "(masterConnectorURI at line 1)",
            "conf/broker.xml:3: shutdownOnSlaveFailure is a master-only setting, but this broker is a slave "
            "(masterConnectorURI at line 1)",
            "conf/broker.xml:4: minimumReplicas is a master-only setting, but this broker is a slave "
            "(masterConnectorURI at line 1)"});
  // A replication listener is fine: it opens when the slave is promoted (for --rejoin).
  test::load_ok("<broker masterConnectorURI=\"tcp://m:62001\">\n" + connectors(kStomp + kReplication) + "</broker>\n");
  CHECK(error_of(broker("waitForSlave=\"true\"", "<services><masterConnector remoteURI=\"tcp://m:1\"/></services>\n")) ==
        "conf/broker.xml:1: waitForSlave is a master-only setting, but this broker is a slave (<masterConnector> at "
        "line 2)");
}

TEST_CASE("master: slave-only settings and settings with no replication listener are errors") {
  CHECK(error_of(broker("shutdownOnMasterFailure=\"true\"", "")) ==
        "conf/broker.xml:1: shutdownOnMasterFailure is a slave-only setting, but this broker has no "
        "masterConnectorURI or <masterConnector>, so it would start as a master");
  CHECK(errors_of(broker("waitForSlave=\"true\" shutdownOnSlaveFailure=\"true\" minimumReplicas=\"1\"", "")) ==
        std::vector<std::string>{
            "conf/broker.xml:1: waitForSlave=\"true\" needs a replication listener (<transportConnector "
            "name=\"replication\" uri=\"tcp://0.0.0.0:62001\"/>)",
            "conf/broker.xml:1: shutdownOnSlaveFailure=\"true\" needs a replication listener (<transportConnector "
            "name=\"replication\" uri=\"tcp://0.0.0.0:62001\"/>)",
            "conf/broker.xml:1: minimumReplicas=\"1\" needs a replication listener (<transportConnector "
            "name=\"replication\" uri=\"tcp://0.0.0.0:62001\"/>)"});
  // Written but off: nothing to wait for, so no listener is needed.
  test::load_ok(broker("waitForSlave=\"false\" shutdownOnSlaveFailure=\"false\" minimumReplicas=\"0\"", ""));
}

TEST_CASE("replication timing: the link timeout exceeds the heart-beat interval") {
  CHECK(error_of(broker("replicationHeartbeatInterval=\"5000\"", "")) ==
        "conf/broker.xml:1: replicationLinkTimeout (3000 ms) must be greater than replicationHeartbeatInterval "
        "(5000 ms)");
  CHECK(error_of(broker("replicationHeartbeatInterval=\"1000\"\n replicationLinkTimeout=\"1000\"", "")) ==
        "conf/broker.xml:2: replicationLinkTimeout (1000 ms) must be greater than replicationHeartbeatInterval "
        "(1000 ms)");
}

TEST_CASE("users: unique names; a plugin without users is refused") {
  CHECK(error_of(broker("", "<plugins><simpleAuthenticationPlugin><users>\n"
                            "<authenticationUser username=\"a\" password=\"1\"/>\n"
                            "<authenticationUser username=\"b\" password=\"2\"/>\n"
                            "<authenticationUser username=\"a\" password=\"3\"/>\n"
                            "</users></simpleAuthenticationPlugin></plugins>\n")) ==
        "conf/broker.xml:5: duplicate authenticationUser 'a' (first at line 3)");
  CHECK(error_of(broker("", "<plugins>\n<simpleAuthenticationPlugin/>\n</plugins>\n")) ==
        "conf/broker.xml:3: <simpleAuthenticationPlugin> has no <authenticationUser>; add users, remove the plugin, or say "
        "anonymousAccessAllowed=\"true\"");
  CHECK(error_of(broker("", "<plugins>\n<simpleAuthenticationPlugin><users/></simpleAuthenticationPlugin>\n</plugins>\n")) ==
        "conf/broker.xml:3: <simpleAuthenticationPlugin> has no <authenticationUser>; add users, remove the plugin, or say "
        "anonymousAccessAllowed=\"true\"");
}

TEST_CASE("witness: an etcd key for a pair, in whole seconds, with a store") {
  const std::string master = connectors(kStomp + kReplication);
  const auto witness = [](const std::string& attrs) { return "<witness " + attrs + "/>\n"; };
  // A master and a slave may both name it; every attribute is read.
  const Config m = test::load_ok(broker("", master + witness("uri=\"etcd://10.0.0.3:2379,10.0.0.4\" key=\"/twinmq/pairs/orders\" "
                                                              "leaseMillis=\"5000\" userName=\"twinmq\" password=\"s3cret\"")));
  REQUIRE(m.witness.has_value());
  CHECK(m.witness->uri == "etcd://10.0.0.3:2379,10.0.0.4");
  CHECK(m.witness->key == "/twinmq/pairs/orders");
  CHECK(m.witness->lease_ms == 5000);
  CHECK(m.witness->user_name == "twinmq");
  CHECK(m.witness->password == "s3cret");
  const Config s = test::load_ok(broker("masterConnectorURI=\"tcp://m:62001\"",
                                        witness("uri=\"etcd://127.0.0.1:2379\" key=\"/k\"")));
  REQUIRE(s.witness.has_value());
  CHECK(s.witness->lease_ms == 3000);
  CHECK_FALSE(test::load_ok(broker("", master)).witness.has_value());

  // Line 2 is <transportConnectors>, the connectors take lines 2-5, <witness> is line 6.
  CHECK(error_of(broker("", master + witness("key=\"/k\""))) ==
        "conf/broker.xml:6: <witness> is missing the required attribute 'uri'");
  CHECK(error_of(broker("", master + witness("uri=\"etcds://h:2379\" key=\"/k\""))) ==
        "conf/broker.xml:6: <witness> uri (etcds://h:2379) speaks TLS but the broker has no <sslContext "
        "certificate=\"...\" privateKey=\"...\" trustedCAs=\"...\"/> (add one inside <broker>)");
  CHECK(error_of(broker("", master + witness("uri=\"etcd://h:2379\" key=\"twinmq\""))) ==
        "conf/broker.xml:6: <witness> key must be an etcd key path like /twinmq/pairs/orders (starting with '/', "
        "no spaces), got 'twinmq'");
  CHECK(error_of(broker("", master + witness("uri=\"etcd://h:2379\" key=\"/k\" leaseMillis=\"2500\""))) ==
        "conf/broker.xml:6: <witness> leaseMillis must be a whole number of seconds in milliseconds (etcd leases "
        "count seconds), e.g. 3000, got '2500'");
  CHECK(error_of(broker("", master + witness("uri=\"etcd://h:2379\" key=\"/k\" leaseMillis=\"1000\""))) ==
        "conf/broker.xml:6: <witness> leaseMillis must be a whole number of milliseconds from 2000 to 60000, got "
        "'1000'");
  // It decides between the two brokers of a pair, by their stores' epochs.
  CHECK(error_of(broker("", witness("uri=\"etcd://h:2379\" key=\"/k\""))) ==
        "conf/broker.xml:2: <witness> decides which broker of a pair serves, but this broker is not in a pair (no "
        "replication listener, no masterConnectorURI)");
  CHECK(error_of(broker("persistent=\"false\"", master + witness("uri=\"etcd://h:2379\" key=\"/k\""))) ==
        "conf/broker.xml:6: <witness> needs persistent=\"true\": the pair's epoch it keeps is the store's");
}

TEST_CASE("waitForSlaveTimeout: a master's, with waitForSlave") {
  const std::string master = connectors(kStomp + kReplication);
  CHECK(test::load_ok(broker("waitForSlave=\"true\" waitForSlaveTimeout=\"2500\"", master)).replication
            .wait_for_slave_timeout_ms == 2500);
  CHECK(test::load_ok(broker("waitForSlave=\"true\"", master)).replication.wait_for_slave_timeout_ms == 600'000);
  CHECK(error_of(broker("waitForSlaveTimeout=\"2500\"", master)) ==
        "conf/broker.xml:1: waitForSlaveTimeout applies only with waitForSlave=\"true\" (how long to wait for a slave "
        "before giving up)");
  CHECK(error_of(broker("masterConnectorURI=\"tcp://m:1\" waitForSlaveTimeout=\"2500\"", "")) ==
        "conf/broker.xml:1: waitForSlaveTimeout is a master-only setting, but this broker is a slave "
        "(masterConnectorURI at line 1)");
}

}  // namespace twinmq::config
