// FrameParser: each framing rule, valid and invalid. Every stream here goes
// through parse_every_split, so each case is also checked split at every byte.
#include <doctest.h>

#include <string>

#include "parse_harness.h"
#include "stomp/frame_parser.h"

namespace twinmq::stomp {
namespace {

using test::Feeding;
using test::frame_text;
using test::OwnedFrame;
using test::Outcome;
using test::parse_every_split;

using namespace std::literals;

Feeding in_version(Version v) {
  Feeding how;
  how.version = v;
  return how;
}

// Parses `stream` every way, requires no error, and returns its one frame.
OwnedFrame only_frame(std::string_view stream, const Feeding& how = {}) {
  const Outcome got = parse_every_split(stream, how);
  INFO("outcome: " << got);
  REQUIRE(!got.error);
  REQUIRE(got.frames().size() == 1);
  CHECK(got.buffered_at_end == 0);
  return got.frames()[0];
}

// Parses `stream` every way and requires the given error, with a message that
// contains `words`.
Outcome failing(std::string_view stream, ProtocolErrc code, std::string_view words,
                const Feeding& how = {}) {
  const Outcome got = parse_every_split(stream, how);
  INFO("outcome: " << got);
  REQUIRE(got.error.has_value());
  CHECK(*got.error == code);
  CHECK(got.error_message.find(words) != std::string::npos);
  CHECK(got.error_persisted);
  CHECK(got.buffered_at_end == 0);
  return got;
}

TEST_CASE("a minimal frame") {
  const OwnedFrame f = only_frame("DISCONNECT\n\n\0"s);
  CHECK(f.command == Command::disconnect);
  CHECK(f.command_text == "DISCONNECT");
  CHECK(f.headers.empty());
  CHECK(f.body.empty());
  CHECK(!f.has_content_length);
}

TEST_CASE("a SEND with headers and a body ending at the first NUL") {
  const OwnedFrame f = only_frame(frame_text("SEND", {"destination:/queue/a", "receipt:r1"}, "hi"));
  CHECK(f.command == Command::send);
  CHECK(f.headers == std::vector<std::pair<std::string, std::string>>{
                         {"destination", "/queue/a"}, {"receipt", "r1"}});
  CHECK(f.body == "hi");
}

TEST_CASE("every command is recognised; anything else is unknown with its text kept") {
  for (const char* name : {"CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK",
                           "BEGIN", "COMMIT", "ABORT", "DISCONNECT", "CONNECTED", "MESSAGE",
                           "RECEIPT", "ERROR"}) {
    const OwnedFrame f = only_frame(frame_text(name, {"k:v"}));
    CHECK(f.command == parse_command(name));
    CHECK(f.command != Command::unknown);
    CHECK(f.command_text == name);
  }
  const OwnedFrame f = only_frame(frame_text("PUBLISH", {"k:v"}, "body"));
  CHECK(f.command == Command::unknown);
  CHECK(f.command_text == "PUBLISH");
  CHECK(f.body == "body");
  const OwnedFrame lower = only_frame(frame_text("send", {}));
  CHECK(lower.command == Command::unknown);
  CHECK(lower.command_text == "send");
}

TEST_CASE("CR LF line ends: the CR is stripped from command, headers and blank line") {
  for (Version v : {Version::v1_0, Version::v1_1, Version::v1_2}) {
    const OwnedFrame f =
        only_frame(frame_text("SEND", {"destination:/queue/a", "x:y"}, "b\r\nody", "\r\n"),
                   in_version(v));
    CHECK(f.command == Command::send);
    CHECK(f.command_text == "SEND");
    CHECK(f.headers == std::vector<std::pair<std::string, std::string>>{
                           {"destination", "/queue/a"}, {"x", "y"}});
    CHECK(f.body == "b\r\nody");
  }
}

TEST_CASE("LF and CR LF mixed within one frame") {
  const OwnedFrame f = only_frame("SEND\r\na:1\nb:2\r\n\nbody\0"s);
  CHECK(f.headers == std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}});
  CHECK(f.body == "body");
}

