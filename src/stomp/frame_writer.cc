// stomp/frame_writer.cc — encodes one frame by appending to a caller-owned string.
//
// The caller keeps one string per connection (or per fan-out batch) and clears
// it between uses, so once its capacity has grown to the usual frame size,
// encoding a frame allocates nothing.
#include "stomp/frame_writer.h"

#include <charconv>

namespace twinmq::stomp {
namespace {

// STOMP 1.2: "CONNECT and CONNECTED frames do not escape ... headers" (STOMP is
// the 1.2 spelling of CONNECT). 1.0 defines no escaping at all.
bool escapes_headers(Version version, Command command) {
  if (version == Version::v1_0) return false;
  return command != Command::connect && command != Command::stomp &&
         command != Command::connected;
}

void append_decimal(std::string& out, std::uint64_t value) {
  char digits[20];  // 2^64 - 1 has 20 decimal digits
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // cannot fail: the buffer holds any uint64_t
  out.append(digits, end);
}

}  // namespace

FrameWriter::FrameWriter(std::string& out, Version version, Command command)
    : out_(out), escape_(escapes_headers(version, command)), version_(version) {
  out_.append(command_name(command));
  out_ += '\n';
}

void FrameWriter::header(std::string_view name, std::string_view value) {
  if (escape_) {
    append_escaped(out_, version_, name);
    out_ += ':';
    append_escaped(out_, version_, value);
  } else {
    out_.append(name);
    out_ += ':';
    out_.append(value);
  }
  out_ += '\n';
}

bool FrameWriter::header_if_carried(std::string_view name, std::string_view value) {
  if (!carries(name, value)) return false;
  header(name, value);
  return true;
}

void FrameWriter::header(std::string_view name, std::uint64_t value) {
  if (escape_) {
    append_escaped(out_, version_, name);
  } else {
    out_.append(name);
  }
  out_ += ':';
  append_decimal(out_, value);
  out_ += '\n';
}

void FrameWriter::finish(std::string_view body, bool content_length) {
  if (content_length) {
    out_.append("content-length:");
    append_decimal(out_, body.size());
    out_ += '\n';
  }
  out_ += '\n';
  out_.append(body);
  out_ += '\0';
}

}  // namespace twinmq::stomp
