// stomp/negotiate.h — what CONNECT / CONNECTED agree on: the protocol version and
// heart-beat intervals (STOMP 1.1+ "Heart-beating").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.h"
#include "stomp/errors.h"
#include "stomp/frame.h"

namespace twinmq::stomp {

// accept-version absent -> 1.0 (spec). Otherwise the highest common version of
// "1.0,1.1,1.2"; none in common -> unsupported_version (message lists ours).
Result<Version> negotiate_version(std::optional<std::string_view> accept_version);

struct HeartBeat {
  std::uint32_t can_send_ms = 0;   // cx (client) / sx (server)
  std::uint32_t want_recv_ms = 0;  // cy (client) / sy (server)
};

// "cx,cy": two non-negative decimal integers (no sign, no spaces, fit in 32 bits);
// else invalid_heart_beat naming the value.
Result<HeartBeat> parse_heart_beat(std::string_view text);

struct HeartBeatPlan {
  std::uint32_t send_every_ms = 0;    // 0 = we send none
  std::uint32_t expect_every_ms = 0;  // 0 = we expect none
};

// Per spec: we send every max(sx, cy) if both non-zero; we expect from the peer
// every max(cx, sy) if both non-zero. `ours` is what this side offers.
HeartBeatPlan plan_heart_beat(HeartBeat ours, HeartBeat theirs);

// What the broker offers in CONNECTED: the client's own rate where it asked for one,
// never below `floor_ms` (transport.minHeartBeat) and never above `configured_ms`
// (transport.heartBeat), so a client asking "400,400" gets 400 ms both ways instead of
// the broker's 10 s, and can notice a frozen broker in about a second (ActiveMQ and
// RabbitMQ follow the client the same way). configured_ms == 0 offers none at all.
HeartBeat offer_heart_beat(std::uint32_t configured_ms, std::uint32_t floor_ms, HeartBeat theirs);

}  // namespace twinmq::stomp