TEST_CASE("only one CR before the LF is part of the EOL") {
  const OwnedFrame f = only_frame("SEND\na:1\r\r\n\n\0"s, in_version(Version::v1_0));
  CHECK(f.header("a") == "1\r");
}

TEST_CASE("EOLs between frames are heart-beats, one per EOL") {
  const std::string stream = "\n\r\n\nSEND\n\nx\0\n\r\n"s + "SEND\n\ny\0"s + "\r\n\n"s;
  const Outcome got = parse_every_split(stream);
  REQUIRE(!got.error);
  REQUIRE(got.events.size() == 9);
  CHECK(got.heart_beats() == 7);
  CHECK(got.events[3].frame.body == "x");
  CHECK(got.events[6].frame.body == "y");
  CHECK(got.buffered_at_end == 0);
}

TEST_CASE("a stream of only heart-beats") {
  const Outcome got = parse_every_split("\n\n\r\n\n\r\n\r\n");
  REQUIRE(!got.error);
  CHECK(got.heart_beats() == 6);
  CHECK(got.frames().empty());
  CHECK(got.buffered_at_end == 0);
}

TEST_CASE("a CR not followed by LF between frames starts a frame") {
  const OwnedFrame f = only_frame("\rSEND\n\n\0"s);
  CHECK(f.command == Command::unknown);
  CHECK(f.command_text == "\rSEND");
}

TEST_CASE("repeated headers: all kept in order, the first wins") {
  const OwnedFrame f = only_frame(frame_text("MESSAGE", {"foo:World", "foo:Hello", "bar:1"}));
  CHECK(f.headers == std::vector<std::pair<std::string, std::string>>{
                         {"foo", "World"}, {"foo", "Hello"}, {"bar", "1"}});
  CHECK(f.header("foo") == "World");

  // And through Frame::header on the parser's own views.
  struct FirstWins final : FrameSink {
    std::optional<std::string> foo;
    bool on_frame(const Frame& frame) override {
      foo = std::string(*frame.header("foo"));
      return true;
    }
    void on_heartbeat() override {}
  } sink;
  FrameParser parser;
  REQUIRE(parser.feed(frame_text("MESSAGE", {"foo:World", "foo:Hello"}), sink));
  CHECK(sink.foo == "World");
}

TEST_CASE("values are not trimmed; the first ':' separates; empty values are kept") {
  const OwnedFrame f =
      only_frame(frame_text("SEND", {"a: spaced ", " b :x", "url:tcp://h:1", "empty:", "c::"}));
  CHECK(f.headers == std::vector<std::pair<std::string, std::string>>{
                         {"a", " spaced "}, {" b ", "x"}, {"url", "tcp://h:1"}, {"empty", ""},
                         {"c", ":"}});
}

TEST_CASE("content-length gives the exact body, NULs included") {
  const OwnedFrame f = only_frame(frame_text("SEND", {"content-length:5"}, "a\0b\0c"s));
  CHECK(f.body == "a\0b\0c"s);
  CHECK(f.has_content_length);
  CHECK(f.header("content-length") == "5");

  const OwnedFrame empty = only_frame(frame_text("SEND", {"content-length:0"}));
  CHECK(empty.body.empty());
  CHECK(empty.has_content_length);

  const OwnedFrame all_nul = only_frame(frame_text("SEND", {"content-length:3"}, "\0\0\0"s));
  CHECK(all_nul.body == "\0\0\0"s);

  const OwnedFrame leading_zeros = only_frame(frame_text("SEND", {"content-length:003"}, "abc"));
  CHECK(leading_zeros.body == "abc");
}

TEST_CASE("content-length body may contain EOLs and what looks like frames") {
  const std::string body = "\n\nSEND\n\n\0\r\n"s;
  const OwnedFrame f = only_frame(frame_text("SEND", {"content-length:11"}, body));
  CHECK(f.body == body);
}

