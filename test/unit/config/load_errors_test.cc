// What a user sees for each mistake inside one element: the exact "file:line: text".
#include <doctest.h>

#include <string>

#include "helpers.h"

namespace twinmq::config {

using test::broker;
using test::connectors;
using test::error_of;
using test::errors_of;

namespace {
// A connector line for tests about one URI.
std::string stomp_at(const std::string& uri) {
  return connectors("<transportConnector name=\"stomp\" uri=\"" + uri + "\"/>\n");
}
// The error of a <policyEntry> with `attributes`, on line 2.
std::string policy_error(const std::string& attributes) {
  return error_of(broker("", "<destinationPolicy><policyMap><policyEntries><policyEntry " + attributes +
                                 "/></policyEntries></policyMap></destinationPolicy>\n"));
}
}  // namespace

TEST_CASE("malformed XML: one error with tinyxml2's line and reason") {
  CHECK(error_of("<broker>\n<transportConnectors>\n</broker>\n") ==
        "conf/broker.xml:2: malformed XML: closing tag does not match the open element "
        "[XML_ERROR_MISMATCHED_ELEMENT: XMLElement name=transportConnectors]");
  CHECK(error_of("<broker\n brokerName=localhost>\n</broker>\n") ==
        "conf/broker.xml:2: malformed XML: cannot parse an attribute (unquoted value, repeated name or stray "
        "character?) [XML_ERROR_PARSING_ATTRIBUTE: XMLElement name=broker]");
  CHECK(error_of("<broker a=\"1\" a=\"2\"/>") ==
        "conf/broker.xml:1: malformed XML: cannot parse an attribute (unquoted value, repeated name or stray "
        "character?) [XML_ERROR_PARSING_ATTRIBUTE: XMLElement name=broker]");
  CHECK(error_of("<broker>\n\n<!-- never closed\n</broker>\n") ==
        "conf/broker.xml:3: malformed XML: unterminated comment [XML_ERROR_PARSING_COMMENT]");
  CHECK(error_of("<broker>\n") ==
        "conf/broker.xml:1: malformed XML: cannot parse (an element left open at the end of the file, or markup "
        "where none may be?) [XML_ERROR_PARSING]");
  CHECK(error_of("hello") == "conf/broker.xml:1: malformed XML: cannot parse text [XML_ERROR_PARSING_TEXT]");
}

TEST_CASE("not an XML broker file at all") {
  CHECK(error_of("") == "conf/broker.xml: the file is empty (expected a <broker> element)");
  CHECK(error_of("  \n\n ") == "conf/broker.xml: the file is empty (expected a <broker> element)");
  CHECK(error_of(std::string("<\0b\0r\0", 6)) ==
        "conf/broker.xml:1: the file contains NUL bytes: not a UTF-8 XML file (UTF-16 or binary?)");
  CHECK(error_of(std::string("<broker>\n\n\0", 11)) ==
        "conf/broker.xml:3: the file contains NUL bytes: not a UTF-8 XML file (UTF-16 or binary?)");
  CHECK(error_of("<?xml version=\"1.0\"?>\n<!-- only a comment -->\n") ==
        "conf/broker.xml: no <broker> element (the file has no XML element at all)");
  CHECK(error_of("<beans>\n<broker/>\n</beans>\n") ==
        "conf/broker.xml:1: the root element is <beans>, expected <broker> (twinmq reads the <broker> element "
        "itself, not a Spring <beans> file)");
  CHECK(error_of("<borker/>") == "conf/broker.xml:1: the root element is <borker>, expected <broker> (did you mean <broker>?)");
  CHECK(error_of("<config/>") == "conf/broker.xml:1: the root element is <config>, expected <broker>");
  CHECK(error_of(broker("", "") + "<broker/>\n") ==
        "conf/broker.xml:4: a second top-level element <broker> (the file holds exactly one <broker>)");
}

TEST_CASE("file errors name the path") {
  LoadResult missing = load_config("/nonexistent/twinmq/broker.xml", {});
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0] == "/nonexistent/twinmq/broker.xml: cannot read file: No such file or directory");
  CHECK(missing.config.source_file == "/nonexistent/twinmq/broker.xml");
  LoadResult dir = load_config("/tmp", {});
  REQUIRE(dir.errors.size() == 1);
  CHECK(dir.errors[0] == "/tmp: cannot read file: Is a directory");
}

