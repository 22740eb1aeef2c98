// EtcdClient against one real etcd (support.h's shared_etcd): leases, reads and
// transactions as the witness uses them. Each test writes under its own key prefix.
#include <doctest.h>

#include "support.h"

using namespace twinmq;
using namespace twinmq::witness;
using namespace twinmq::witness_test;

namespace {

// put `key`=`value` unconditionally; returns the store revision after it.
std::int64_t put(EtcdClient& c, const std::string& key, const std::string& value, std::int64_t lease = 0) {
  auto r = c.txn({}, {TxnOp::put(key, value, lease)}, {});
  REQUIRE_MESSAGE(r.has_value(), error_text(r.error()));
  REQUIRE(r->succeeded);
  return r->revision;
}

Compare absent(const std::string& key) { return Compare{key, Compare::Target::version, Compare::Op::equal, 0, {}}; }

}  // namespace

TEST_CASE("etcd client: grant, keepalive, revoke; keepalive after revoke returns 0") {
  EtcdClient c(shared_options());
  auto g = c.grant(5);
  REQUIRE_MESSAGE(g.has_value(), error_text(g.error()));
  CHECK(g->id != 0);
  CHECK(g->ttl_s == 5);

  auto ttl = c.keepalive(g->id);
  REQUIRE_MESSAGE(ttl.has_value(), error_text(ttl.error()));
  CHECK(*ttl == 5);

  auto revoked = c.revoke(g->id);
  REQUIRE_MESSAGE(revoked.has_value(), error_text(revoked.error()));
  ttl = c.keepalive(g->id);
  REQUIRE(ttl.has_value());
  CHECK(*ttl == 0);
  // Revoking what no longer exists is success.
  CHECK(c.revoke(g->id).has_value());
  CHECK(c.revoke(0x1234'5678'9abc).has_value());
}

TEST_CASE("etcd client: etcd raises a short TTL to its minimum (1 s with the test tuning)") {
  EtcdClient c(shared_options());
  auto g = c.grant(1);
  REQUIRE(g.has_value());
  CHECK(g->ttl_s == test::kEtcdMinLeaseTtlS);
  CHECK(c.revoke(g->id).has_value());
}

TEST_CASE("etcd client: get of a missing key is nullopt") {
  EtcdClient c(shared_options());
  auto r = c.get("/client-test/missing/key");
  REQUIRE_MESSAGE(r.has_value(), error_text(r.error()));
  CHECK_FALSE(r->has_value());
  CHECK(c.endpoint() == shared_etcd().endpoint());
}

TEST_CASE("etcd client: create-if-absent succeeds once and fails the second time") {
  EtcdClient c(shared_options());
  const std::string key = "/client-test/create/holder";
  auto first = c.txn({absent(key)}, {TxnOp::put(key, "broker-a")}, {TxnOp::get(key)});
  REQUIRE_MESSAGE(first.has_value(), error_text(first.error()));
  CHECK(first->succeeded);
  CHECK(first->gets.empty());  // the success branch has no get

  auto second = c.txn({absent(key)}, {TxnOp::put(key, "broker-b")}, {TxnOp::get(key)});
  REQUIRE(second.has_value());
  CHECK_FALSE(second->succeeded);
  REQUIRE(second->gets.size() == 1);
  REQUIRE(second->gets[0].has_value());
  CHECK(second->gets[0]->value == "broker-a");
  CHECK(second->gets[0]->version == 1);
  CHECK(second->gets[0]->create_revision == first->revision);
  CHECK(second->revision == first->revision);  // a failed compare writes nothing

  auto kv = c.get(key);
  REQUIRE(kv.has_value());
  REQUIRE(kv->has_value());
  CHECK((*kv)->value == "broker-a");
}

TEST_CASE("etcd client: a put with a lease disappears when the lease is revoked") {
  EtcdClient c(shared_options());
  const std::string key = "/client-test/lease/holder";
  auto g = c.grant(30);
  REQUIRE(g.has_value());
  put(c, key, "held", g->id);
  auto kv = c.get(key);
  REQUIRE(kv.has_value());
  REQUIRE(kv->has_value());
  CHECK((*kv)->lease == g->id);

  REQUIRE(c.revoke(g->id).has_value());
  kv = c.get(key);
  REQUIRE(kv.has_value());
  CHECK_FALSE(kv->has_value());
}

