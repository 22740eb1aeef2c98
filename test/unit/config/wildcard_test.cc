// ActiveMQ wildcards and the policy lookup built on them.
#include <doctest.h>

#include "config/config.h"
#include "base/wildcard.h"
#include "helpers.h"

namespace twinmq::config {

TEST_CASE("wildcard: '>' matches the rest, '*' one segment, others literally") {
  CHECK(wildcard_matches(">", "orders"));
  CHECK(wildcard_matches(">", "orders.eu.fr"));
  CHECK(wildcard_matches("orders", "orders"));
  CHECK_FALSE(wildcard_matches("orders", "orders.eu"));
  CHECK_FALSE(wildcard_matches("orders", "order"));
  CHECK_FALSE(wildcard_matches("orders.eu", "orders"));

  CHECK(wildcard_matches("orders.>", "orders"));  // as ActiveMQ 5.x: A.> matches A
  CHECK(wildcard_matches("orders.>", "orders.eu"));
  CHECK(wildcard_matches("orders.>", "orders.eu.fr"));
  CHECK_FALSE(wildcard_matches("orders.>", "ordersx"));
  CHECK_FALSE(wildcard_matches("orders.>", "returns.eu"));

  CHECK(wildcard_matches("orders.*", "orders.eu"));
  CHECK_FALSE(wildcard_matches("orders.*", "orders"));
  CHECK_FALSE(wildcard_matches("orders.*", "orders.eu.fr"));
  CHECK(wildcard_matches("orders.*.fr", "orders.eu.fr"));
  CHECK_FALSE(wildcard_matches("orders.*.fr", "orders.eu.de"));
  CHECK(wildcard_matches("*.*.>", "a.b"));
  CHECK(wildcard_matches("*.*.>", "a.b.c.d"));
  CHECK_FALSE(wildcard_matches("*.*.>", "a"));
  CHECK(wildcard_matches("*", "a"));
  CHECK_FALSE(wildcard_matches("*", "a.b"));
}

TEST_CASE("wildcard: unusable patterns are explained") {
  CHECK_FALSE(wildcard_problem(">").has_value());
  CHECK_FALSE(wildcard_problem("a.*.>").has_value());
  CHECK(wildcard_problem("").value() == "is empty (use \">\" for every destination)");
  CHECK(wildcard_problem("/queue/orders").value() == "must not include the /queue/ prefix (write \"orders\")");
  CHECK(wildcard_problem("/topic/x.>").value() == "must not include the /topic/ prefix (write \"x.>\")");
  CHECK(wildcard_problem("a..b").value() == "has an empty segment (two dots, or a dot at an end)");
  CHECK(wildcard_problem("a.").value() == "has an empty segment (two dots, or a dot at an end)");
  CHECK(wildcard_problem(">.a").value() == "uses \">\" before the last segment (it matches the rest)");
  CHECK(wildcard_problem("orders*").value() ==
        "mixes a wildcard into the segment 'orders*' (\"*\" and \">\" stand alone)");
}

TEST_CASE("policy_for: first matching entry of the destination's kind, else defaults") {
  Config c = test::load_ok(test::broker("", R"(<destinationPolicy><policyMap><policyEntries>
  <policyEntry queue="orders.>" maximumRedeliveries="1"/>
  <policyEntry queue=">" maximumRedeliveries="2" deadLetterQueue="/queue/DEAD"/>
  <policyEntry topic="prices.*" topicPrefetch="5"/>
  <policyEntry queue="orders.eu" maximumRedeliveries="3"/>
</policyEntries></policyMap></destinationPolicy>
)"));
  REQUIRE(c.policies.size() == 4);
  CHECK(c.policy_for("/queue/orders").maximum_redeliveries == 1);
  CHECK(c.policy_for("/queue/orders.eu").maximum_redeliveries == 1);  // earlier entry wins
  CHECK(c.policy_for("/queue/other").maximum_redeliveries == 2);
  CHECK(c.policy_for("/queue/other").dead_letter_queue == "/queue/DEAD");
  CHECK(c.policy_for("/temp-queue/x").maximum_redeliveries == 2);
  CHECK(c.policy_for("/topic/prices.eur").topic_prefetch == 5);
  CHECK(c.policy_for("/temp-topic/prices.x").topic_prefetch == 5);
  // No topic entry matches: defaults, not the queue entries.
  CHECK(c.policy_for("/topic/orders").topic_prefetch == 1000);
  CHECK(c.policy_for("/topic/orders").maximum_redeliveries == 6);
  CHECK(c.policy_for("orders").maximum_redeliveries == 6);
  CHECK(c.policy_for("/queue/orders.eu").dead_letter_queue == "/queue/DLQ");
}

TEST_CASE("stomp_connector: the first stomp:// connector") {
  Config c = test::load_ok(test::broker("", test::connectors(
      "<transportConnector name=\"replication\" uri=\"tcp://127.0.0.1:62001\"/>\n"
      "<transportConnector name=\"stomp-v4\" uri=\"stomp://127.0.0.1:61613\"/>\n"
      "<transportConnector name=\"stomp-v6\" uri=\"stomp://[::1]:61613\"/>\n")));
  REQUIRE(c.stomp_connector() != nullptr);
  CHECK(c.stomp_connector()->name == "stomp-v4");
  Config empty;
  CHECK(empty.stomp_connector() == nullptr);
}

}  // namespace twinmq::config
