// FrameParser limits: each exactly at the limit and one byte (or header) past it,
// split every way, and detected before the rest of an oversize frame arrives.
//
// As counted by the parser (frame_parser.cc): the header section is the command
// line plus the header lines, each with its EOL, without the blank line; a frame
// is every byte from the command's first to its NUL, both included.
#include <doctest.h>

#include <string>

#include "parse_harness.h"
#include "stomp/frame_parser.h"

namespace twinmq::stomp {
namespace {

using test::Feeding;
using test::Outcome;
using test::parse_every_split;

using namespace std::literals;

Feeding with_limits(std::size_t max_frame, std::size_t max_section, std::size_t max_headers) {
  Feeding how;
  how.limits.max_frame_size = max_frame;
  how.limits.max_header_section = max_section;
  how.limits.max_headers = max_headers;
  return how;
}

void check_accepted(std::string_view stream, const Feeding& how) {
  const Outcome got = parse_every_split(stream, how);
  INFO("outcome: " << got);
  CHECK(!got.error);
  CHECK(got.frames().size() == 1);
  CHECK(got.buffered_at_end == 0);
}

void check_refused(std::string_view stream, const Feeding& how, ProtocolErrc code,
                   std::string_view message) {
  const Outcome got = parse_every_split(stream, how);
  INFO("outcome: " << got);
  REQUIRE(got.error);
  CHECK(*got.error == code);
  CHECK(got.error_message == message);
  CHECK(got.frames().empty());
}

// Feeds `bytes` (a frame's beginning) whole into a fresh parser.
Result<void> feed_once(std::string_view bytes, const ParserLimits& limits) {
  FrameParser parser(limits);
  std::vector<test::Event> events;
  test::RecordingSink sink(parser, {}, events);
  return parser.feed(bytes, sink);
}

// A SEND whose header section (command line + one header line) is `size` bytes.
std::string header_section_of(std::size_t size, std::string_view eol) {
  const std::size_t fixed = 4 + eol.size() + 2 + eol.size();  // "SEND" EOL "k:" EOL
  return "SEND"s + std::string(eol) + "k:" + std::string(size - fixed, 'v') + std::string(eol) +
         std::string(eol) + '\0';
}

TEST_CASE("header section: exactly at the limit is accepted, one byte more is refused") {
  const Feeding how = with_limits(1000, 64, 100);
  const std::string message =
      "header section (command and header lines) exceeds the maximum of 64 bytes";
  for (std::string_view eol : {"\n"sv, "\r\n"sv}) {
    CAPTURE(eol.size());
    check_accepted(header_section_of(64, eol), how);
    check_refused(header_section_of(65, eol), how, ProtocolErrc::header_section_too_large,
                  message);
  }
  // The command line alone counts too.
  check_accepted(std::string(63, 'C') + "\n\n\0"s, how);
  check_refused(std::string(64, 'C') + "\n\n\0"s, how, ProtocolErrc::header_section_too_large,
                message);
}

TEST_CASE("header section: refused without waiting for its blank line") {
  const ParserLimits limits = with_limits(1u << 20, 64, 100).limits;
  // 63 bytes of an unfinished header line: with its LF it could still fit.
  const std::string start = "SEND\nk:" + std::string(56, 'v');
  REQUIRE(start.size() == 63);
  CHECK(feed_once(start, limits));
  // 64 bytes without an LF: the line can no longer end within 64 bytes.
  const Result<void> r = feed_once(start + "v", limits);
  REQUIRE(!r);
  CHECK(r.error().code == static_cast<int>(ProtocolErrc::header_section_too_large));

  // A section of exactly 64 bytes waiting for its blank line is still fine, even
  // with the blank line's CR already in.
  CHECK(feed_once(header_section_of(64, "\r\n").substr(0, 64), limits));
  CHECK(feed_once(header_section_of(64, "\r\n").substr(0, 65), limits));
}

// Found by the fuzzer (test/fuzz/found/frame_parser/crash-e590e22c...): a server's
// (strict) parser said "header section too large" when this command line arrived with
// its LF in the same read, and "not a command" when it arrived in pieces. The bytes
// below are that input's stream (the target's two mode bytes removed): 275 bytes of
// one line, far past a 256-byte section, already impossible at its 8th byte.
TEST_CASE("header section: a command line refused for its bytes is refused the same way however it is split") {
  Feeding how = with_limits(512, 256, 8);
  how.version = Version::v1_1;
  how.limits.strict_command_line = true;
  const std::string fuzz_input = "MMMMMMM:MMMMMMM," + std::string(64, '\x96') + ".MMMMMMMM:MMMMMMM," + std::string(74, '\x96') +
                                 "CONNECTED" + std::string(35, '\x96') + "vN" + std::string(10, '\x96') +
                                 "CONNECTED" + std::string(35, '\x96') + "vN\n";
  REQUIRE(fuzz_input.size() == 275);
  check_refused(fuzz_input, how, ProtocolErrc::unknown_command,
                "not a STOMP frame: the command line 'MMMMMMM:' is not a command (STOMP commands are "
                "upper-case words such as CONNECT)");

  // A lower-case word is judged only once its line is complete (to name the whole
  // word); past the section limit it is that limit, split or not.
  Feeding small = with_limits(512, 16, 8);
  small.limits.strict_command_line = true;
  check_refused("abcdefghijklmnopqrst\n\n\0"s, small, ProtocolErrc::header_section_too_large,
                "header section (command and header lines) exceeds the maximum of 16 bytes");
}

TEST_CASE("header section: the default limit of 64 KiB, detected early") {
  const ParserLimits defaults;
  CHECK(defaults.max_header_section == 65536);
  const std::string start = "SEND\nk:" + std::string(65536 - 7, 'v');
  const Result<void> r = feed_once(start, defaults);
  REQUIRE(!r);
  CHECK(r.error().message ==
        "header section (command and header lines) exceeds the maximum of 65536 bytes");
  CHECK(feed_once(start.substr(0, start.size() - 1), defaults));
}

TEST_CASE("header count: exactly at the limit is accepted, one more is refused") {
  const Feeding how = with_limits(1000, 1000, 3);
  check_accepted(test::frame_text("SEND", {"a:1", "b:2", "c:3"}), how);
  check_refused(test::frame_text("SEND", {"a:1", "b:2", "c:3", "d:4"}), how,
                ProtocolErrc::too_many_headers, "frame has more than the maximum of 3 header lines");
  // Refused at the extra line, before the blank line arrives.
  const Result<void> r = feed_once("SEND\na:1\nb:2\nc:3\nd:4\n", how.limits);
  REQUIRE(!r);
  CHECK(r.error().code == static_cast<int>(ProtocolErrc::too_many_headers));
  CHECK(feed_once("SEND\na:1\nb:2\nc:3\n", how.limits));
}

TEST_CASE("header count: repeated headers each count") {
  const Feeding how = with_limits(1000, 1000, 2);
  check_refused(test::frame_text("SEND", {"a:1", "a:1", "a:1"}), how,
                ProtocolErrc::too_many_headers, "frame has more than the maximum of 2 header lines");
}

TEST_CASE("frame size without content-length: at the limit accepted, one more refused") {
  const Feeding how = with_limits(100, 64, 100);
  const std::string message = "frame exceeds the maximum frame size of 100 bytes";
  // "SEND\n\n" (6) + body + NUL
  const std::string at_limit = "SEND\n\n" + std::string(93, 'b') + '\0';
  REQUIRE(at_limit.size() == 100);
  check_accepted(at_limit, how);
  check_refused("SEND\n\n" + std::string(94, 'b') + '\0', how, ProtocolErrc::frame_too_large,
                message);
  // Followed by another frame in the same stream: the limit is per frame.
  const Outcome two = parse_every_split(at_limit + "\n" + at_limit, how);
  CHECK(!two.error);
  CHECK(two.frames().size() == 2);
}

TEST_CASE("frame size without content-length: refused as the body grows past the limit") {
  const ParserLimits limits = with_limits(100, 64, 100).limits;
  // 99 bytes and no NUL yet: the NUL could still make it exactly 100.
  CHECK(feed_once("SEND\n\n" + std::string(93, 'b'), limits));
  // 100 bytes and no NUL: the frame can no longer fit.
  const Result<void> r = feed_once("SEND\n\n" + std::string(94, 'b'), limits);
  REQUIRE(!r);
  CHECK(r.error().code == static_cast<int>(ProtocolErrc::frame_too_large));

  // Split across many reads, it fails on the read that crosses the limit.
  FrameParser parser(limits);
  std::vector<test::Event> events;
  test::RecordingSink sink(parser, {}, events);
  REQUIRE(parser.feed("SEND\n\n", sink));
  std::size_t fed = 6;
  Result<void> result;
  while (fed < 100 && result) {
    result = parser.feed("bbbbbbb", sink);
    fed += 7;
  }
  REQUIRE(!result);
  CHECK(fed == 104);  // the read that took the frame to 104 bytes without a NUL
  CHECK(parser.buffered() == 0);
}

TEST_CASE("frame size with content-length: at the limit accepted, one more refused") {
  const Feeding how = with_limits(100, 64, 100);
  // "SEND\ncontent-length:NN\n\n" is 24 bytes, + body + NUL.
  const std::string at_limit = "SEND\ncontent-length:75\n\n" + std::string(75, 'b') + '\0';
  REQUIRE(at_limit.size() == 100);
  check_accepted(at_limit, how);
  check_refused("SEND\ncontent-length:76\n\n" + std::string(76, 'b') + '\0', how,
                ProtocolErrc::frame_too_large,
                "frame exceeds the maximum frame size of 100 bytes (content-length 76)");
}

TEST_CASE("frame size with content-length: refused before any of the body arrives") {
  const ParserLimits limits = with_limits(100, 64, 100).limits;
  CHECK(feed_once("SEND\ncontent-length:75\n\n", limits));
  const Result<void> r = feed_once("SEND\ncontent-length:76\n\n", limits);
  REQUIRE(!r);
  CHECK(r.error().code == static_cast<int>(ProtocolErrc::frame_too_large));
  // A content-length at or above the limit fails at its own header line.
  const Result<void> at_header = feed_once("SEND\ncontent-length:100\n", limits);
  REQUIRE(!at_header);
  CHECK(at_header.error().message ==
        "frame exceeds the maximum frame size of 100 bytes (content-length 100)");
  CHECK(feed_once("SEND\ncontent-length:99\n", limits));
}

TEST_CASE("content-length beyond 64 bits is too large, not garbage") {
  const Result<void> r =
      feed_once("SEND\ncontent-length:99999999999999999999999999\n\n", ParserLimits{});
  REQUIRE(!r);
  CHECK(r.error().code == static_cast<int>(ProtocolErrc::frame_too_large));
  CHECK(r.error().message ==
        "frame exceeds the maximum frame size of 10485760 bytes "
        "(content-length 99999999999999999999999999)");
  const Result<void> wraps = feed_once("SEND\ncontent-length:18446744073709551616\n\n", {});
  REQUIRE(!wraps);
  CHECK(wraps.error().code == static_cast<int>(ProtocolErrc::frame_too_large));
}

TEST_CASE("the default frame limit of 10 MiB, exactly at and one past") {
  const ParserLimits defaults;
  CHECK(defaults.max_frame_size == 10485760);
  const std::string head = "SEND\ncontent-length:";
  // head + digits + "\n\n" + body + NUL == 10485760
  const std::size_t body_size = 10485760 - head.size() - 8 - 2 - 1;
  std::string at_limit = head + std::to_string(body_size) + "\n\n" + std::string(body_size, 'x');
  at_limit += '\0';
  REQUIRE(at_limit.size() == 10485760);

  // Fed in odd-sized reads, as a socket would deliver it.
  for (std::size_t read_size : {std::size_t{65536}, std::size_t{65521}, at_limit.size()}) {
    CAPTURE(read_size);
    FrameParser parser;
    std::vector<test::Event> events;
    test::RecordingSink sink(parser, {}, events);
    for (std::size_t at = 0; at < at_limit.size(); at += read_size) {
      REQUIRE(parser.feed(std::string_view(at_limit).substr(at, read_size), sink));
    }
    REQUIRE(events.size() == 1);
    CHECK(events[0].frame.body.size() == body_size);
    CHECK(parser.buffered() == 0);
  }

  const Result<void> r =
      feed_once(head + std::to_string(body_size + 1) + "\n\n", defaults);
  REQUIRE(!r);
  CHECK(r.error().message == "frame exceeds the maximum frame size of 10485760 bytes "
                             "(content-length " + std::to_string(body_size + 1) + ")");

  // The same frame without content-length: refused once 10 MiB are in without a NUL.
  FrameParser parser;
  std::vector<test::Event> events;
  test::RecordingSink sink(parser, {}, events);
  const std::string no_length_head = "SEND\n\n";
  REQUIRE(parser.feed(no_length_head, sink));
  const std::string chunk(65536, 'x');
  std::size_t size = no_length_head.size();
  Result<void> fed;
  while (fed && size < 10485760 + chunk.size()) {
    fed = parser.feed(chunk, sink);
    size += chunk.size();
  }
  REQUIRE(!fed);
  CHECK(size >= 10485760);
  CHECK(fed.error().message == "frame exceeds the maximum frame size of 10485760 bytes");
}

}  // namespace
}  // namespace twinmq::stomp
