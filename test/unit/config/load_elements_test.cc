// Every element and attribute of the vocabulary lands in Config; defaults hold
// when nothing is written.
#include <doctest.h>

#include "helpers.h"

namespace twinmq::config {

TEST_CASE("defaults: the smallest valid file") {
  LoadResult r = test::load(
      "<broker>\n<transportConnectors><transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:61613\"/>"
      "</transportConnectors>\n</broker>\n");
  REQUIRE(r.ok());
  CHECK(r.warnings.empty());
  const Config& c = r.config;
  CHECK(c.source_file == "conf/broker.xml");
  CHECK(c.broker_name == "localhost");
  CHECK(c.data_directory == "data");
  CHECK(c.persistent);
  REQUIRE(c.connectors.size() == 1);
  const TransportConnector& s = c.connectors[0];
  CHECK(s.name == "stomp");
  CHECK(s.uri == "stomp://127.0.0.1:61613");
  CHECK(s.line == 2);
  CHECK(s.endpoint.scheme == "stomp");
  CHECK(s.endpoint.host == "127.0.0.1");
  CHECK(s.endpoint.port == 61613);
  CHECK(s.stomp.max_frame_size == 10u << 20);
  CHECK(s.stomp.max_header_section == 64u << 10);
  CHECK(s.stomp.max_headers == 1000);
  CHECK(s.stomp.connect_timeout_ms == 30000);
  CHECK(s.stomp.heart_beat_grace == 1.5);
  CHECK(s.stomp.server_heart_beat_ms == 10000);
  CHECK(s.stomp.max_pending_output == 64u << 20);
  CHECK(c.policies.empty());
  CHECK(c.journal.directory == "data/journal");
  CHECK(c.journal.sync_on_write);
  CHECK(c.journal.max_segment_size == 32u << 20);
  CHECK(c.users.empty());
  const ReplicationConfig& rep = c.replication;
  CHECK_FALSE(rep.master.has_value());
  CHECK(rep.master_uri.empty());
  CHECK(rep.user_name.empty());
  CHECK(rep.password.empty());
  CHECK_FALSE(rep.shutdown_on_master_failure);
  CHECK_FALSE(rep.wait_for_slave);
  CHECK_FALSE(rep.shutdown_on_slave_failure);
  CHECK(rep.minimum_replicas == 0);
  CHECK(rep.heart_beat_ms == 500);
  CHECK(rep.link_timeout_ms == 3000);
  CHECK(rep.retain_bytes == 128ull << 20);
}

TEST_CASE("a master with every element and attribute") {
  const Config c = test::load_ok(R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root -->
<broker xmlns="http://activemq.apache.org/schema/core" brokerName="master-1" dataDirectory="/var/lib/twinmq"
        persistent="true" waitForSlave="true" shutdownOnSlaveFailure="true" minimumReplicas="1" replicationRetainBytes="1 gb"
        replicationHeartbeatInterval="250" replicationLinkTimeout="2000" maxTransactionSize="128 mb">
  <transportConnectors>
    <!-- comments are fine anywhere -->
    <transportConnector name="stomp" uri="stomp://0.0.0.0:61613?wireFormat.maxFrameSize=1048576&amp;wireFormat.maxHeaderSize=8 kb&amp;wireFormat.maxHeaders=50&amp;transport.connectAttemptTimeout=5000&amp;transport.hbGracePeriodMultiplier=2.5&amp;transport.heartBeat=0&amp;transport.maxPendingOutput=1 mb"/>
    <transportConnector name="replication" uri="tcp://0.0.0.0:62001"/>
  </transportConnectors>
  <destinationPolicy>
    <policyMap>
      <policyEntries>
        <policyEntry queue="orders.>" maximumRedeliveries="0" deadLetterQueue="/queue/DLQ.orders" queuePrefetch="10"
                     topicPrefetch="20" topicPendingLimit="0" idCacheSize="0"/>
        <policyEntry topic=">" topicPrefetch="100" topicPendingLimit="500" idCacheSize="1000000"/>
      </policyEntries>
    </policyMap>
  </destinationPolicy>
  <persistenceAdapter>
    <journal directory="/fast/journal" syncOnWrite="false" maxSegmentSize="64 mb"/>
  </persistenceAdapter>
  <plugins>
    <simpleAuthenticationPlugin>
      <users>
        <authenticationUser username="system" password="manager" groups="admins,users"/>
        <authenticationUser username="guest" password=""/>
      </users>
    </simpleAuthenticationPlugin>
  </plugins>
</broker>
)");
  CHECK(c.broker_name == "master-1");
  CHECK(c.data_directory == "/var/lib/twinmq");
  CHECK(c.persistent);
  REQUIRE(c.connectors.size() == 2);
  const StompOptions& o = c.connectors[0].stomp;
  CHECK(o.max_frame_size == 1048576);
  CHECK(o.max_header_section == 8192);
  CHECK(o.max_headers == 50);
  CHECK(o.connect_timeout_ms == 5000);
  CHECK(o.heart_beat_grace == 2.5);
  CHECK(o.server_heart_beat_ms == 0);
  CHECK(o.max_pending_output == 1u << 20);
  const TransportConnector& rep_conn = c.connectors[1];
  CHECK(rep_conn.name == "replication");
  CHECK(rep_conn.endpoint.scheme == "tcp");
  CHECK(rep_conn.endpoint.port == 62001);
  CHECK(rep_conn.line == 9);

  REQUIRE(c.policies.size() == 2);
  CHECK(c.policies[0].pattern == "orders.>");
  CHECK_FALSE(c.policies[0].is_topic);
  CHECK(c.policies[0].policy.maximum_redeliveries == 0);
  CHECK(c.policies[0].policy.dead_letter_queue == "/queue/DLQ.orders");
  CHECK(c.policies[0].policy.queue_prefetch == 10);
  CHECK(c.policies[0].policy.topic_prefetch == 20);
  CHECK(c.policies[0].policy.topic_pending_limit == 0);
  CHECK(c.policies[0].policy.id_cache_size == 0);
  CHECK(c.policies[1].pattern == ">");
  CHECK(c.policies[1].is_topic);
  CHECK(c.policies[1].policy.topic_prefetch == 100);
  CHECK(c.policies[1].policy.topic_pending_limit == 500);
  CHECK(c.policies[1].policy.id_cache_size == 1000000);
  CHECK(c.policies[1].policy.maximum_redeliveries == 6);  // unwritten fields keep defaults
  CHECK(Config{}.policy_for("/queue/any").id_cache_size == 20000);

  CHECK(c.journal.directory == "/fast/journal");
  CHECK_FALSE(c.journal.sync_on_write);
  CHECK(c.journal.max_segment_size == 64u << 20);

  REQUIRE(c.users.size() == 2);
  CHECK(c.users[0].username == "system");
  CHECK(c.users[0].password == "manager");
  CHECK(c.users[0].groups == "admins,users");
  CHECK(c.users[1].username == "guest");
  CHECK(c.users[1].password.empty());
  CHECK(c.users[1].groups.empty());

  CHECK(c.replication.wait_for_slave);
  CHECK(c.replication.shutdown_on_slave_failure);
  CHECK(c.replication.minimum_replicas == 1);
  CHECK(c.replication.heart_beat_ms == 250);
  CHECK(c.replication.link_timeout_ms == 2000);
  CHECK(c.replication.retain_bytes == 1ull << 30);
  CHECK(c.max_transaction_size == (128u << 20));
  CHECK_FALSE(c.replication.master.has_value());
}

TEST_CASE("a slave by masterConnectorURI") {
  const Config c = test::load_ok(test::broker(
      R"(brokerName="slave" persistent="false" masterConnectorURI="tcp://masterhost:62001" shutdownOnMasterFailure="true")",
      ""));
  REQUIRE(c.replication.master.has_value());
  CHECK(c.replication.master->scheme == "tcp");
  CHECK(c.replication.master->host == "masterhost");
  CHECK(c.replication.master->port == 62001);
  CHECK(c.replication.master_uri == "tcp://masterhost:62001");
  CHECK(c.replication.shutdown_on_master_failure);
  CHECK_FALSE(c.persistent);
}

TEST_CASE("a slave by <masterConnector>, with credentials") {
  const Config c = test::load_ok(test::broker("", R"(<services>
  <masterConnector remoteURI="tcp://[::1]:62001" userName="repl" password="secret"/>
</services>
)"));
  REQUIRE(c.replication.master.has_value());
  CHECK(c.replication.master->host == "::1");
  CHECK(c.replication.master_uri == "tcp://[::1]:62001");
  CHECK(c.replication.user_name == "repl");
  CHECK(c.replication.password == "secret");
}

TEST_CASE("empty containers are allowed") {
  const Config c = test::load_ok(test::broker("", R"(<destinationPolicy><policyMap><policyEntries/></policyMap></destinationPolicy>
<persistenceAdapter/>
<plugins/>
<services/>
)"));
  CHECK(c.policies.empty());
  CHECK(c.journal.directory == "data/journal");
}

TEST_CASE("a lowered maxFrameSize takes the header limit down with it") {
  const Config c = test::load_ok(test::broker("", test::connectors(
      "<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:0?wireFormat.maxFrameSize=1 kb\"/>\n")));
  CHECK(c.connectors[0].stomp.max_frame_size == 1024);
  CHECK(c.connectors[0].stomp.max_header_section == 1024);
  CHECK(c.connectors[0].endpoint.port == 0);
}

TEST_CASE("persistent=false with a journal loads, with a warning") {
  LoadResult r = test::load(test::broker(R"(persistent="false")", "<persistenceAdapter><journal/></persistenceAdapter>\n"));
  CHECK(r.ok());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0] == "conf/broker.xml:2: <persistenceAdapter> is ignored because persistent=\"false\"");
}

TEST_CASE("managementContext: the admin endpoint on loopback (beyond it: management_test.cc)") {
  const Config none = test::load_ok(test::broker("", ""));
  CHECK_FALSE(none.management.has_value());
  const Config d = test::load_ok(test::broker("", "<managementContext/>\n"));
  REQUIRE(d.management.has_value());
  CHECK(d.management->uri == "http://127.0.0.1:8162");
  CHECK(d.management->endpoint.host == "127.0.0.1");
  CHECK(d.management->endpoint.port == 8162);
  CHECK(d.management->loopback);
  CHECK_FALSE(d.management->tls);
  for (const char* ok : {"http://127.0.0.1:0", "http://127.1.2.3:9000", "http://localhost:8162", "http://[::1]:8162"}) {
    CAPTURE(ok);
    const Config c = test::load_ok(test::broker("", std::string("<managementContext uri=\"") + ok + "\"/>\n"));
    REQUIRE(c.management.has_value());
    CHECK(c.management->loopback);
  }
  CHECK(test::error_of(test::broker("", "<managementContext uri=\"ftp://127.0.0.1:8162\"/>\n")) ==
        "conf/broker.xml:2: <managementContext> uri: scheme 'ftp' is not supported (the admin endpoint is "
        "http://host:port, or https://host:port) in 'ftp://127.0.0.1:8162'");
  CHECK(test::error_of(test::broker("", "<managementContext uri=\"http://127.0.0.1:8162?x=1\"/>\n")).find("takes no options") !=
        std::string::npos);
  CHECK(test::error_of(test::broker("", "<managementContext urI=\"http://127.0.0.1:1\"/>\n")).find("did you mean 'uri'") !=
        std::string::npos);
}

}  // namespace twinmq::config
