// The stomp:// options that bound what one client may take (README "Configuration
// reference"): their defaults, that each value reaches StompOptions, and each range.
#include <string>

#include "helpers.h"

namespace twinmq::config::test {
namespace {

std::string stomp_uri(const std::string& query) {
  return "<transportConnectors><transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:0" +
         (query.empty() ? std::string() : "?" + query) + "\"/></transportConnectors>\n";
}

}  // namespace

TEST_CASE("client limits: the defaults") {
  const LoadResult r = load(broker("", stomp_uri("")));
  REQUIRE(r.ok());
  const StompOptions& o = r.config.connectors.at(0).stomp;
  CHECK(o.max_connections == 10000);
  CHECK(o.max_subscriptions == 1000);
  CHECK(o.max_transactions == 10);
  CHECK(o.max_unacked == 10000);
  CHECK(o.frame_timeout_ms == 60000);
}

TEST_CASE("client limits: every option is stored") {
  const LoadResult r = load(broker("", stomp_uri("maximumConnections=5&amp;maximumConsumersAllowedPerConnection=6&amp;"
                                                 "maximumTransactionsPerConnection=7&amp;"
                                                 "maximumUnacknowledgedPerConnection=8&amp;transport.frameTimeout=900")));
  REQUIRE(r.ok());
  const StompOptions& o = r.config.connectors.at(0).stomp;
  CHECK(o.max_connections == 5);
  CHECK(o.max_subscriptions == 6);
  CHECK(o.max_transactions == 7);
  CHECK(o.max_unacked == 8);
  CHECK(o.frame_timeout_ms == 900);
}

TEST_CASE("client limits: each value is range-checked") {
  struct Case {
    const char* query;
    const char* message;
  };
  const Case cases[] = {
      {"maximumConnections=0", "maximumConnections must be a whole number from 1 to 1000000, got '0'"},
      {"maximumConnections=1000001", "maximumConnections must be a whole number from 1 to 1000000, got '1000001'"},
      {"maximumConnections=-1", "maximumConnections must be a whole number from 1 to 1000000, got '-1'"},
      {"maximumConsumersAllowedPerConnection=0",
       "maximumConsumersAllowedPerConnection must be a whole number from 1 to 1000000, got '0'"},
      {"maximumTransactionsPerConnection=100001",
       "maximumTransactionsPerConnection must be a whole number from 1 to 100000, got '100001'"},
      {"maximumUnacknowledgedPerConnection=x",
       "maximumUnacknowledgedPerConnection must be a whole number from 1 to 100000000, got 'x'"},
      {"transport.frameTimeout=99",
       "transport.frameTimeout must be a whole number of milliseconds from 100 to 3600000, got '99'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.query);
    CHECK(error_of(broker("", stomp_uri(c.query))) == "conf/broker.xml:2: transportConnector 'stomp': " +
                                                          std::string(c.message) + " in uri 'stomp://127.0.0.1:0?" +
                                                          c.query + "'");
  }
  CHECK(error_of(broker("", stomp_uri("maximumConnection=5"))) ==
        "conf/broker.xml:2: transportConnector 'stomp': unknown option 'maximumConnection' in uri "
        "'stomp://127.0.0.1:0?maximumConnection=5' (did you mean 'maximumConnections'?)");
}

}  // namespace twinmq::config::test
