// The authorization map: rights per group, ActiveMQ wildcards, union of matching
// entries, deny by default once any entry exists.
#include <doctest.h>

#include "auth/authorization.h"

namespace twinmq::auth {
namespace {

AuthorizationEntry entry(std::string pattern, bool topic, std::string read, std::string write, std::string admin) {
  return AuthorizationEntry{std::move(pattern), topic, split_groups(read), split_groups(write), split_groups(admin)};
}

const std::vector<std::string> kConsumers{"consumers"};
const std::vector<std::string> kProducers{"producers"};
const std::vector<std::string> kAdmins{"admins"};

}  // namespace

TEST_CASE("no entries: everything is allowed; any entry: what is not granted is denied") {
  AuthorizationMap off;
  CHECK_FALSE(off.enabled());
  CHECK(off.allows("/queue/x", Right::admin, {}));
  AuthorizationMap on({entry("orders.>", false, "consumers", "producers", "admins")});
  CHECK(on.enabled());
  CHECK(on.allows("/queue/orders.eu", Right::read, kConsumers));
  CHECK_FALSE(on.allows("/queue/orders.eu", Right::write, kConsumers));
  CHECK(on.allows("/queue/orders.eu", Right::write, kProducers));
  CHECK_FALSE(on.allows("/queue/orders.eu", Right::admin, kProducers));
  CHECK(on.allows("/queue/orders.eu", Right::admin, kAdmins));
  CHECK_FALSE(on.allows("/queue/billing", Right::read, kConsumers));  // no entry matches
  CHECK_FALSE(on.allows("/queue/orders.eu", Right::read, {}));        // no groups
}

TEST_CASE("wildcards: * one segment, > the rest (and the prefix itself), plain segments literally") {
  AuthorizationMap m({entry("orders.*.new", false, "c", "", ""), entry("audit.>", true, "c", "", "")});
  const std::vector<std::string> c{"c"};
  CHECK(m.allows("/queue/orders.eu.new", Right::read, c));
  CHECK_FALSE(m.allows("/queue/orders.eu.fr.new", Right::read, c));
  CHECK_FALSE(m.allows("/queue/orders.eu.old", Right::read, c));
  CHECK(m.allows("/topic/audit", Right::read, c));
  CHECK(m.allows("/topic/audit.a.b.c", Right::read, c));
  CHECK_FALSE(m.allows("/topic/auditx", Right::read, c));
}

TEST_CASE("queue entries cover /queue/ and /temp-queue/, topic entries /topic/ and /temp-topic/") {
  AuthorizationMap m({entry(">", false, "c", "", ""), entry("t.>", true, "", "p", "")});
  CHECK(m.allows("/queue/a", Right::read, {"c"}));
  CHECK(m.allows("/temp-queue/a", Right::read, {"c"}));
  CHECK_FALSE(m.allows("/topic/a", Right::read, {"c"}));
  CHECK(m.allows("/topic/t.x", Right::write, {"p"}));
  CHECK(m.allows("/temp-topic/t.x", Right::write, {"p"}));
  CHECK_FALSE(m.allows("/queue/t.x", Right::write, {"p"}));
  CHECK_FALSE(m.allows("nonsense", Right::read, {"c"}));
}

TEST_CASE("rights are the union of every matching entry, whatever their order") {
  AuthorizationMap m({entry(">", false, "admins", "admins", "admins"), entry("orders.>", false, "consumers", "", "")});
  CHECK(m.allows("/queue/orders.eu", Right::read, kConsumers));
  CHECK(m.allows("/queue/orders.eu", Right::read, kAdmins));
  CHECK_FALSE(m.allows("/queue/orders.eu", Right::write, kConsumers));
  CHECK(m.allows("/queue/orders.eu", Right::read, {"x", "consumers"}));  // any of the user's groups
}

TEST_CASE("split_groups: commas, spaces trimmed, empties and repeats dropped") {
  CHECK(split_groups("a, b ,c,,a") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_groups("").empty());
  CHECK(right_name(Right::admin) == "admin");
}

}  // namespace twinmq::auth
