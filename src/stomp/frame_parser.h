// stomp/frame_parser.h — incremental STOMP frame parser (a byte-level state
// machine in the manner of NATS server/parser.go).
//
// Bytes arrive in arbitrary pieces (a read may end anywhere, even inside "\r\n").
// feed() parses in place and hands each complete frame to the sink as views into
// the bytes given; only when a frame is split across feeds does the parser copy the
// unfinished part into its own buffer (so a connection that is idle between frames
// holds no buffer at all).
//
// Rules (STOMP 1.0/1.1/1.2):
//  - EOLs between frames are heart-beats (reported via on_heartbeat).
//  - Lines end in "\n" or "\r\n" (the "\r" is stripped; in 1.0/1.1 too, leniently).
//  - Header escapes per version: 1.0 none; 1.1 \n \c \\ ; 1.2 adds \r. An undefined
//    escape is invalid_escape in 1.1/1.2. CONNECT, STOMP and CONNECTED frames are
//    never unescaped (spec), whatever the version.
//  - A header line without ':' is malformed_header. Values are not trimmed.
//  - content-length (first occurrence) gives the body length exactly; the byte after
//    it must be NUL (missing_nul). Without it the body ends at the first NUL.
//  - Limits: command line + headers <= max_header_section (header_section_too_large),
//    header count <= max_headers (too_many_headers), whole frame <= max_frame_size
//    (frame_too_large, detected as early as possible: from content-length, or when
//    the buffered body passes the limit).
//  - After an error the parser is dead: every later feed() returns the same error.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "stomp/errors.h"
#include "stomp/frame.h"

namespace twinmq::stomp {

struct ParserLimits {
  std::size_t max_frame_size = 10u << 20;      // 10 MiB, headers + body
  std::size_t max_header_section = 64u << 10;  // 64 KiB, command + header lines
  std::size_t max_headers = 1000;
};

class FrameSink {
 public:
  // Return false to stop parsing (e.g. the connection is closing); feed() then
  // returns at once and the unparsed rest is dropped.
  virtual bool on_frame(const Frame& frame) = 0;
  virtual void on_heartbeat() = 0;

 protected:
  ~FrameSink() = default;
};

class FrameParser {
 public:
  explicit FrameParser(ParserLimits limits = {});

  // Escaping rules for every frame after the current one (set after CONNECT /
  // CONNECTED negotiates the version). Default v1_0.
  void set_version(Version v) { version_ = v; }
  Version version() const { return version_; }

  // Parses all of `bytes`. Error::code is a ProtocolErrc; Error::message says what
  // was wrong in words a client developer understands (with the limit, the header
  // name, the bad escape...).
  Result<void> feed(std::string_view bytes, FrameSink& sink);

  // Bytes held for a frame split across reads (0 when between frames).
  std::size_t buffered() const;

 private:
  // Implementation state is private to frame_parser.cc.
  ParserLimits limits_;
  Version version_ = Version::v1_0;
  std::string partial_;             // the unfinished frame's bytes, when split
  std::string scratch_;             // unescaped header values of the current frame
  std::vector<Header> headers_;     // reused per frame
  Error dead_;                      // the first error, once failed
  bool failed_ = false;
};

}  // namespace twinmq::stomp
