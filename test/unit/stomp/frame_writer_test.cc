// FrameWriter: the exact bytes it writes, and writer -> parser round trips for
// every version, fed split at every byte.
#include <doctest.h>

#include <string>

#include "parse_harness.h"
#include "stomp/frame_writer.h"

namespace twinmq::stomp {
namespace {

using test::Feeding;
using test::OwnedFrame;
using test::parse_every_split;

using namespace std::string_literals;

TEST_CASE("writer: headers, content-length, blank line, body, NUL") {
  std::string out;
  FrameWriter w(out, Version::v1_2, Command::message);
  w.header("subscription", "sub-1");
  w.header("message-id", std::uint64_t{42});
  w.finish("hello");
  CHECK(out == "MESSAGE\nsubscription:sub-1\nmessage-id:42\ncontent-length:5\n\nhello\0"s);
}

TEST_CASE("writer: content-length only when asked") {
  std::string out;
  FrameWriter(out, Version::v1_2, Command::receipt).finish({}, false);
  CHECK(out == "RECEIPT\n\n\0"s);
  out.clear();
  FrameWriter w(out, Version::v1_2, Command::send);
  w.finish("", true);
  CHECK(out == "SEND\ncontent-length:0\n\n\0"s);
  out.clear();
  FrameWriter(out, Version::v1_2, Command::send).finish("abc", false);
  CHECK(out == "SEND\n\nabc\0"s);
}

TEST_CASE("writer: a body containing NUL is written whole with its content-length") {
  std::string out;
  FrameWriter(out, Version::v1_2, Command::send).finish("a\0b"s);
  CHECK(out == "SEND\ncontent-length:3\n\na\0b\0"s);
}

TEST_CASE("writer: appends to what the string already holds") {
  std::string out = "EARLIER";
  FrameWriter(out, Version::v1_2, Command::disconnect).finish({}, false);
  CHECK(out == "EARLIERDISCONNECT\n\n\0"s);
}

TEST_CASE("writer: numeric headers, including the largest") {
  std::string out;
  FrameWriter w(out, Version::v1_2, Command::message);
  w.header("zero", std::uint64_t{0});
  w.header("max", std::uint64_t{18446744073709551615u});
  w.finish({}, false);
  CHECK(out == "MESSAGE\nzero:0\nmax:18446744073709551615\n\n\0"s);
}

TEST_CASE("writer: escapes names and values per version") {
  std::string out;
  FrameWriter w12(out, Version::v1_2, Command::message);
  w12.header("a:b", "c\r\n:\\d");
  w12.finish({}, false);
  CHECK(out == "MESSAGE\na\\cb:c\\r\\n\\c\\\\d\n\n\0"s);

  out.clear();
  FrameWriter w11(out, Version::v1_1, Command::message);
  w11.header("a:b", "c\r\n:\\d");
  w11.finish({}, false);
  CHECK(out == "MESSAGE\na\\cb:c\r\\n\\c\\\\d\n\n\0"s);

  out.clear();
  FrameWriter w10(out, Version::v1_0, Command::message);
  w10.header("k", "x:y\\z");
  w10.finish({}, false);
  CHECK(out == "MESSAGE\nk:x:y\\z\n\n\0"s);
}

TEST_CASE("writer: CONNECT, STOMP and CONNECTED are never escaped") {
  for (Command c : {Command::connect, Command::stomp, Command::connected}) {
    for (Version v : {Version::v1_0, Version::v1_1, Version::v1_2}) {
      std::string out;
      FrameWriter w(out, v, c);
      w.header("passcode", "a:b\\c");
      w.finish({}, false);
      CHECK(out == std::string(command_name(c)) + "\npasscode:a:b\\c\n\n\0"s);
    }
  }
}

// What the writer encodes, the parser (same version) decodes to the same headers.
void check_round_trip(Version v, Command command,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body, bool content_length) {
  std::string wire;
  FrameWriter w(wire, v, command);
  for (const auto& [name, value] : headers) w.header(name, value);
  w.finish(body, content_length);
  // Two copies with a heart-beat between: the second frame must parse the same.
  std::string stream = wire + "\n" + wire;

  Feeding how;
  how.version = v;
  const test::Outcome got = parse_every_split(stream, how);
  REQUIRE(!got.error);
  CHECK(got.heart_beats() == 1);
  const std::vector<OwnedFrame> frames = got.frames();
  REQUIRE(frames.size() == 2);
  for (const OwnedFrame& f : frames) {
    CHECK(f.command == command);
    auto expected = headers;
    if (content_length) expected.emplace_back("content-length", std::to_string(body.size()));
    CHECK(f.headers == expected);
    CHECK(f.body == body);
    CHECK(f.has_content_length == content_length);
  }
  CHECK(got.buffered_at_end == 0);
}

TEST_CASE("round trip 1.2: every special byte in names and values") {
  check_round_trip(Version::v1_2, Command::message,
                   {{"a:b", "x\ny"}, {"back\\slash", "c\r\n:\\"}, {"plain", ""},
                    {"spaces", "  both ends  "}, {"k", "\\n is not a newline"}},
                   "body\0with NUL"s, true);
}

TEST_CASE("round trip 1.1: LF, colon and backslash") {
  check_round_trip(Version::v1_1, Command::send,
                   {{"a:b", "x\ny"}, {"back\\slash", "\\c:"}, {"cr", "in\rside"}},
                   "hello", true);
}

TEST_CASE("round trip 1.0: no escaping, colons in values") {
  check_round_trip(Version::v1_0, Command::send, {{"destination", "/queue/a:b"}, {"x", "a\\b"}},
                   "text body", false);
}

TEST_CASE("round trip: CONNECT keeps backslashes as written, in every version") {
  for (Version v : {Version::v1_0, Version::v1_1, Version::v1_2}) {
    check_round_trip(v, Command::connect,
                     {{"accept-version", "1.2"}, {"login", "dom\\user"}, {"passcode", "p:w\\n"}},
                     "", false);
  }
}

TEST_CASE("round trip: CONNECTED is not escaped either") {
  check_round_trip(Version::v1_2, Command::connected,
                   {{"version", "1.2"}, {"server", "twinmq/0.1 a\\b"}}, "", false);
}

TEST_CASE("round trip: a long body with content-length") {
  std::string body(3000, 'x');
  body[1000] = '\0';
  body[2000] = '\n';
  std::string wire;
  FrameWriter w(wire, Version::v1_2, Command::send);
  w.header("destination", "/queue/big");
  w.finish(body);
  const test::Outcome whole = test::parse_whole(wire);
  const test::Outcome bytewise = test::parse_bytewise(wire);
  CHECK(whole == bytewise);
  REQUIRE(whole.frames().size() == 1);
  CHECK(whole.frames()[0].body == body);
}

TEST_CASE("writer: a header the version cannot carry is left out, never written raw") {
  // The case from the security issue: a 1.2 producer's x-note holding a line break, a
  // header and a frame end of its choosing, on its way to each kind of subscriber.
  const std::string note = "hello\ncontent-length:0\n\nFAKE";
  std::string out;
  {
    FrameWriter w(out, Version::v1_0, Command::message);
    w.header("subscription", "s");
    CHECK_FALSE(w.header_if_carried("x-note", note));
    CHECK(w.header_if_carried("x-ok", "a:b"));
    w.finish("body");
  }
  CHECK(out == "MESSAGE\nsubscription:s\nx-ok:a:b\ncontent-length:4\n\nbody\0"s);
  for (Version v : {Version::v1_1, Version::v1_2}) {
    CAPTURE(version_name(v));
    out.clear();
    FrameWriter w(out, v, Command::message);
    CHECK(w.header_if_carried("x-note", note));
    w.finish("body");
    Feeding how;
    how.version = v;
    const test::Outcome got = parse_every_split(out, how);
    REQUIRE(got.frames().size() == 1);
    CHECK(got.frames()[0].header("x-note") == note);
    CHECK(got.frames()[0].body == "body");
  }
  out.clear();
  FrameWriter w11(out, Version::v1_1, Command::message);
  CHECK_FALSE(w11.header_if_carried("x-cr", "a\rb"));
}

}  // namespace
}  // namespace twinmq::stomp
