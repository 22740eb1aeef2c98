// stomp/negotiate.cc — what CONNECT / CONNECTED agree on: the version from
// accept-version, and heart-beat intervals from the two heart-beat headers.
#include "stomp/negotiate.h"

#include <algorithm>
#include <string>

#include "base/printable.h"

namespace twinmq::stomp {
namespace {

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Plain decimal digits only: no sign, no blanks, no empty string, fits in 32 bits.
bool parse_u32(std::string_view s, std::uint32_t& out) {
  if (s.empty()) return false;
  std::uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > 0xffffffffu) return false;
  }
  out = static_cast<std::uint32_t>(value);
  return true;
}

}  // namespace

Result<Version> negotiate_version(std::optional<std::string_view> accept_version) {
  if (!accept_version) return Version::v1_0;  // spec: no accept-version means 1.0
  bool found = false;
  Version best = Version::v1_0;
  std::string_view rest = *accept_version;
  // Blanks around the entries are tolerated ("1.1, 1.2"): they cannot make an
  // entry mean anything else, and some clients write them.
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view entry = trim_blanks(rest.substr(0, comma));
    for (Version v : {Version::v1_0, Version::v1_1, Version::v1_2}) {
      if (entry == version_name(v)) {
        best = found ? std::max(best, v) : v;
        found = true;
      }
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!found) {
    return make_error(ProtocolErrc::unsupported_version,
                      "no supported version in accept-version " + quoted(*accept_version) +
                          "; this server supports 1.0,1.1,1.2");
  }
  return best;
}

Result<HeartBeat> parse_heart_beat(std::string_view text) {
  const std::size_t comma = text.find(',');
  HeartBeat hb;
  if (comma == std::string_view::npos || !parse_u32(text.substr(0, comma), hb.can_send_ms) ||
      !parse_u32(text.substr(comma + 1), hb.want_recv_ms)) {
    return make_error(ProtocolErrc::invalid_heart_beat,
                      "heart-beat " + quoted(text) +
                          " is not two non-negative integers of milliseconds 'cx,cy' "
                          "(each at most 4294967295)");
  }
  return hb;
}

HeartBeat offer_heart_beat(std::uint32_t configured_ms, std::uint32_t floor_ms, HeartBeat theirs) {
  if (configured_ms == 0) return HeartBeat{};
  auto follow = [&](std::uint32_t asked) {
    return asked == 0 ? configured_ms : std::min(configured_ms, std::max(asked, floor_ms));
  };
  // sx answers the client's cy (how often it wants to hear from us), sy its cx.
  return HeartBeat{follow(theirs.want_recv_ms), follow(theirs.can_send_ms)};
}

HeartBeatPlan plan_heart_beat(HeartBeat ours, HeartBeat theirs) {
  HeartBeatPlan plan;
  if (ours.can_send_ms != 0 && theirs.want_recv_ms != 0) {
    plan.send_every_ms = std::max(ours.can_send_ms, theirs.want_recv_ms);
  }
  if (theirs.can_send_ms != 0 && ours.want_recv_ms != 0) {
    plan.expect_every_ms = std::max(theirs.can_send_ms, ours.want_recv_ms);
  }
  return plan;
}

}  // namespace twinmq::stomp