TEST_CASE("without content-length the body ends at the first NUL; the rest is the next frame") {
  const std::string stream = "SEND\n\nab\0SEND\n\ncd\0"s;
  const Outcome got = parse_every_split(stream);
  REQUIRE(!got.error);
  REQUIRE(got.frames().size() == 2);
  CHECK(got.frames()[0].body == "ab");
  CHECK(got.frames()[1].body == "cd");
}

TEST_CASE("only the first content-length counts; later ones are not even validated") {
  const OwnedFrame f = only_frame(
      frame_text("SEND", {"content-length:3", "content-length:1", "content-length:abc"}, "a\0b"s));
  CHECK(f.body == "a\0b"s);
  CHECK(f.header("content-length") == "3");
  CHECK(f.headers.size() == 3);
}

TEST_CASE("a content-length that is not plain decimal digits") {
  for (const char* bad : {"abc", "", " 5", "5 ", "-1", "+5", "5a", "0x10", "1.0", "1e3"}) {
    CAPTURE(bad);
    const std::string line = std::string("content-length:") + bad;
    failing(frame_text("SEND", {line}, "x"), ProtocolErrc::invalid_content_length,
            "content-length '" + std::string(bad) + "' is not a number");
  }
}

TEST_CASE("an escaped content-length is unescaped before it is read") {
  failing(frame_text("SEND", {"content-length:1\\n"}, "x"), ProtocolErrc::invalid_content_length,
          "content-length '1\\x0a' is not a number");
}

TEST_CASE("a content-length body must be followed by NUL") {
  failing("SEND\ncontent-length:2\n\nabc\0"s, ProtocolErrc::missing_nul,
          "the body of content-length 2 is followed by byte 'c' instead of the NUL");
  failing("SEND\ncontent-length:0\n\n\n\0"s, ProtocolErrc::missing_nul, "byte '\\x0a'");
}

TEST_CASE("header lines without ':' or with an empty name are malformed") {
  failing(frame_text("SEND", {"destination:/queue/a", "receipt:1", "oops"}),
          ProtocolErrc::malformed_header, "header line 3 has no ':' separator: 'oops'");
  failing(frame_text("SEND", {":value"}), ProtocolErrc::malformed_header,
          "header line 1 has an empty name");
  failing(frame_text("SEND", {":"}), ProtocolErrc::malformed_header, "empty name");
  // A frame without the blank line: its NUL sits in a header line with no ':'.
  failing("SEND\nk:v\n\0SEND\n\n\0"s, ProtocolErrc::malformed_header,
          "header line 2 has no ':' separator: '\\x00SEND'");
}

TEST_CASE("a NUL byte in any header line is refused, in every version and every frame") {
  // A NUL ends a frame for readers that look for the end first, so no subscriber could
  // be handed such a header intact (README "STOMP support").
  for (Version v : {Version::v1_0, Version::v1_1, Version::v1_2}) {
    CAPTURE(version_name(v));
    failing("SEND\ndestination:/queue/a\nx-note:hel\0lo\n\nbody\0"s, ProtocolErrc::malformed_header,
            "header line 2 contains a NUL byte, which ends a STOMP frame and cannot be part of a header: "
            "'x-note:hel\\x00lo'",
            in_version(v));
    failing("SEND\nx\0y:1\n\n\0"s, ProtocolErrc::malformed_header, "contains a NUL byte", in_version(v));
    failing("CONNECT\naccept-version:1.2\nlogin:a\0b\n\n\0"s, ProtocolErrc::malformed_header,
            "contains a NUL byte", in_version(v));
  }
  // Only raw bytes can hold one: no escape produces a NUL.
  const OwnedFrame f = only_frame(frame_text("SEND", {"x-note:\\\\0"}), in_version(Version::v1_2));
  CHECK(f.header("x-note") == "\\0");
}

