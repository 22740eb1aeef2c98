// The JSON of what the pair keeps at its witness (witness/pair_record.h): round trips,
// the ids etcd hands out (beyond 2^53), and records a person or another tool wrote.
#include <doctest.h>

#include "witness/pair_record.h"

using namespace twinmq::witness;

TEST_CASE("the holder's claim and the pair record survive a round trip") {
  const HolderClaim c{"master-1", "0123456789abcdef0123456789abcdef", 7, 7089125696599751942};
  auto back = decode_claim(encode(c));
  REQUIRE(back.has_value());
  CHECK(back->broker == c.broker);
  CHECK(back->store_id == c.store_id);
  CHECK(back->epoch == 7);
  CHECK(back->lease == 7089125696599751942);  // an etcd lease id: more than a double holds exactly

  const PairRecord r{18446744073709551615ull, "slave", "", "00"};
  auto rb = decode_pair(encode(r));
  REQUIRE(rb.has_value());
  CHECK(rb->epoch == 18446744073709551615ull);
  CHECK(rb->holder == "slave");
  CHECK(rb->replica.empty());
  CHECK(rb->store_id == "00");
  CHECK(pair_key("/twinmq/pairs/orders") == "/twinmq/pairs/orders/pair");
}

TEST_CASE("members a reader does not know are ignored; missing or mistyped ones are refused by name") {
  auto extra = decode_pair(R"({"epoch":1,"holder":"m","replica":"s","store_id":"x","written_by":"v2"})");
  REQUIRE(extra.has_value());
  CHECK(extra->replica == "s");

  auto missing = decode_pair(R"({"epoch":1,"holder":"m","store_id":"x"})");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("pair record: no member 'replica'") != std::string::npos);

  auto negative = decode_pair(R"({"epoch":-1,"holder":"m","replica":"","store_id":"x"})");
  REQUIRE_FALSE(negative.has_value());
  CHECK(negative.error().message.find("'epoch'") != std::string::npos);

  auto text = decode_claim("not json");
  REQUIRE_FALSE(text.has_value());
  CHECK(text.error().message.find("witness key: not a JSON object") != std::string::npos);

  auto array = decode_claim("[1,2]");
  REQUIRE_FALSE(array.has_value());
}
