// A corpus of streams, valid and invalid, each fed whole, cut in two at every
// byte, cut in three at every pair of bytes (short streams) and a byte at a time:
// every way must give the same frames, heart-beats and error (NATS
// server/split_test.go, made exhaustive).
#include <doctest.h>

#include <string>

#include "parse_harness.h"

namespace twinmq::stomp {
namespace {

using test::Feeding;
using test::frame_text;
using test::Outcome;
using test::parse_every_split;

using namespace std::literals;

struct Case {
  const char* name;
  std::string stream;
  Version version = Version::v1_2;
  std::size_t frames = 0;
  std::size_t heart_beats = 0;
  std::optional<ProtocolErrc> error;
};

std::vector<Case> corpus() {
  std::vector<Case> cases;
  auto add = [&](const char* name, std::string stream, std::size_t frames, std::size_t hbs,
                 std::optional<ProtocolErrc> error = std::nullopt, Version v = Version::v1_2) {
    cases.push_back(Case{name, std::move(stream), v, frames, hbs, error});
  };
  add("minimal", "DISCONNECT\n\n\0"s, 1, 0);
  add("minimal CRLF", "DISCONNECT\r\n\r\n\0"s, 1, 0);
  add("connect 1.2", frame_text("CONNECT", {"accept-version:1.2", "host:/", "heart-beat:0,0"}),
      1, 0);
  add("connect with backslashes", frame_text("STOMP", {"login:a\\b", "passcode:\\t"}), 1, 0);
  add("send no content-length", frame_text("SEND", {"destination:/queue/a"}, "hello"), 1, 0);
  add("send content-length with NULs",
      frame_text("SEND", {"destination:/queue/a", "content-length:7"}, "\0a\0\nb\0\r"s), 1, 0);
  add("send content-length CRLF",
      frame_text("SEND", {"destination:/q", "content-length:3"}, "x\r\n", "\r\n"), 1, 0);
  add("escaped headers 1.2",
      frame_text("MESSAGE", {"a\\cb:c\\nd", "e:\\r\\\\", "subscription:s\\c1"}, "m"), 1, 0);
  add("escaped headers 1.1", frame_text("MESSAGE", {"a\\cb:c\\nd\\\\"}, "m"), 1, 0, std::nullopt,
      Version::v1_1);
  add("no escaping 1.0", frame_text("MESSAGE", {"a\\cb:c\\t"}, "m"), 1, 0, std::nullopt,
      Version::v1_0);
  add("repeated headers", frame_text("MESSAGE", {"foo:1", "foo:2", "content-length:1",
                                                 "content-length:x"}, "\0"s),
      1, 0);
  add("heart-beats around frames",
      "\n\r\n"s + frame_text("SEND", {"k:v"}, "1") + "\n\n" + frame_text("ACK", {"id:1"}) +
          "\r\n\r\n\n",
      2, 7);
  add("only heart-beats", "\n\r\n\r\n\n\n"s, 0, 5);
  add("three frames back to back",
      frame_text("SEND", {"n:1"}, "a") + frame_text("SEND", {"n:2", "content-length:2"}, "\0\0"s) +
          frame_text("SEND", {"n:3"}, "c", "\r\n"),
      3, 0);
  add("empty values and spaces", frame_text("SEND", {"a:", "b: x ", " c:y"}), 1, 0);
  add("unknown command", frame_text("FROB", {"k:v"}, "body"), 1, 0);
  add("frame starting with a lone CR", "\rSEND\n\n\0"s, 1, 0);
  add("body with EOLs", frame_text("SEND", {}, "\n\r\n\n"), 1, 0);
  add("content-length zero", frame_text("SEND", {"content-length:0"}), 1, 0);

  add("no colon", "\n"s + frame_text("SEND", {"k:v", "broken"}), 0, 1,
      ProtocolErrc::malformed_header);
  add("empty name", frame_text("SEND", {":v"}), 0, 0, ProtocolErrc::malformed_header);
  add("bad escape", frame_text("SEND", {"k:\\t"}), 0, 0, ProtocolErrc::invalid_escape);
  add("bad escape 1.1 \\r", frame_text("SEND", {"k:\\r"}), 0, 0, ProtocolErrc::invalid_escape,
      Version::v1_1);
  add("trailing backslash", frame_text("SEND", {"k:v\\"}), 0, 0, ProtocolErrc::invalid_escape);
  add("bad content-length", frame_text("SEND", {"content-length:1x"}, "a"), 0, 0,
      ProtocolErrc::invalid_content_length);
  add("missing NUL", "SEND\ncontent-length:1\n\nab\0"s, 0, 0, ProtocolErrc::missing_nul);
  add("body on SUBSCRIBE", frame_text("SUBSCRIBE", {"id:1"}, "x"), 0, 0,
      ProtocolErrc::body_not_allowed);
  add("error after good frames",
      frame_text("SEND", {}, "a") + "\n" + frame_text("SEND", {"x\\y:1"}) +
          frame_text("SEND", {}, "never"),
      1, 1, ProtocolErrc::invalid_escape);
  return cases;
}

TEST_CASE("every corpus stream gives the same outcome however it is split") {
  for (const Case& c : corpus()) {
    CAPTURE(c.name);
    Feeding how;
    how.version = c.version;
    const Outcome got = parse_every_split(c.stream, how);
    INFO("outcome: " << got);
    CHECK(got.frames().size() == c.frames);
    CHECK(got.heart_beats() == c.heart_beats);
    CHECK(got.error == c.error);
    CHECK(got.buffered_at_end == 0);
  }
}

TEST_CASE("the whole corpus as one stream, split every way") {
  // All the valid streams concatenated: a frame's end and the next one's start
  // fall at every possible place relative to a split.
  std::string stream;
  std::size_t frames = 0;
  std::size_t heart_beats = 0;
  for (const Case& c : corpus()) {
    if (c.error || c.version != Version::v1_2) continue;
    stream += c.stream;
    frames += c.frames;
    heart_beats += c.heart_beats;
  }
  const Outcome got = parse_every_split(stream);
  INFO("outcome: " << got);
  CHECK(!got.error);
  CHECK(got.frames().size() == frames);
  CHECK(got.heart_beats() == heart_beats);
  CHECK(got.buffered_at_end == 0);
}

TEST_CASE("a stream ending inside a frame keeps exactly that frame's bytes") {
  const std::string complete = frame_text("SEND", {"k:v"}, "body");
  for (std::size_t keep = 1; keep < complete.size(); ++keep) {
    CAPTURE(keep);
    const std::string stream = complete + "\n" + complete.substr(0, keep);
    const Outcome got = test::parse_whole(stream);
    CHECK(!got.error);
    CHECK(got.frames().size() == 1);
    CHECK(got.buffered_at_end == keep);
    CHECK(test::parse_bytewise(stream) == got);
  }
}

}  // namespace
}  // namespace twinmq::stomp