TEST_CASE("1.2 unescapes \\r \\n \\c \\\\ in names and values") {
  const OwnedFrame f = only_frame(
      frame_text("MESSAGE", {"a\\cb:c\\nd", "e:\\r\\\\f", "g:\\\\n"}), in_version(Version::v1_2));
  CHECK(f.headers == std::vector<std::pair<std::string, std::string>>{
                         {"a:b", "c\nd"}, {"e", "\r\\f"}, {"g", "\\n"}});
}

TEST_CASE("1.1 unescapes \\n \\c \\\\ but \\r is an invalid escape") {
  const OwnedFrame f = only_frame(frame_text("MESSAGE", {"a\\cb:c\\nd\\\\"}),
                                  in_version(Version::v1_1));
  CHECK(f.header("a:b") == "c\nd\\");
  failing(frame_text("MESSAGE", {"foo:a\\rb"}), ProtocolErrc::invalid_escape,
          "invalid escape sequence \\r in header 'foo' (STOMP 1.1 allows \\n \\c \\\\)",
          in_version(Version::v1_1));
}

TEST_CASE("1.0 leaves backslashes alone") {
  const OwnedFrame f =
      only_frame(frame_text("SEND", {"a\\cb:c\\nd\\t\\"}), in_version(Version::v1_0));
  CHECK(f.header("a\\cb") == "c\\nd\\t\\");
}

TEST_CASE("an undefined escape in 1.2 names what and where") {
  failing(frame_text("SEND", {"destination:/q", "foo:a\\tb"}), ProtocolErrc::invalid_escape,
          "invalid escape sequence \\t in header 'foo' (STOMP 1.2 allows \\r \\n \\c \\\\)");
  failing(frame_text("SEND", {"fo\\xo:1"}), ProtocolErrc::invalid_escape,
          "invalid escape sequence \\x in header name 'fo\\xo'");
  failing(frame_text("SEND", {"foo:abc\\"}), ProtocolErrc::invalid_escape,
          "invalid escape sequence '\\' at the end in header 'foo'");
  // The header's name is shown unescaped when the bad escape is in its value.
  failing(frame_text("SEND", {"a\\cb:\\q"}), ProtocolErrc::invalid_escape,
          "invalid escape sequence \\q in header 'a:b'");
  failing(frame_text("SEND", {"k:\\\x01"}), ProtocolErrc::invalid_escape,
          "invalid escape sequence \\\\x01 in header 'k'");
}

TEST_CASE("CONNECT, STOMP and CONNECTED are never unescaped, whatever the version") {
  for (Version v : {Version::v1_0, Version::v1_1, Version::v1_2}) {
    for (const char* command : {"CONNECT", "STOMP", "CONNECTED"}) {
      const OwnedFrame f =
          only_frame(frame_text(command, {"login:dom\\user", "passcode:a\\tb\\c"}), in_version(v));
      CHECK(f.header("login") == "dom\\user");
      CHECK(f.header("passcode") == "a\\tb\\c");
    }
  }
}

TEST_CASE("the version applies from the frame after the one that set it") {
  // The session switches to 1.2 after CONNECT; the CONNECT itself and every frame
  // before the switch use the old rules, every later frame the new ones.
  Feeding how;
  how.version = Version::v1_0;
  how.sink.version_after_connect = Version::v1_2;
  const std::string stream =
      frame_text("SEND", {"k:a\\nb"}) + frame_text("CONNECT", {"accept-version:1.2", "p:x\\y"}) +
      "\n" + frame_text("SEND", {"k:a\\nb"});
  const Outcome got = parse_every_split(stream, how);
  REQUIRE(!got.error);
  const auto frames = got.frames();
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].header("k") == "a\\nb");
  CHECK(frames[1].header("p") == "x\\y");
  CHECK(frames[2].header("k") == "a\nb");
}

TEST_CASE("set_version while a frame is still arriving applies from the next frame") {
  FrameParser parser;
  std::vector<test::Event> events;
  test::RecordingSink sink(parser, {}, events);
  REQUIRE(parser.feed("SE", sink));  // begins under 1.0
  parser.set_version(Version::v1_2);
  REQUIRE(parser.feed("ND\nk:a\\nb\n\n\0SEND\nk:a\\nb\n\n\0"s, sink));
  REQUIRE(events.size() == 2);
  CHECK(events[0].frame.header("k") == "a\\nb");
  CHECK(events[1].frame.header("k") == "a\nb");
}

