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

bool can_carry(Version v, std::string_view name, std::string_view value);  // below

class FrameWriter {
 public:
  FrameWriter(std::string& out, Version version, Command command);

  void header(std::string_view name, std::string_view value);
  void header(std::string_view name, std::uint64_t value);
  // Writes the header only if this frame can carry it exactly (carries()); false when
  // it was left out. For headers someone else chose: a producer's headers in a
  // subscriber's MESSAGE.
  bool header_if_carried(std::string_view name, std::string_view value);
  // can_carry() for this frame: its version's rules when it is escaped, 1.0's when it
  // is not (CONNECT, STOMP and CONNECTED are never escaped, in any version: a raw LF
  // there is a line break, a CR before the LF part of the EOL).
  bool carries(std::string_view name, std::string_view value) const {
    return can_carry(escape_ ? version_ : Version::v1_0, name, value);
  }

  // Ends the header section and writes the body and the terminating NUL. Writes a
  // content-length header when `content_length` is true (always for a non-empty
  // body is the safe choice: bodies may contain NUL).
  void finish(std::string_view body = {}, bool content_length = true);

 private:
  std::string& out_;
  bool escape_;
  Version version_;
};

// Whether a header with this name and value can be written in version `v` so that the
// reader gets exactly these bytes back, and nothing else (README "STOMP support"):
//   1.0  no escapes: no LF or CR (a line break the reader would act on; a CR before the
//        LF is read as part of the EOL) and no ':' in the name (the first ':' splits);
//   1.1  no CR (1.1 escapes LF, ':' and '\' but has no escape for CR);
//   1.2  everything but NUL, which no version can carry (it ends the frame for readers
//        that look for the end first; the parser refuses it in any header it reads).
// A header that fails this must not be written raw: it would let whoever chose it write
// header lines, or a whole frame, into someone else's MESSAGE. These are the rules of an
// escaped frame; a frame that is never escaped (CONNECT, STOMP, CONNECTED) follows 1.0's
// whatever its version (FrameWriter::carries).
bool can_carry(Version v, std::string_view name, std::string_view value);

// Appends `text` to out with the escaping rules of `v` (exposed for tests and for
// pre-encoding header blocks).
void append_escaped(std::string& out, Version v, std::string_view text);

// Unescapes `text` per `v` into out; false on an undefined escape sequence.
bool unescape(std::string& out, Version v, std::string_view text);

}  // namespace twinmq::stomp
