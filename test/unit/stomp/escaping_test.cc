// Header escaping per version, both directions (stomp/escaping.cc).
#include <doctest.h>

#include <string>

#include "stomp/frame_writer.h"

namespace twinmq::stomp {
namespace {

std::string escaped(Version v, std::string_view text) {
  std::string out;
  append_escaped(out, v, text);
  return out;
}

std::optional<std::string> unescaped(Version v, std::string_view text) {
  std::string out;
  if (!unescape(out, v, text)) return std::nullopt;
  return out;
}

TEST_CASE("1.0 neither escapes nor unescapes") {
  CHECK(escaped(Version::v1_0, "a:b\nc\\d\re") == "a:b\nc\\d\re");
  CHECK(unescaped(Version::v1_0, "a\\nb\\t\\") == "a\\nb\\t\\");
}

TEST_CASE("1.1 escapes LF, colon and backslash, but has no escape for CR") {
  CHECK(escaped(Version::v1_1, "plain") == "plain");
  CHECK(escaped(Version::v1_1, "a:b") == "a\\cb");
  CHECK(escaped(Version::v1_1, "a\nb") == "a\\nb");
  CHECK(escaped(Version::v1_1, "a\\b") == "a\\\\b");
  CHECK(escaped(Version::v1_1, "a\rb") == "a\rb");
  CHECK(escaped(Version::v1_1, ":\n\\") == "\\c\\n\\\\");
  CHECK(escaped(Version::v1_1, "") == "");
}

TEST_CASE("1.2 adds the CR escape") {
  CHECK(escaped(Version::v1_2, "a\rb") == "a\\rb");
  CHECK(escaped(Version::v1_2, "\r\n:\\") == "\\r\\n\\c\\\\");
}

TEST_CASE("escaping appends to what is already in the string") {
  std::string out = "x=";
  append_escaped(out, Version::v1_2, "a:b");
  CHECK(out == "x=a\\cb");
  CHECK(unescape(out, Version::v1_2, "\\n"));
  CHECK(out == "x=a\\cb\n");
}

TEST_CASE("1.1 and 1.2 unescape the defined sequences") {
  for (Version v : {Version::v1_1, Version::v1_2}) {
    CAPTURE(static_cast<int>(v));
    CHECK(unescaped(v, "plain") == "plain");
    CHECK(unescaped(v, "") == "");
    CHECK(unescaped(v, "a\\cb") == "a:b");
    CHECK(unescaped(v, "a\\nb") == "a\nb");
    CHECK(unescaped(v, "a\\\\b") == "a\\b");
    CHECK(unescaped(v, "\\\\n") == "\\n");  // an escaped backslash, then a plain n
    CHECK(unescaped(v, "\\c\\c") == "::");
  }
  CHECK(unescaped(Version::v1_2, "a\\rb") == "a\rb");
}

TEST_CASE("an undefined escape is an error in 1.1 and 1.2") {
  for (Version v : {Version::v1_1, Version::v1_2}) {
    CAPTURE(static_cast<int>(v));
    CHECK(!unescaped(v, "a\\tb"));
    CHECK(!unescaped(v, "\\x"));
    CHECK(!unescaped(v, "\\C"));
    CHECK(!unescaped(v, "\\ "));
    CHECK(!unescaped(v, std::string_view("\\\0", 2)));
    CHECK(!unescaped(v, "trailing\\"));
    CHECK(!unescaped(v, "\\"));
    CHECK(!unescaped(v, "\\\\\\"));
  }
  CHECK(!unescaped(Version::v1_1, "a\\rb"));  // \r only exists from 1.2 on
}

TEST_CASE("escaping then unescaping gives back every byte value") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  all += "\\n\\c::\n\n\\\\";
  CHECK(unescaped(Version::v1_2, escaped(Version::v1_2, all)) == all);
  CHECK(unescaped(Version::v1_1, escaped(Version::v1_1, all)) == all);  // CR passes raw
  CHECK(unescaped(Version::v1_0, escaped(Version::v1_0, all)) == all);
}

TEST_CASE("can_carry: what each version can write so the reader gets exactly those bytes") {
  using namespace std::string_view_literals;
  // 1.2 escapes CR, LF, ':' and '\\': everything but NUL.
  CHECK(can_carry(Version::v1_2, "x-note", "hello\ncontent-length:0\r\n\nFAKE"));
  CHECK(can_carry(Version::v1_2, "a:b\r\n", "v"));
  CHECK_FALSE(can_carry(Version::v1_2, "x", "a\0b"sv));
  CHECK_FALSE(can_carry(Version::v1_2, "x\0"sv, "v"));
  // 1.1 has no escape for CR.
  CHECK(can_carry(Version::v1_1, "x-note", "hello\ncontent-length:0\n\nFAKE"));
  CHECK(can_carry(Version::v1_1, "a:b", "c:d\\"));
  CHECK_FALSE(can_carry(Version::v1_1, "x", "a\rb"));
  CHECK_FALSE(can_carry(Version::v1_1, "x\r", "v"));
  CHECK_FALSE(can_carry(Version::v1_1, "x", "a\0b"sv));
  // 1.0 escapes nothing: no line breaks, no ':' in a name (a ':' in a value is fine).
  CHECK(can_carry(Version::v1_0, "x-note", "a:b c\\n\t\xc3\xa9"));
  CHECK_FALSE(can_carry(Version::v1_0, "x-note", "hello\ncontent-length:0\n\nFAKE"));
  CHECK_FALSE(can_carry(Version::v1_0, "x", "a\rb"));
  CHECK_FALSE(can_carry(Version::v1_0, "content-length:5", "x"));
  CHECK_FALSE(can_carry(Version::v1_0, "x\ny", "v"));
  CHECK_FALSE(can_carry(Version::v1_0, "x", "a\0b"sv));
  CHECK(can_carry(Version::v1_0, "x", ""));
}

// Found by the frame_parser fuzz target (test/fuzz/found/frame_parser/crash-45503faf...):
// a 1.2 CONNECT (never escaped) whose header value ends in CR was written back raw, and the
// reader took that CR for part of the line's CRLF. Unescaped frames follow 1.0's rules.
TEST_CASE("FrameWriter::carries: CONNECT, STOMP and CONNECTED are never escaped, so 1.0's rules apply in any version") {
  std::string out;
  FrameWriter connect(out, Version::v1_2, Command::connect);
  CHECK_FALSE(connect.carries("accept-version", "1.2\r"));
  CHECK_FALSE(connect.carries("x", "a\nb"));
  CHECK(connect.carries("x", "a:b"));
  CHECK_FALSE(connect.header_if_carried("x", "ends in CR\r"));
  FrameWriter connected(out, Version::v1_1, Command::connected);
  CHECK_FALSE(connected.carries("x", "a\rb"));
  FrameWriter message(out, Version::v1_2, Command::message);
  CHECK(message.carries("x", "ends in CR\r"));
  CHECK(message.carries("x", "a\nb"));
}

}  // namespace
}  // namespace twinmq::stomp