TEST_CASE("unknown attributes: a suggestion, or the list of known ones") {
  CHECK(error_of(broker("brokername=\"b\"", "")) ==
        "conf/broker.xml:1: unknown attribute 'brokername' on <broker> (did you mean 'brokerName'?)");
  CHECK(error_of(broker("persistant=\"true\"", "")) ==
        "conf/broker.xml:1: unknown attribute 'persistant' on <broker> (did you mean 'persistent'?)");
  CHECK(error_of(broker("useJmx=\"false\"", "")) ==
        "conf/broker.xml:1: unknown attribute 'useJmx' on <broker> (expected one of: 'brokerName', 'dataDirectory', "
        "'persistent', 'masterConnectorURI', 'shutdownOnMasterFailure', 'waitForSlave', 'shutdownOnSlaveFailure', "
        "'minimumReplicas', 'replicationHeartbeatInterval', 'replicationLinkTimeout', 'maxTransactionSize', "
        "'waitForSlaveTimeout', 'replicationGroup', 'replicationRetainBytes', 'replicationRetainPeriod', 'xmlns')");
  CHECK(error_of(broker("", connectors("<transportConnector name=\"stomp\" url=\"stomp://h:1\" uri=\"stomp://h:1\"/>\n"))) ==
        "conf/broker.xml:3: unknown attribute 'url' on <transportConnector> (did you mean 'uri'?)");
  CHECK(error_of(broker("", "<plugins enabled=\"true\"/>\n")) ==
        "conf/broker.xml:2: unknown attribute 'enabled' on <plugins> (it takes no attributes)");
  CHECK(error_of(broker("", "<persistenceAdapter><journal dir=\"/x\"/></persistenceAdapter>\n")) ==
        "conf/broker.xml:2: unknown attribute 'dir' on <journal> (expected one of: 'directory', 'syncOnWrite', "
        "'maxSegmentSize')");
  CHECK(error_of(broker("", "<persistenceAdapter><journal directry=\"/x\"/></persistenceAdapter>\n")) ==
        "conf/broker.xml:2: unknown attribute 'directry' on <journal> (did you mean 'directory'?)");
  CHECK(error_of(broker("", "<services><masterConnector remoteURI=\"tcp://m:1\" username=\"u\"/></services>\n")) ==
        "conf/broker.xml:2: unknown attribute 'username' on <masterConnector> (did you mean 'userName'?)");
  CHECK(error_of(broker("", "<plugins><simpleAuthenticationPlugin><users><authenticationUser username=\"u\" "
                            "pasword=\"p\" password=\"p\"/></users></simpleAuthenticationPlugin></plugins>\n")) ==
        "conf/broker.xml:2: unknown attribute 'pasword' on <authenticationUser> (did you mean 'password'?)");
  CHECK(policy_error("queue=\">\" maxRedeliveries=\"1\"") ==
        "conf/broker.xml:2: unknown attribute 'maxRedeliveries' on <policyEntry> (did you mean 'maximumRedeliveries'?)");
}

TEST_CASE("an attribute's own line is reported, not the element's") {
  CHECK(error_of("<broker brokerName=\"b\"\n        dataDirectory=\"d\"\n        persistent=\"no\">\n"
                 "<transportConnectors><transportConnector name=\"stomp\" uri=\"stomp://h:1\"/></transportConnectors>\n"
                 "</broker>\n") ==
        "conf/broker.xml:3: <broker> persistent must be true or false, got 'no'");
}

