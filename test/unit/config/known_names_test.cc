// The vocabulary table and the nearest-name suggestion.
#include <doctest.h>

#include <array>
#include <vector>

#include "config/known_names.h"

namespace twinmq::config {

TEST_CASE("nearest_name: case, dotted suffix, then small edit distance") {
  const std::array<std::string_view, 4> names = {"brokerName", "dataDirectory", "persistent", "waitForSlave"};
  CHECK(nearest_name("brokername", names).value() == "brokerName");
  CHECK(nearest_name("BROKERNAME", names).value() == "brokerName");
  CHECK(nearest_name("brokerNme", names).value() == "brokerName");
  CHECK(nearest_name("brokreName", names).value() == "brokerName");  // swap counts as one
  CHECK(nearest_name("persistant", names).value() == "persistent");
  CHECK(nearest_name("waitForSlaves", names).value() == "waitForSlave");
  CHECK_FALSE(nearest_name("colour", names).has_value());
  CHECK_FALSE(nearest_name("", names).has_value());
  CHECK_FALSE(nearest_name("ab", names).has_value());
  CHECK(nearest_name("maxFrameSize", stomp_uri_options()).value() == "wireFormat.maxFrameSize");
  CHECK(nearest_name("heartbeat", stomp_uri_options()).value() == "transport.heartBeat");
}

TEST_CASE("suggestion_suffix: a suggestion, else the whole list") {
  const std::array<std::string_view, 2> names = {"stomp", "tcp"};
  CHECK(suggestion_suffix("stmp", names, "'", "'") == " (did you mean 'stomp'?)");
  CHECK(suggestion_suffix("amqp", names, "'", "'") == " (expected one of: 'stomp', 'tcp')");
  CHECK(suggestion_suffix("x", std::span<const std::string_view>{}, "'", "'") == "");
  CHECK(suggestion_suffix("servics", find_element("broker")->children, "<", ">") == " (did you mean <services>?)");
}

TEST_CASE("the table: every child element is known and names its parent") {
  int count = 0;
  const ElementSpec& root = root_element();
  CHECK(root.name == "broker");
  CHECK(root.parent.empty());
  std::vector<const ElementSpec*> todo = {&root};
  while (!todo.empty()) {
    const ElementSpec* spec = todo.back();
    todo.pop_back();
    ++count;
    for (std::string_view child : spec->children) {
      // ActiveMQ's property/bean pairs share a name (<systemUsage><systemUsage>): look
      // children up by name and parent, as the loader does.
      const ElementSpec* c = find_element(child, spec->name);
      REQUIRE(c != nullptr);
      CHECK(c->parent == spec->name);
      todo.push_back(c);
    }
  }
  CHECK(count == 30);
  CHECK(find_element("beans") == nullptr);
}

}  // namespace twinmq::config
