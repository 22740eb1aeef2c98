// Names of versions, commands and protocol errors.
#include <doctest.h>

#include <cctype>
#include <set>
#include <string>

#include "stomp/errors.h"
#include "stomp/frame.h"

namespace twinmq::stomp {
namespace {

constexpr Command kAllCommands[] = {
    Command::connect, Command::stomp,     Command::send,      Command::subscribe,
    Command::unsubscribe, Command::ack,   Command::nack,      Command::begin,
    Command::commit,  Command::abort,     Command::disconnect, Command::connected,
    Command::message, Command::receipt,   Command::error,
};

TEST_CASE("version_name spells each version as in accept-version") {
  CHECK(version_name(Version::v1_0) == "1.0");
  CHECK(version_name(Version::v1_1) == "1.1");
  CHECK(version_name(Version::v1_2) == "1.2");
}

TEST_CASE("command_name and parse_command are inverse for every command") {
  std::set<std::string> seen;
  for (Command c : kAllCommands) {
    const std::string_view name = command_name(c);
    CAPTURE(name);
    CHECK(parse_command(name) == c);
    CHECK(seen.insert(std::string(name)).second);
  }
  CHECK(command_name(Command::unknown) == "UNKNOWN");
  CHECK(command_name(Command::send) == "SEND");
  CHECK(command_name(Command::connected) == "CONNECTED");
}

TEST_CASE("parse_command is exact and case-sensitive") {
  CHECK(parse_command("") == Command::unknown);
  CHECK(parse_command("send") == Command::unknown);
  CHECK(parse_command("Send") == Command::unknown);
  CHECK(parse_command("SEND ") == Command::unknown);
  CHECK(parse_command(" SEND") == Command::unknown);
  CHECK(parse_command("SENDX") == Command::unknown);
  CHECK(parse_command("SEN") == Command::unknown);
  CHECK(parse_command("CONNECTE") == Command::unknown);
  CHECK(parse_command("UNKNOWN") == Command::unknown);
  CHECK(parse_command("XYZ") == Command::unknown);
  CHECK(parse_command(std::string_view("SEND\0", 5)) == Command::unknown);
}

TEST_CASE("protocol_error_summary gives short distinct lowercase text for every code") {
  std::set<std::string> seen;
  for (int i = static_cast<int>(ProtocolErrc::ok);
       i <= static_cast<int>(ProtocolErrc::frame_timeout); ++i) {  // the last value
    const auto code = static_cast<ProtocolErrc>(i);
    const std::string text(protocol_error_summary(code));
    CAPTURE(i);
    CAPTURE(text);
    CHECK(!text.empty());
    CHECK(text.size() <= 40);
    CHECK(seen.insert(text).second);
    for (char c : text) {
      CHECK((std::islower(static_cast<unsigned char>(c)) || c == ' ' || c == '-'));
    }
  }
  CHECK(protocol_error_summary(ProtocolErrc::frame_too_large) == "frame too large");
  CHECK(protocol_error_summary(ProtocolErrc::invalid_escape) == "invalid escape sequence");
}

TEST_CASE("Frame::header returns the first occurrence of a repeated header") {
  const Header headers[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  Frame f;
  f.headers = headers;
  CHECK(f.header("a") == "1");
  CHECK(f.header("b") == "2");
  CHECK(!f.header("c"));
  CHECK(!f.header("A"));
}

}  // namespace
}  // namespace twinmq::stomp
