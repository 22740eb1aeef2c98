// stomp/frame_writer.h — encodes one frame into a caller-owned std::string
// (appending; the caller reuses the string's capacity across frames, so encoding
// allocates nothing once warm).
//
//   FrameWriter w(out, Version::v1_2, Command::message);
//   w.header("subscription", sub_id);
//   w.header("message-id", id);
//   w.finish(body);   // content-length, blank line, body, NUL
//
// Escaping follows the version (1.0 none; 1.1 \n : \\ ; 1.2 adds \r), and never
// for CONNECT / STOMP / CONNECTED frames.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stomp/frame.h"

namespace twinmq::stomp {

class FrameWriter {
 public:
  FrameWriter(std::string& out, Version version, Command command);

  void header(std::string_view name, std::string_view value);
  void header(std::string_view name, std::uint64_t value);

  // Ends the header section and writes the body and the terminating NUL. Writes a
  // content-length header when `content_length` is true (always for a non-empty
  // body is the safe choice: bodies may contain NUL).
  void finish(std::string_view body = {}, bool content_length = true);

 private:
  std::string& out_;
  bool escape_;
  Version version_;
};

// Appends `text` to out with the escaping rules of `v` (exposed for tests and for
// pre-encoding header blocks).
void append_escaped(std::string& out, Version v, std::string_view text);

// Unescapes `text` per `v` into out; false on an undefined escape sequence.
bool unescape(std::string& out, Version v, std::string_view text);

}  // namespace twinmq::stomp
