// What the admin API reads from a request (admin/request_args.h): percent-decoding,
// query parameters, bounded numbers, Basic credentials, destination names in a path.
#include <doctest.h>

#include "admin/request_args.h"
#include "base/base64.h"

using namespace twinmq;
using namespace twinmq::admin;

TEST_CASE("request args: percent-decoding and its refusals") {
  CHECK(percent_decode("a%2Fb") == std::string("a/b"));
  CHECK(percent_decode("a+b%20c") == std::string("a+b c"));
  CHECK_FALSE(percent_decode("%").has_value());
  CHECK_FALSE(percent_decode("%2").has_value());
  CHECK_FALSE(percent_decode("%zz").has_value());
  CHECK_FALSE(percent_decode("%00").has_value());
}

TEST_CASE("request args: query parameters and bounded numbers") {
  CHECK(query_param("a=1&to=x%2Fy", "to")->value() == "x/y");
  CHECK_FALSE(query_param("a=1", "to")->has_value());
  CHECK(query_param("to", "to")->value().empty());
  CHECK_FALSE(query_param("to=%zz", "to").has_value());
  CHECK(query_number("", "limit", 20, 1, 1000) == std::uint64_t(20));
  CHECK(query_number("limit=7", "limit", 20, 1, 1000) == std::uint64_t(7));
  auto zero = query_number("limit=0", "limit", 20, 1, 1000);
  REQUIRE_FALSE(zero.has_value());
  CHECK(zero.error().message == "parameter 'limit' must be from 1 to 1000, got 0");
  auto word = query_number("limit=ten", "limit", 20, 1, 1000);
  REQUIRE_FALSE(word.has_value());
  CHECK(word.error().message == "parameter 'limit' must be a whole number from 1 to 1000, got 'ten'");
  CHECK_FALSE(query_number("limit=99999999999999999999999", "limit", 20, 1, 1000).has_value());
  CHECK_FALSE(query_number("limit=-1", "limit", 20, 1, 1000).has_value());
  CHECK_FALSE(query_number("limit=", "limit", 20, 1, 1000).has_value());
}

TEST_CASE("request args: HTTP Basic credentials") {
  auto ok = parse_basic_auth("Basic " + base64_encode("ops:pa:ss"));
  REQUIRE(ok.has_value());
  CHECK(ok->user == "ops");
  CHECK(ok->password == "pa:ss");  // only the first colon separates
  CHECK(parse_basic_auth("basic " + base64_encode("a:b")).has_value());
  CHECK_FALSE(parse_basic_auth("Bearer abc").has_value());
  CHECK_FALSE(parse_basic_auth("Basic !!!").has_value());
  CHECK_FALSE(parse_basic_auth("Basic " + base64_encode("nocolon")).has_value());
  CHECK_FALSE(parse_basic_auth("").has_value());
}

TEST_CASE("request args: destination names in a path segment") {
  CHECK(destination_from_segment("orders", "queue") == std::string("/queue/orders"));
  CHECK(destination_from_segment("a%2Fb", "queue") == std::string("/queue/a/b"));
  CHECK(destination_from_segment("%2Ftemp-queue%2Fx", "queue") == std::string("/temp-queue/x"));
  CHECK(destination_from_segment("prices", "topic") == std::string("/topic/prices"));
  CHECK_FALSE(destination_from_segment("", "queue").has_value());
  CHECK_FALSE(destination_from_segment("%zz", "queue").has_value());
}
