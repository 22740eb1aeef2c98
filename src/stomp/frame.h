// stomp/frame.h — a parsed STOMP frame: views, no ownership.
//
// A Frame handed out by FrameParser points into the parser's read buffer (or its
// copy of a split frame) and into its scratch space for unescaped header values;
// it is valid only until the callback that received it returns. Copy what you keep.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace twinmq::stomp {

enum class Version : std::uint8_t { v1_0, v1_1, v1_2 };

// "1.0" / "1.1" / "1.2"
std::string_view version_name(Version v);

enum class Command : std::uint8_t {
  // client frames
  connect, stomp, send, subscribe, unsubscribe, ack, nack, begin, commit, abort, disconnect,
  // server frames
  connected, message, receipt, error,
  // anything else (the session answers with ERROR)
  unknown,
};

std::string_view command_name(Command c);  // "SEND", ...; "UNKNOWN" for unknown
Command parse_command(std::string_view text);  // exact, case-sensitive

struct Header {
  std::string_view name;
  std::string_view value;  // already unescaped per the frame's version rules
};

struct Frame {
  Command command = Command::unknown;
  std::string_view command_text;   // as received, for "unknown command X" errors
  std::span<const Header> headers; // in received order; repeated names kept
  std::string_view body;
  bool has_content_length = false;

  // First occurrence wins (STOMP 1.2 "Repeated Header Entries").
  std::optional<std::string_view> header(std::string_view name) const {
    for (const Header& h : headers) {
      if (h.name == name) return h.value;
    }
    return std::nullopt;
  }
};

}  // namespace twinmq::stomp