TEST_CASE("a frame after the version switch with an invalid escape fails") {
  Feeding how;
  how.version = Version::v1_0;
  how.sink.version_after_connect = Version::v1_2;
  const std::string stream =
      frame_text("CONNECT", {"accept-version:1.2"}) + frame_text("SEND", {"k:\\t"});
  const Outcome got = failing(stream, ProtocolErrc::invalid_escape, "\\t in header 'k'", how);
  CHECK(got.frames().size() == 1);
}

TEST_CASE("many escaped headers: scratch growth keeps earlier values intact") {
  std::vector<std::string> lines;
  std::string stream = "MESSAGE\n";
  for (int i = 0; i < 200; ++i) {
    stream += "h" + std::to_string(i) + "\\c:" + std::string(static_cast<std::size_t>(i), 'v') +
              "\\n" + std::to_string(i) + "\n";
  }
  stream += "\n\0"s;
  const test::Outcome whole = test::parse_whole(stream);
  const test::Outcome bytewise = test::parse_bytewise(stream);
  CHECK(whole == bytewise);
  REQUIRE(!whole.error);
  REQUIRE(whole.frames().size() == 1);
  const OwnedFrame f = whole.frames()[0];
  REQUIRE(f.headers.size() == 200);
  for (std::size_t i = 0; i < 200; ++i) {
    CHECK(f.headers[i].first == "h" + std::to_string(i) + ":");
    CHECK(f.headers[i].second == std::string(i, 'v') + "\n" + std::to_string(i));
  }
}

TEST_CASE("only SEND, MESSAGE and ERROR (and unknown commands) may have a body") {
  for (const char* command : {"SEND", "MESSAGE", "ERROR", "FOO"}) {
    CHECK(only_frame(frame_text(command, {}, "body")).body == "body");
    CHECK(only_frame(frame_text(command, {"content-length:4"}, "bo\0y"s)).body == "bo\0y"s);
  }
  for (const char* command : {"CONNECT", "STOMP", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK",
                              "BEGIN", "COMMIT", "ABORT", "DISCONNECT", "CONNECTED", "RECEIPT"}) {
    CAPTURE(command);
    const std::string words = std::string(command) + " frame must not have a body";
    failing(frame_text(command, {"id:1"}, "x"), ProtocolErrc::body_not_allowed, words);
    failing(frame_text(command, {"id:1", "content-length:1"}, "x"),
            ProtocolErrc::body_not_allowed, words);
    // An empty body is no body.
    CHECK(only_frame(frame_text(command, {"id:1", "content-length:0"})).body.empty());
    CHECK(only_frame(frame_text(command, {"id:1"})).body.empty());
  }
}

TEST_CASE("a refused body is reported before the rest of it arrives") {
  FrameParser parser;
  std::vector<test::Event> events;
  test::RecordingSink sink(parser, {}, events);
  Result<void> r = parser.feed("SUBSCRIBE\nid:1\ncontent-length:100000\n\n", sink);
  REQUIRE(!r);
  CHECK(r.error().code == static_cast<int>(ProtocolErrc::body_not_allowed));

  FrameParser parser2;
  test::RecordingSink sink2(parser2, {}, events);
  r = parser2.feed("ACK\nid:1\n\nx", sink2);
  REQUIRE(!r);
  CHECK(r.error().code == static_cast<int>(ProtocolErrc::body_not_allowed));
}

