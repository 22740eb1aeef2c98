// Version and heart-beat negotiation (STOMP 1.2 "Protocol Negotiation" and
// "Heart-beating").
#include <doctest.h>

#include "stomp/negotiate.h"

namespace twinmq::stomp {
namespace {

Version negotiated(std::optional<std::string_view> accept) {
  const Result<Version> v = negotiate_version(accept);
  REQUIRE(v);
  return *v;
}

TEST_CASE("negotiate_version: absent accept-version means 1.0") {
  CHECK(negotiated(std::nullopt) == Version::v1_0);
}

TEST_CASE("negotiate_version: the highest version both sides support") {
  CHECK(negotiated("1.0") == Version::v1_0);
  CHECK(negotiated("1.1") == Version::v1_1);
  CHECK(negotiated("1.2") == Version::v1_2);
  CHECK(negotiated("1.0,1.1") == Version::v1_1);
  CHECK(negotiated("1.0,1.1,1.2") == Version::v1_2);
  CHECK(negotiated("1.2,1.0") == Version::v1_2);
  CHECK(negotiated("1.1,1.0") == Version::v1_1);
  CHECK(negotiated("2.0,1.1,1.3") == Version::v1_1);
  CHECK(negotiated("1.0,9.9") == Version::v1_0);
  CHECK(negotiated("1.1, 1.2") == Version::v1_2);  // blanks around entries are tolerated
  CHECK(negotiated(",1.1,,") == Version::v1_1);
}

TEST_CASE("negotiate_version: nothing in common is unsupported_version naming both sides") {
  for (std::string_view bad : {"", "2.0", "1.3,2.0", "1", "1.2.0", "v1.2", ",", "1.2x"}) {
    CAPTURE(bad);
    const Result<Version> v = negotiate_version(bad);
    REQUIRE(!v);
    CHECK(v.error().code == static_cast<int>(ProtocolErrc::unsupported_version));
    CHECK(v.error().message == "no supported version in accept-version '" + std::string(bad) +
                                   "'; this server supports 1.0,1.1,1.2");
  }
}

TEST_CASE("parse_heart_beat: two decimal integers") {
  auto parsed = [](std::string_view text) {
    const Result<HeartBeat> hb = parse_heart_beat(text);
    REQUIRE(hb);
    return std::pair{hb->can_send_ms, hb->want_recv_ms};
  };
  CHECK(parsed("0,0") == std::pair{0u, 0u});
  CHECK(parsed("1000,2500") == std::pair{1000u, 2500u});
  CHECK(parsed("007,10") == std::pair{7u, 10u});
  CHECK(parsed("4294967295,0") == std::pair{4294967295u, 0u});
}

TEST_CASE("parse_heart_beat: anything else is invalid_heart_beat naming the value") {
  for (std::string_view bad :
       {"", ",", "1", "1,", ",1", "-1,0", "0,-1", "+1,0", " 1,0", "1, 0", "1,0 ", "1;0", "1,2,3",
        "a,b", "1.5,0", "4294967296,0", "0,4294967296", "99999999999999999999,0", "0x10,0"}) {
    CAPTURE(bad);
    const Result<HeartBeat> hb = parse_heart_beat(bad);
    REQUIRE(!hb);
    CHECK(hb.error().code == static_cast<int>(ProtocolErrc::invalid_heart_beat));
    CHECK(hb.error().message.find("heart-beat '" + std::string(bad) + "'") != std::string::npos);
  }
}

TEST_CASE("plan_heart_beat follows the spec's max-of-both rule") {
  // ours = server (sx, sy), theirs = client (cx, cy).
  SUBCASE("both sides willing: the larger interval wins") {
    const HeartBeatPlan p = plan_heart_beat({1000, 2000}, {3000, 500});
    CHECK(p.send_every_ms == 1000);    // max(sx=1000, cy=500)
    CHECK(p.expect_every_ms == 3000);  // max(cx=3000, sy=2000)
    const HeartBeatPlan q = plan_heart_beat({5000, 5000}, {1000, 10000});
    CHECK(q.send_every_ms == 10000);
    CHECK(q.expect_every_ms == 5000);
  }
  SUBCASE("we cannot send: none sent, whatever they want") {
    const HeartBeatPlan p = plan_heart_beat({0, 2000}, {3000, 500});
    CHECK(p.send_every_ms == 0);
    CHECK(p.expect_every_ms == 3000);
  }
  SUBCASE("they do not want any: none sent") {
    const HeartBeatPlan p = plan_heart_beat({1000, 2000}, {3000, 0});
    CHECK(p.send_every_ms == 0);
    CHECK(p.expect_every_ms == 3000);
  }
  SUBCASE("they cannot send: none expected") {
    const HeartBeatPlan p = plan_heart_beat({1000, 2000}, {0, 500});
    CHECK(p.send_every_ms == 1000);
    CHECK(p.expect_every_ms == 0);
  }
  SUBCASE("we do not want any: none expected") {
    const HeartBeatPlan p = plan_heart_beat({1000, 0}, {3000, 500});
    CHECK(p.send_every_ms == 1000);
    CHECK(p.expect_every_ms == 0);
  }
  SUBCASE("0,0 on either side turns heart-beating off") {
    const HeartBeatPlan p = plan_heart_beat({0, 0}, {3000, 500});
    CHECK(p.send_every_ms == 0);
    CHECK(p.expect_every_ms == 0);
    const HeartBeatPlan q = plan_heart_beat({1000, 1000}, {0, 0});
    CHECK(q.send_every_ms == 0);
    CHECK(q.expect_every_ms == 0);
  }
  SUBCASE("the largest values do not overflow") {
    const HeartBeatPlan p = plan_heart_beat({4294967295u, 1}, {1, 4294967295u});
    CHECK(p.send_every_ms == 4294967295u);
    CHECK(p.expect_every_ms == 1);
  }
}

}  // namespace
}  // namespace twinmq::stomp

