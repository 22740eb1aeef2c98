// Sizes as ActiveMQ writes them.
#include <doctest.h>

#include "config/size_value.h"
#include "config/values.h"

namespace twinmq::config {

TEST_CASE("size: plain bytes and ActiveMQ units, case-insensitive, spaces optional") {
  CHECK(parse_size("0").value() == 0);
  CHECK(parse_size("1048576").value() == 1048576);
  CHECK(parse_size("100 b").value() == 100);
  CHECK(parse_size("64 kb").value() == 64u << 10);
  CHECK(parse_size("64kb").value() == 64u << 10);
  CHECK(parse_size("32 mb").value() == 32u << 20);
  CHECK(parse_size("32 MB").value() == 32u << 20);
  CHECK(parse_size("1 Gb").value() == 1ull << 30);
  CHECK(parse_size("  8 kb  ").value() == 8u << 10);
}

TEST_CASE("size: what is wrong is said") {
  CHECK(parse_size("").error().message == "not a number");
  CHECK(parse_size("kb").error().message == "not a number");
  CHECK(parse_size("-1").error().message == "not a number");
  CHECK(parse_size("12 zb").error().message == "unknown unit 'zb'; use b, kb, mb or gb");
  CHECK(parse_size("1.5 mb").error().message == "unexpected '.5 mb'");
  CHECK(parse_size("10 mb x").error().message == "unexpected 'x'");
  CHECK(parse_size("99999999999999999999").error().message == "number too large");
  CHECK(parse_size("17179869184 gb").error().message == "number too large");
}

TEST_CASE("size: formatted in the largest exact unit") {
  CHECK(format_size(0) == "0 b");
  CHECK(format_size(1000) == "1000 b");
  CHECK(format_size(4096) == "4 kb");
  CHECK(format_size(32u << 20) == "32 mb");
  CHECK(format_size(4ull << 30) == "4 gb");
  CHECK(format_size((1u << 20) + 1024) == "1025 kb");
}

TEST_CASE("values: strict booleans, ranges and their wording") {
  CHECK(parse_bool("true").value());
  CHECK_FALSE(parse_bool("false").value());
  for (const char* bad : {"True", "yes", "1", " true", ""})
    CHECK(parse_bool(bad).error().expectation == "true or false");

  CHECK(parse_uint("7", 0, 10).value() == 7);
  CHECK(parse_uint("11", 0, 10).error().expectation == "a whole number from 0 to 10");
  CHECK(parse_uint("+1", 0, 10).error().expectation == "a whole number from 0 to 10");
  CHECK(parse_uint(" 1", 0, 10).has_value() == false);
  CHECK(parse_uint("2", 0, 1).error().expectation == "0 or 1");
  CHECK(parse_uint("5", 10, 60, "milliseconds").error().expectation ==
        "a whole number of milliseconds from 10 to 60");

  CHECK(parse_double("1.5", 1.0, 10.0).value() == 1.5);
  CHECK(parse_double("2", 1.0, 10.0).value() == 2.0);
  for (const char* bad : {"0.5", "10.5", "nan", "1e1", "", "1.5x"})
    CHECK(parse_double(bad, 1.0, 10.0).error().expectation == "a number from 1.0 to 10.0");

  CHECK(parse_size_in("1 kb", 4096, 1ull << 30).error().expectation == "a size from 4 kb to 1 gb");
  CHECK(parse_size_in("1 zb", 4096, 1ull << 30).error().detail == "unknown unit 'zb'; use b, kb, mb or gb");
  CHECK(value_message("maxSegmentSize", "1 zb", parse_size_in("1 zb", 4096, 1ull << 30).error()) ==
        "maxSegmentSize must be a size from 4 kb to 1 gb, got '1 zb' (unknown unit 'zb'; use b, kb, mb or gb)");
}

}  // namespace twinmq::config