TEST_CASE("after an error the parser is dead; frames before the error were delivered") {
  const std::string stream = frame_text("SEND", {"a:1"}) + "\n" + frame_text("SEND", {"bad"}) +
                             frame_text("SEND", {"a:2"});
  const Outcome got =
      failing(stream, ProtocolErrc::malformed_header, "header line 1 has no ':' separator");
  CHECK(got.frames().size() == 1);
  CHECK(got.heart_beats() == 1);

  FrameParser parser;
  std::vector<test::Event> events;
  test::RecordingSink sink(parser, {}, events);
  const Result<void> first = parser.feed("SEND\nbad\n", sink);
  REQUIRE(!first);
  for (std::string_view more : {"SEND\n\n\0"sv, ""sv, "\n"sv}) {
    const Result<void> again = parser.feed(more, sink);
    REQUIRE(!again);
    CHECK(again.error().code == first.error().code);
    CHECK(again.error().message == first.error().message);
  }
  CHECK(events.empty());
  CHECK(parser.buffered() == 0);
}

TEST_CASE("on_frame returning false stops parsing and drops the rest") {
  const std::string stream = frame_text("SEND", {"n:1"}) + "\n" + frame_text("SEND", {"n:2"}) +
                             frame_text("SEND", {"n:3"});
  Feeding how;
  how.sink.stop_after = 2;
  // Whole: the third frame is dropped with the rest of that read.
  const Outcome whole = test::parse_whole(stream, how);
  REQUIRE(!whole.error);
  REQUIRE(whole.frames().size() == 2);
  CHECK(whole.frames()[1].header("n") == "2");
  CHECK(whole.buffered_at_end == 0);

  // However the stream is cut, the second frame is the last one delivered: the
  // connection stops feeding once the sink has said stop, as a closing one does.
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    CAPTURE(cut);
    FrameParser parser;
    std::vector<test::Event> events;
    test::RecordingSink sink(parser, how.sink, events);
    REQUIRE(parser.feed(std::string_view(stream).substr(0, cut), sink));
    std::size_t frames = 0;
    for (const test::Event& e : events) frames += e.heart_beat ? 0 : 1;
    if (frames < 2) REQUIRE(parser.feed(std::string_view(stream).substr(cut), sink));
    std::vector<test::OwnedFrame> got;
    for (const test::Event& e : events) {
      if (!e.heart_beat) got.push_back(e.frame);
    }
    REQUIRE(got.size() == 2);
    CHECK(got[1].header("n") == "2");
    CHECK(parser.buffered() == 0);
  }
}

TEST_CASE("on_frame returning false while finishing a split frame drops the rest of that read") {
  FrameParser parser;
  std::vector<test::Event> events;
  test::SinkOptions options;
  options.stop_after = 1;
  test::RecordingSink sink(parser, options, events);
  REQUIRE(parser.feed("SEND\n\nab", sink));
  CHECK(parser.buffered() == 8);
  REQUIRE(parser.feed("c\0SEND\n\nd\0"s, sink));
  REQUIRE(events.size() == 1);
  CHECK(events[0].frame.body == "abc");
  CHECK(parser.buffered() == 0);
}

TEST_CASE("buffered() is 0 between frames and counts only the unfinished frame") {
  FrameParser parser;
  std::vector<test::Event> events;
  test::RecordingSink sink(parser, {}, events);
  CHECK(parser.buffered() == 0);
  REQUIRE(parser.feed("SEND\n\nx\0\n"s, sink));
  CHECK(parser.buffered() == 0);
  REQUIRE(parser.feed("SEND\n\nx\0SEND\nk:"s, sink));
  CHECK(parser.buffered() == 7);  // "SEND\nk:" only, not the complete frame before it
  REQUIRE(parser.feed("v\n\n"s, sink));
  CHECK(parser.buffered() == 10);
  REQUIRE(parser.feed("y\0"s, sink));
  CHECK(parser.buffered() == 0);
  REQUIRE(events.size() == 4);
  CHECK(events[3].frame.header("k") == "v");
  CHECK(events[3].frame.body == "y");
}