TEST_CASE("unknown, misplaced and duplicated elements, stray text") {
  CHECK(error_of(broker("", "<transportConectors/>\n")) ==
        "conf/broker.xml:2: unknown element <transportConectors> in <broker> (did you mean <transportConnectors>?)");
  CHECK(error_of(broker("", "<networkConnectors/>\n")) ==
        "conf/broker.xml:2: unknown element <networkConnectors> in <broker> (expected one of: <transportConnectors>, "
        "<destinationPolicy>, <persistenceAdapter>, <plugins>, <services>, <witness>, <systemUsage>, <managementContext>, <sslContext>)");
  CHECK(error_of(broker("", "<transportConnector name=\"x\" uri=\"stomp://h:2\"/>\n")) ==
        "conf/broker.xml:2: <transportConnector> belongs inside <transportConnectors>, not <broker>");
  CHECK(error_of(broker("", "<persistenceAdapter><kahaDB directory=\"x\"/></persistenceAdapter>\n")) ==
        "conf/broker.xml:2: unknown element <kahaDB> in <persistenceAdapter> (expected one of: <journal>)");
  CHECK(error_of(broker("", "<destinationPolicy><policyMap><defaultEntry/></policyMap></destinationPolicy>\n")) ==
        "conf/broker.xml:2: unknown element <defaultEntry> in <policyMap> (expected one of: <policyEntries>)");
  CHECK(error_of(broker("", "<persistenceAdapter><journal><x/></journal></persistenceAdapter>\n")) ==
        "conf/broker.xml:2: unexpected element <x> in <journal> (it takes no child elements)");
  CHECK(error_of(broker("", "<plugins/>\n<plugins/>\n")) ==
        "conf/broker.xml:3: duplicate <plugins> in <broker> (first at line 2)");
  CHECK(error_of(broker("", "<services><masterConnector remoteURI=\"tcp://m:1\"/>\n<masterConnector "
                            "remoteURI=\"tcp://m:2\"/></services>\n")) ==
        "conf/broker.xml:3: duplicate <masterConnector> in <services> (first at line 2)");
  CHECK(error_of(broker("", "<persistenceAdapter><journal/><journal/></persistenceAdapter>\n")) ==
        "conf/broker.xml:2: duplicate <journal> in <persistenceAdapter> (first at line 2)");
  CHECK(error_of(broker("", "<plugins>\n  stray words\n</plugins>\n")) ==
        "conf/broker.xml:3: unexpected text 'stray words' in <plugins>");
  CHECK(error_of(broker("", "<plugins>" + std::string(60, 'x') + "</plugins>\n")) ==
        "conf/broker.xml:2: unexpected text '" + std::string(37, 'x') + "...' in <plugins>");
  CHECK(error_of(broker("", "<plugins><![CDATA[data]]></plugins>\n")) ==
        "conf/broker.xml:2: unexpected text 'data' in <plugins>");
  CHECK(error_of(broker("", "<plugins><!DOCTYPE x></plugins>\n")) ==
        "conf/broker.xml:2: unexpected markup '<!DOCTYPE x>' in <plugins>");
  // Markup with nothing in it (found by fuzzing: its excerpt threw out_of_range).
  CHECK(error_of(broker("", "<plugins><!></plugins>\n")) == "conf/broker.xml:2: unexpected markup '<!>' in <plugins>");
  CHECK(error_of(broker("", "<plugins><!  ></plugins>\n")) == "conf/broker.xml:2: unexpected markup '<!>' in <plugins>");
}