using namespace twinmq::stomp;

TEST_CASE("offer_heart_beat follows the client's rate between transport.minHeartBeat and transport.heartBeat") {
  // theirs = client (cx, cy); the offer is (sx, sy).
  SUBCASE("a fast client gets its own rate both ways, not the broker's 10 s") {
    const HeartBeat o = offer_heart_beat(10000, 100, {400, 400});
    CHECK(o.can_send_ms == 400);
    CHECK(o.want_recv_ms == 400);
    const HeartBeatPlan p = plan_heart_beat(o, {400, 400});
    CHECK(p.send_every_ms == 400);
    CHECK(p.expect_every_ms == 400);
  }
  SUBCASE("faster than the floor: the floor") {
    const HeartBeat o = offer_heart_beat(10000, 100, {20, 50});
    CHECK(o.can_send_ms == 100);
    CHECK(o.want_recv_ms == 100);
  }
  SUBCASE("slower than the configured rate: the configured rate (the spec's max does the rest)") {
    const HeartBeat o = offer_heart_beat(300, 100, {1500, 60000});
    CHECK(o.can_send_ms == 300);
    CHECK(o.want_recv_ms == 300);
    CHECK(plan_heart_beat(o, {1500, 60000}).expect_every_ms == 1500);
  }
  SUBCASE("a direction the client did not ask for keeps the configured offer") {
    const HeartBeat o = offer_heart_beat(10000, 100, {0, 400});
    CHECK(o.can_send_ms == 400);
    CHECK(o.want_recv_ms == 10000);
  }
  SUBCASE("transport.heartBeat=0 offers none, whatever the client asks") {
    const HeartBeat o = offer_heart_beat(0, 100, {400, 400});
    CHECK(o.can_send_ms == 0);
    CHECK(o.want_recv_ms == 0);
  }
}