TEST_CASE("header values without a backslash are views into the bytes fed (no copy)") {
  const std::string input = frame_text("SEND", {"destination:/queue/a", "esc:a\\nb"}, "body");
  struct Sink final : FrameSink {
    const std::string* input = nullptr;
    bool destination_in_input = false;
    bool body_in_input = false;
    bool escaped_outside_input = false;
    bool on_frame(const Frame& f) override {
      auto inside = [&](std::string_view v) {
        return v.data() >= input->data() && v.data() + v.size() <= input->data() + input->size();
      };
      destination_in_input = inside(*f.header("destination"));
      body_in_input = inside(f.body);
      escaped_outside_input = !inside(*f.header("esc"));
      return true;
    }
    void on_heartbeat() override {}
  } sink;
  sink.input = &input;
  FrameParser parser;
  parser.set_version(Version::v1_2);
  REQUIRE(parser.feed(input, sink));
  CHECK(sink.destination_in_input);
  CHECK(sink.body_in_input);
  CHECK(sink.escaped_outside_input);
  CHECK(parser.buffered() == 0);
}

TEST_CASE("the parser's own copy of a split frame is released once it completes") {
  FrameParser parser;
  std::vector<test::Event> events;
  test::RecordingSink sink(parser, {}, events);
  REQUIRE(parser.feed("SEND\n\n" + std::string(5000, 'x'), sink));
  CHECK(parser.buffered() == 5006);
  REQUIRE(parser.feed("\0"s, sink));
  CHECK(parser.buffered() == 0);
  REQUIRE(events.size() == 1);
  CHECK(events[0].frame.body.size() == 5000);
}

TEST_CASE("a frame mixing everything, in a stream, split every way") {
  const std::string stream =
      "\r\n"s + frame_text("CONNECT", {"accept-version:1.1,1.2", "host:h", "login:a\\b"}, "",
                           "\r\n") +
      "\n" + frame_text("SEND", {"destination:/queue/a", "content-length:4", "x:a\\c\\n"},
                        "\0\n\0\r"s) +
      frame_text("SEND", {"destination:/queue/a", "dup:1", "dup:2"}, "plain", "\r\n") + "\r\n\n";
  const Outcome got = parse_every_split(stream);
  REQUIRE(!got.error);
  const auto frames = got.frames();
  REQUIRE(frames.size() == 3);
  CHECK(got.heart_beats() == 4);
  CHECK(frames[0].header("login") == "a\\b");
  CHECK(frames[1].body == "\0\n\0\r"s);
  CHECK(frames[1].header("x") == "a:\n");
  CHECK(frames[2].header("dup") == "1");
  CHECK(frames[2].body == "plain");
  CHECK(got.buffered_at_end == 0);
}

}  // namespace
TEST_CASE("strict: a command line that is not an upper-case word is refused at once") {
  const Feeding strict{.limits = {.strict_command_line = true}};
  // An HTTP request: refused at the space after its method, long before any NUL.
  failing("GET / HTTP/1.1\r\nHost: broker\r\n\r\n", ProtocolErrc::unknown_command,
          "looks like an HTTP request", strict);
  // A TLS ClientHello on the plain port: refused at its first byte (no EOL needed).
  failing("\x16\x03\x01\x02\x00\x01"s, ProtocolErrc::unknown_command, "TLS handshake", strict);
  failing("connect\n\n\0"s, ProtocolErrc::unknown_command,
          "'connect': STOMP commands are upper-case", strict);
  failing("a-b\n\n\0"s, ProtocolErrc::unknown_command, "not a command", strict);
  failing(std::string(40, 'A'), ProtocolErrc::unknown_command, "longer than 32 bytes", strict);
  // Real commands, with CRLF, and well-formed unknown words still parse.
  CHECK(only_frame("CONNECT\r\naccept-version:1.2\r\n\r\n\0"s, strict).body.empty());
  CHECK(only_frame(frame_text("FOO", {}, "body"), strict).body == "body");
  // Not strict (the default, and the client's parser): the text is kept for the caller.
  CHECK(only_frame("get\n\n\0"s).command_text == "get");
}

}  // namespace twinmq::stomp