TEST_CASE("<broker> attribute values") {
  CHECK(error_of(broker("persistent=\"yes\"", "")) ==
        "conf/broker.xml:1: <broker> persistent must be true or false, got 'yes'");
  CHECK(error_of(broker("persistent=\"True\"", "")) ==
        "conf/broker.xml:1: <broker> persistent must be true or false, got 'True'");
  CHECK(error_of(broker("brokerName=\"\"", "")) ==
        "conf/broker.xml:1: <broker> brokerName must be letters, digits, '.', '_' or '-', got ''");
  CHECK(error_of(broker("brokerName=\"my broker\"", "")) ==
        "conf/broker.xml:1: <broker> brokerName must be letters, digits, '.', '_' or '-', got 'my broker'");
  CHECK(error_of(broker("dataDirectory=\"\"", "")) ==
        "conf/broker.xml:1: <broker> dataDirectory must be a directory path, got ''");
  CHECK(error_of(broker("minimumReplicas=\"2\"", "<transportConnectors><transportConnector name=\"stomp\" "
                        "uri=\"stomp://h:1\"/><transportConnector name=\"replication\" uri=\"tcp://h:2\"/>"
                        "</transportConnectors>\n")) ==
        "conf/broker.xml:1: <broker> minimumReplicas must be 0 or 1, got '2'");
  CHECK(error_of(broker("replicationHeartbeatInterval=\"5\"", "")) ==
        "conf/broker.xml:1: <broker> replicationHeartbeatInterval must be a whole number of milliseconds from 10 to "
        "60000, got '5'");
  CHECK(error_of(broker("replicationLinkTimeout=\"1s\"", "")) ==
        "conf/broker.xml:1: <broker> replicationLinkTimeout must be a whole number of milliseconds from 50 to "
        "600000, got '1s'");
  CHECK(error_of(broker("maxTransactionSize=\"1 gb\"", "")) ==
        "conf/broker.xml:1: <broker> maxTransactionSize must be a size from 4 kb to 512 mb, got '1 gb'");
  CHECK(error_of(broker("maxTransactionSize=\"-1\"", "")) ==
        "conf/broker.xml:1: <broker> maxTransactionSize must be a size from 4 kb to 512 mb, got '-1' (not a number)");
  CHECK(error_of(broker("replicationRetainBytes=\"lots\"", "")) ==
        "conf/broker.xml:1: <broker> replicationRetainBytes must be a size from 0 b to 1024 gb, got 'lots' (not a number)");
  CHECK(error_of(broker("waitForSlave=\"1\"", "")) ==
        "conf/broker.xml:1: <broker> waitForSlave must be true or false, got '1'");
  CHECK(error_of(broker("shutdownOnSlaveFailure=\"on\"", "")) ==
        "conf/broker.xml:1: <broker> shutdownOnSlaveFailure must be true or false, got 'on'");
  CHECK(error_of(broker("masterConnectorURI=\"tcp://m:1\" shutdownOnMasterFailure=\"TRUE\"", "")) ==
        "conf/broker.xml:1: <broker> shutdownOnMasterFailure must be true or false, got 'TRUE'");
}

