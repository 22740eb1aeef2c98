// base/printable.h: the one rule for showing a peer's bytes in a log line or an ERROR body.
#include <doctest.h>
#include <fmt/format.h>

#include <string>

#include "base/printable.h"

using namespace std::string_literals;
using twinmq::is_printable;
using twinmq::printable;
using twinmq::quoted;
using twinmq::shown;

TEST_CASE("printable ASCII is shown as it is, a backslash included") {
  CHECK(printable("/queue/orders.eu") == "/queue/orders.eu");
  CHECK(printable("a\\nb ~!") == "a\\nb ~!");
  CHECK(quoted("tx-1") == "'tx-1'");
}

TEST_CASE("every control byte, DEL and non-ASCII byte becomes \\xHH") {
  CHECK(printable("a\nb") == "a\\x0ab");
  CHECK(printable("a\rb") == "a\\x0db");
  CHECK(printable("nul\0x"s) == "nul\\x00x");
  CHECK(printable("\x1b[31mred") == "\\x1b[31mred");
  CHECK(printable("\x7f") == "\\x7f");
  CHECK(printable("caf\xc3\xa9") == "caf\\xc3\\xa9");
  CHECK(printable("\xe2\x80\xae") == "\\xe2\\x80\\xae");  // RIGHT-TO-LEFT OVERRIDE
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string out = printable(all, all.size());
  CHECK(is_printable(out));
  CHECK(out.find("\\x0a") != std::string::npos);
}

TEST_CASE("a forged log line stays on the line that shows it") {
  const std::string id = "zz\n2026-12-04T20:00:00.000 error [broker] FORGED-LINE journal corrupted";
  const std::string out = printable(id, 1000);
  CHECK(out.find('\n') == std::string::npos);
  CHECK(out == "zz\\x0a2026-12-04T20:00:00.000 error [broker] FORGED-LINE journal corrupted");
}

TEST_CASE("long input is cut at max_bytes and marked") {
  const std::string long_name(200, 'n');
  CHECK(printable(long_name) == std::string(twinmq::kShownBytes, 'n') + "...");
  CHECK(printable("abcdef", 3) == "abc...");
  CHECK(printable("abc", 3) == "abc");
  CHECK(quoted("\n\n\n\n", 2) == "'\\x0a\\x0a...'");
}

TEST_CASE("escaping twice changes nothing (the logger applies it again to every line)") {
  const std::string once = printable("a\x01\xff\\x00b\r\n", 1000);
  CHECK(printable(once, 1000) == once);
}

TEST_CASE("shown() formats through fmt with the same rule, without a string first") {
  CHECK(fmt::format("transaction '{}' is not open", shown("t\r\n1")) == "transaction 't\\x0d\\x0a1' is not open");
  CHECK(fmt::format("{}", shown(std::string(100, 'x'), 4)) == "xxxx...");
  CHECK(fmt::format("{}", shown("")) == "");
}
