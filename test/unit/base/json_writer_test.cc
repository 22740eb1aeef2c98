// JsonWriter: the --json reports of the tools parse as JSON whatever bytes a destination
// name or a path holds.
#include <doctest.h>

#include <string>

#include "base/json_writer.h"

using twinmq::JsonWriter;

namespace {
std::string quoted(std::string_view s) {
  std::string out;
  twinmq::append_json_string(out, s);
  return out;
}
}  // namespace

TEST_CASE("objects and arrays get commas, indentation and a final newline") {
  JsonWriter j;
  j.begin_object();
  j.key("a").value(std::uint64_t{1});
  j.key("list").begin_array().value("x").value(true).null().end_array();
  j.key("empty").begin_object().end_object();
  j.key("n").value(-3);
  j.end_object();
  CHECK(j.finish() ==
        "{\n"
        "  \"a\": 1,\n"
        "  \"list\": [\n"
        "    \"x\",\n"
        "    true,\n"
        "    null\n"
        "  ],\n"
        "  \"empty\": {},\n"
        "  \"n\": -3\n"
        "}\n");
}

TEST_CASE("strings: JSON escapes, UTF-8 kept, invalid bytes become U+FFFD") {
  CHECK(quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quoted("l1\nl2\t\r") == "\"l1\\nl2\\t\\r\"");
  CHECK(quoted(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(quoted("\x7f") == "\"\\u007f\"");
  CHECK(quoted("/queue/caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"/queue/caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(quoted("\xff") == "\"\xef\xbf\xbd\"");
  CHECK(quoted("\xc3") == "\"\xef\xbf\xbd\"");              // cut short
  CHECK(quoted("\xc0\xaf") == "\"\xef\xbf\xbd\xef\xbf\xbd\"");  // overlong
  CHECK(quoted("\xed\xa0\x80") == "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // a surrogate
}