TEST_CASE("<transportConnector> required attributes and URI problems") {
  CHECK(error_of(broker("", connectors("<transportConnector uri=\"stomp://h:1\"/>\n"))) ==
        "conf/broker.xml:3: <transportConnector> is missing the required attribute 'name'");
  CHECK(errors_of(broker("", connectors("<transportConnector name=\"stomp\"/>\n"))) ==
        std::vector<std::string>{"conf/broker.xml:3: <transportConnector> is missing the required attribute 'uri'"});
  CHECK(error_of(broker("", connectors("<transportConnector name=\"\" uri=\"stomp://h:1\"/>\n"))) ==
        "conf/broker.xml:3: <transportConnector> name must be a non-empty name, got ''");
  CHECK(error_of(broker("", stomp_at("stomp://0.0.0.0:99999"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': port 99999 out of range in uri 'stomp://0.0.0.0:99999'");
  CHECK(error_of(broker("", stomp_at("stomp://0.0.0.0"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': missing port in uri 'stomp://0.0.0.0'");
  CHECK(error_of(broker("", stomp_at("stomp://256.1.1.1:1"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': invalid IPv4 address '256.1.1.1' in uri 'stomp://256.1.1.1:1'");
  CHECK(error_of(broker("", stomp_at("stmp://0.0.0.0:61613"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': scheme 'stmp' is not supported in uri 'stmp://0.0.0.0:61613' "
        "(did you mean 'stomp'?)");
  CHECK(error_of(broker("", stomp_at("amqp://0.0.0.0:5672"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': scheme 'amqp' is not supported in uri 'amqp://0.0.0.0:5672' "
        "(expected one of: 'stomp', 'stomp+ssl', 'stomp+nio+ssl', 'tcp', 'ssl')");
}

TEST_CASE("stomp:// options: unknown ones suggested, each value range-checked") {
  CHECK(error_of(broker("", stomp_at("stomp://h:1?wireFormat.maxFrameSze=1"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': unknown option 'wireFormat.maxFrameSze' in uri "
        "'stomp://h:1?wireFormat.maxFrameSze=1' (did you mean 'wireFormat.maxFrameSize'?)");
  CHECK(error_of(broker("", stomp_at("stomp://h:1?maxFrameSize=1"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': unknown option 'maxFrameSize' in uri "
        "'stomp://h:1?maxFrameSize=1' (did you mean 'wireFormat.maxFrameSize'?)");
  CHECK(error_of(broker("", stomp_at("stomp://h:1?trace=true"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': unknown option 'trace' in uri 'stomp://h:1?trace=true' "
        "(expected one of: 'wireFormat.maxFrameSize', 'wireFormat.maxHeaderSize', 'wireFormat.maxHeaders', "
        "'transport.connectAttemptTimeout', 'transport.hbGracePeriodMultiplier', 'transport.heartBeat', "
        "'transport.minHeartBeat', 'transport.maxPendingOutput', 'transport.frameTimeout', 'maximumConnections', "
        "'maximumConsumersAllowedPerConnection', 'maximumTransactionsPerConnection', "
        "'maximumUnacknowledgedPerConnection', 'needClientAuth', 'wantClientAuth')");
  struct Case {
    const char* query;
    const char* message;
  };
  const Case cases[] = {
      {"wireFormat.maxFrameSize=100", "wireFormat.maxFrameSize must be a size from 256 b to 512 mb, got '100'"},
      {"wireFormat.maxFrameSize=2 gb", "wireFormat.maxFrameSize must be a size from 256 b to 512 mb, got '2 gb'"},
      {"wireFormat.maxFrameSize=10 tb",
       "wireFormat.maxFrameSize must be a size from 256 b to 512 mb, got '10 tb' (unknown unit 'tb'; use b, kb, mb or gb)"},
      {"wireFormat.maxHeaderSize=17 mb", "wireFormat.maxHeaderSize must be a size from 256 b to 16 mb, got '17 mb'"},
      {"wireFormat.maxHeaders=0", "wireFormat.maxHeaders must be a whole number from 1 to 100000, got '0'"},
      {"transport.connectAttemptTimeout=5",
       "transport.connectAttemptTimeout must be a whole number of milliseconds from 10 to 3600000, got '5'"},
      {"transport.hbGracePeriodMultiplier=0.5",
       "transport.hbGracePeriodMultiplier must be a number from 1.0 to 10.0, got '0.5'"},
      {"transport.heartBeat=-1", "transport.heartBeat must be a whole number of milliseconds from 0 to 3600000, got '-1'"},
      {"transport.maxPendingOutput=100", "transport.maxPendingOutput must be a size from 1 kb to 4 gb, got '100'"},
      {"transport.minHeartBeat=5", "transport.minHeartBeat must be a whole number of milliseconds from 10 to 3600000, got '5'"},
      {"transport.heartBeat=1000&transport.minHeartBeat=2000",
       "transport.minHeartBeat (2000 ms) must not exceed transport.heartBeat (1000 ms)"},
      {"wireFormat.maxFrameSize=1 kb&wireFormat.maxHeaderSize=2 kb",
       "wireFormat.maxHeaderSize (2 kb) must not exceed wireFormat.maxFrameSize (1 kb)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.query);
    std::string uri = std::string("stomp://h:1?") + c.query;
    std::string attr = uri;
    if (auto amp = attr.find('&'); amp != std::string::npos) attr.replace(amp, 1, "&amp;");
    CHECK(error_of(broker("", stomp_at(attr))) ==
          "conf/broker.xml:3: transportConnector 'stomp': " + std::string(c.message) + " in uri '" + uri + "'");
  }
}

TEST_CASE("<policyEntry>: exactly one of queue/topic, patterns, values") {
  CHECK(policy_error("maximumRedeliveries=\"1\"") ==
        "conf/broker.xml:2: <policyEntry> needs a queue=\"...\" or topic=\"...\" pattern");
  CHECK(policy_error("queue=\">\" topic=\">\"") ==
        "conf/broker.xml:2: <policyEntry> has both queue and topic (write one entry for each)");
  CHECK(policy_error("queue=\"/queue/orders\"") ==
        "conf/broker.xml:2: <policyEntry> queue pattern '/queue/orders' must not include the /queue/ prefix "
        "(write \"orders\")");
  CHECK(policy_error("topic=\"\"") ==
        "conf/broker.xml:2: <policyEntry> topic pattern '' is empty (use \">\" for every destination)");
  CHECK(policy_error("topic=\">.x\"") ==
        "conf/broker.xml:2: <policyEntry> topic pattern '>.x' uses \">\" before the last segment (it matches the rest)");
  CHECK(policy_error("queue=\">\" deadLetterQueue=\"DLQ\"") ==
        "conf/broker.xml:2: <policyEntry> deadLetterQueue must be a queue name starting with /queue/, got 'DLQ'");
  CHECK(policy_error("queue=\">\" deadLetterQueue=\"/topic/DLQ\"") ==
        "conf/broker.xml:2: <policyEntry> deadLetterQueue must be a queue name starting with /queue/, got '/topic/DLQ'");
  CHECK(policy_error("queue=\">\" deadLetterQueue=\"/queue/\"") ==
        "conf/broker.xml:2: <policyEntry> deadLetterQueue must be a queue name starting with /queue/, got '/queue/'");
  CHECK(policy_error("queue=\">\" maximumRedeliveries=\"-1\"") ==
        "conf/broker.xml:2: <policyEntry> maximumRedeliveries must be a whole number from 0 to 1000000, got '-1'");
  CHECK(policy_error("queue=\">\" queuePrefetch=\"0\"") ==
        "conf/broker.xml:2: <policyEntry> queuePrefetch must be a whole number from 1 to 1000000, got '0'");
  CHECK(policy_error("topic=\">\" topicPrefetch=\"many\"") ==
        "conf/broker.xml:2: <policyEntry> topicPrefetch must be a whole number from 1 to 1000000, got 'many'");
  CHECK(policy_error("topic=\">\" topicPendingLimit=\"10000001\"") ==
        "conf/broker.xml:2: <policyEntry> topicPendingLimit must be a whole number from 0 to 10000000, got '10000001'");
  CHECK(policy_error("queue=\">\" idCacheSize=\"1000001\"") ==
        "conf/broker.xml:2: <policyEntry> idCacheSize must be a whole number from 0 to 1000000, got '1000001'");
}

TEST_CASE("<journal> values") {
  auto journal_error = [](const std::string& attributes) {
    return error_of(broker("", "<persistenceAdapter><journal " + attributes + "/></persistenceAdapter>\n"));
  };
  CHECK(journal_error("directory=\"\"") == "conf/broker.xml:2: <journal> directory must be a directory path, got ''");
  CHECK(journal_error("syncOnWrite=\"always\"") ==
        "conf/broker.xml:2: <journal> syncOnWrite must be true or false, got 'always'");
  CHECK(journal_error("maxSegmentSize=\"1 kb\"") ==
        "conf/broker.xml:2: <journal> maxSegmentSize must be a size from 4 kb to 4 gb, got '1 kb'");
  CHECK(journal_error("maxSegmentSize=\"32 mib\"") ==
        "conf/broker.xml:2: <journal> maxSegmentSize must be a size from 4 kb to 4 gb, got '32 mib' "
        "(unknown unit 'mib'; use b, kb, mb or gb)");
}

TEST_CASE("<authenticationUser> and <masterConnector> required attributes") {
  auto user_errors = [](const std::string& user) {
    return errors_of(broker("", "<plugins><simpleAuthenticationPlugin><users>" + user +
                                    "</users></simpleAuthenticationPlugin></plugins>\n"));
  };
  CHECK(user_errors("<authenticationUser password=\"p\"/>") ==
        std::vector<std::string>{"conf/broker.xml:2: <authenticationUser> is missing the required attribute 'username'"});
  CHECK(user_errors("<authenticationUser username=\"u\"/>") ==
        std::vector<std::string>{"conf/broker.xml:2: <authenticationUser> is missing the required attribute 'password'"});
  CHECK(user_errors("<authenticationUser username=\"\" password=\"p\"/>") ==
        std::vector<std::string>{"conf/broker.xml:2: <authenticationUser> username must be a non-empty name, got ''"});
  CHECK(error_of(broker("", "<services><masterConnector userName=\"u\"/></services>\n")) ==
        "conf/broker.xml:2: <masterConnector> is missing the required attribute 'remoteURI'");
}

TEST_CASE("all errors are collected, sorted by line") {
  const std::string xml = R"(<broker brokername="b" persistent="maybe"
        dataDirectory="${twinmq.unit.undefined}">
  <transportConnectors>
    <transportConnector name="stomp" uri="stomp://0.0.0.0:99999"/>
    <transportConnector name="stomp" uri="stomp://0.0.0.0:61613?wireFormat.maxFrameSze=1"/>
  </transportConnectors>
  <destinationPolicy><policyMap><policyEntries>
    <policyEntry queue=">" deadLetterQueue="DLQ"/>
  </policyEntries></policyMap></destinationPolicy>
  <persistenceAdapter>
    <journal maxSegmentSize="lots"/>
  </persistenceAdapter>
  <servces/>
</broker>
)";
  const std::vector<std::string> expected = {
      "conf/broker.xml:1: unknown attribute 'brokername' on <broker> (did you mean 'brokerName'?)",
      "conf/broker.xml:1: <broker> persistent must be true or false, got 'maybe'",
      "conf/broker.xml:2: undefined variable ${twinmq.unit.undefined} (set it with -Dtwinmq.unit.undefined=... or "
      "the environment)",
      "conf/broker.xml:4: transportConnector 'stomp': port 99999 out of range in uri 'stomp://0.0.0.0:99999'",
      "conf/broker.xml:5: transportConnector 'stomp': unknown option 'wireFormat.maxFrameSze' in uri "
      "'stomp://0.0.0.0:61613?wireFormat.maxFrameSze=1' (did you mean 'wireFormat.maxFrameSize'?)",
      "conf/broker.xml:5: duplicate transportConnector name 'stomp' (first at line 4)",
      "conf/broker.xml:8: <policyEntry> deadLetterQueue must be a queue name starting with /queue/, got 'DLQ'",
      "conf/broker.xml:11: <journal> maxSegmentSize must be a size from 4 kb to 4 gb, got 'lots' (not a number)",
      "conf/broker.xml:13: unknown element <servces> in <broker> (did you mean <services>?)",
  };
  CHECK(errors_of(xml) == expected);
}

}  // namespace twinmq::config