TEST_CASE("etcd client: compare on the mod revision") {
  EtcdClient c(shared_options());
  const std::string key = "/client-test/mod/epoch";
  const std::int64_t rev = put(c, key, "1");
  const Compare unchanged{key, Compare::Target::mod, Compare::Op::equal, rev, {}};

  auto r = c.txn({unchanged}, {TxnOp::put(key, "2")}, {});
  REQUIRE(r.has_value());
  CHECK(r->succeeded);
  // The put moved the mod revision on: the same compare fails now.
  r = c.txn({unchanged}, {TxnOp::put(key, "3")}, {TxnOp::get(key)});
  REQUIRE(r.has_value());
  CHECK_FALSE(r->succeeded);
  REQUIRE(r->gets.size() == 1);
  REQUIRE(r->gets[0].has_value());
  CHECK(r->gets[0]->value == "2");
  CHECK(r->gets[0]->mod_revision > rev);

  const Compare newer{key, Compare::Target::mod, Compare::Op::greater, rev, {}};
  r = c.txn({newer}, {}, {});
  REQUIRE(r.has_value());
  CHECK(r->succeeded);
}

TEST_CASE("etcd client: compare on value and version, and delete") {
  EtcdClient c(shared_options());
  const std::string key = "/client-test/value/holder";
  put(c, key, "broker-a");
  const Compare mine{key, Compare::Target::value, Compare::Op::equal, 0, "broker-a"};
  const Compare not_mine{key, Compare::Target::value, Compare::Op::not_equal, 0, "broker-a"};
  const Compare once{key, Compare::Target::version, Compare::Op::less, 2, {}};

  auto r = c.txn({not_mine}, {TxnOp::del(key)}, {});
  REQUIRE(r.has_value());
  CHECK_FALSE(r->succeeded);
  r = c.txn({mine, once}, {TxnOp::del(key)}, {});
  REQUIRE(r.has_value());
  CHECK(r->succeeded);
  auto kv = c.get(key);
  REQUIRE(kv.has_value());
  CHECK_FALSE(kv->has_value());
}

TEST_CASE("etcd client: compare on the lease of a key") {
  EtcdClient c(shared_options());
  const std::string key = "/client-test/lease-compare/holder";
  auto g = c.grant(30);
  REQUIRE(g.has_value());
  put(c, key, "held", g->id);
  auto r = c.txn({Compare{key, Compare::Target::lease, Compare::Op::equal, g->id, {}}}, {}, {});
  REQUIRE(r.has_value());
  CHECK(r->succeeded);
  r = c.txn({Compare{key, Compare::Target::lease, Compare::Op::equal, g->id + 1, {}}}, {}, {});
  REQUIRE(r.has_value());
  CHECK_FALSE(r->succeeded);
  CHECK(c.revoke(g->id).has_value());
}

TEST_CASE("etcd client: get ops in a transaction come back in order, one per get") {
  EtcdClient c(shared_options());
  const std::string a = "/client-test/gets/a", b = "/client-test/gets/b", missing = "/client-test/gets/missing";
  put(c, a, "value-a");
  put(c, b, "value-b");
  auto r = c.txn({}, {TxnOp::get(b), TxnOp::put("/client-test/gets/c", "c"), TxnOp::get(missing), TxnOp::get(a)},
                 {TxnOp::get(a)});
  REQUIRE_MESSAGE(r.has_value(), error_text(r.error()));
  CHECK(r->succeeded);
  REQUIRE(r->gets.size() == 3);
  REQUIRE(r->gets[0].has_value());
  CHECK(r->gets[0]->key == b);
  CHECK(r->gets[0]->value == "value-b");
  CHECK_FALSE(r->gets[1].has_value());
  REQUIRE(r->gets[2].has_value());
  CHECK(r->gets[2]->value == "value-a");
}

TEST_CASE("etcd client: binary keys and values survive the JSON gateway") {
  EtcdClient c(shared_options());
  const std::string key = std::string("/client-test/binary/\0\xff\x01", 23);
  const std::string value = std::string("\0\x80\xfe{\"}\n", 7);
  put(c, key, value);
  auto kv = c.get(key);
  REQUIRE(kv.has_value());
  REQUIRE(kv->has_value());
  CHECK((*kv)->key == key);
  CHECK((*kv)->value == value);
  CHECK((*kv)->version == 1);
}

TEST_CASE("etcd client: a bad request is refused with etcd's message") {
  EtcdClient c(shared_options());
  auto r = c.get("");  // etcd requires a key
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(EtcdErrc::refused));
  CHECK(r.error().message == shared_etcd().endpoint() + ": etcd says: key is not provided");
}
