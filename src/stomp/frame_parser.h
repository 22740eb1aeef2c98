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
//  - With ParserLimits::strict_command_line, a command line must be upper-case
//    letters (at most 32): anything else (an HTTP request, a TLS ClientHello on the
//    plain port) is unknown_command as soon as the first impossible byte arrives. A
//    well-formed but unknown word (FOO) is still let through for the session to
//    refuse by name.
//  - A header line without ':', or with a NUL byte anywhere in it, is malformed_header
//    (a NUL ends a frame for readers that find the end first; no version can relay it).
//    Values are not trimmed.
//  - Only SEND, MESSAGE, ERROR (and unknown commands, which the session rejects
//    anyway) may carry a body; any other frame with one is body_not_allowed.
//  - content-length (first occurrence) gives the body length exactly; the byte after
//    it must be NUL (missing_nul). Without it the body ends at the first NUL.
//  - Limits: command line + headers <= max_header_section (header_section_too_large),
//    header count <= max_headers (too_many_headers), whole frame <= max_frame_size
//    (frame_too_large, detected as early as possible: from content-length, or when
//    the buffered body passes the limit).
//  - After an error the parser is dead: every later feed() returns the same error.
#pragma once

#include <cstddef>
#include <cstdint>
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
  // Refuse a command line that is not an upper-case word of at most 32 letters at
  // its first impossible byte. A server sets it (so an HTTP request or a TLS
  // handshake on the plain port gets an ERROR at once, not at the connect
  // timeout); the default keeps unknown words for the caller to name.
  bool strict_command_line = false;
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

// One per connection, owned by whatever reads that connection (the server
// session, the client connection); used only on that connection's loop thread.
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
  // How many bytes at the end of the last feed() were not parsed because the sink
  // returned false (a session that must wait before it reads on keeps them).
  std::size_t left_unparsed() const { return left_unparsed_; }

 private:
  // What the current frame waits for, as in NATS parser.go. A frame only moves
  // down this list; awaiting_frame is where every frame starts and ends.
  enum class State : std::uint8_t {
    awaiting_frame,        // between frames: an EOL here is a heart-beat
    awaiting_command_eol,  // in the command line (or a "\r" split from its heart-beat "\n")
    awaiting_blank_line,   // in the header lines
    awaiting_nul,          // body without content-length: ends at the first NUL
    awaiting_body_end,     // content-length body bytes, then the NUL
  };

  // What advance() found in the bytes it was given.
  enum class Progress : std::uint8_t { need_more, frame, heart_beat };

  // One header as offsets, not views: the frame's bytes (partial_) and scratch_
  // may both reallocate while a split frame is still arriving. Offsets count from
  // the frame's first byte, or from scratch_'s start for unescaped text.
  struct HeaderRef {
    std::size_t name_offset = 0;
    std::size_t name_size = 0;
    std::size_t value_offset = 0;
    std::size_t value_size = 0;
    bool name_in_scratch = false;
    bool value_in_scratch = false;
  };

  void begin_frame();
  Result<Progress> advance(std::string_view frame_bytes);
  void end_command_line(std::string_view line);
  Result<void> add_header(std::string_view frame_bytes, std::size_t line_start,
                          std::size_t line_end);
  Result<void> end_header_section(std::size_t body_start);
  Result<void> check_unfinished_line(std::string_view frame_bytes) const;
  std::size_t bytes_for_current_frame(std::string_view bytes) const;
  bool deliver(std::string_view frame_bytes, FrameSink& sink);
  std::unexpected<Error> fail(Error error);

  ParserLimits limits_;
  Version version_ = Version::v1_0;
  std::string partial_;             // the unfinished frame's bytes, when split
  std::string scratch_;             // unescaped header values of the current frame
  std::vector<HeaderRef> refs_;     // the current frame's headers, reused per frame
  std::vector<Header> headers_;     // refs_ as views, built just before delivery
  Error dead_;                      // the first error, once failed
  bool failed_ = false;
  std::size_t left_unparsed_ = 0;

  // Scan position in the current frame; all offsets count from its first byte.
  State state_ = State::awaiting_frame;
  Command command_ = Command::unknown;
  Version frame_version_ = Version::v1_0;  // version_ when this frame began
  bool unescape_headers_ = false;
  bool has_content_length_ = false;
  std::size_t content_length_ = 0;
  std::size_t command_size_ = 0;    // command text without its EOL
  std::size_t line_start_ = 0;      // start of the line being scanned
  std::size_t scan_pos_ = 0;        // where the next memchr starts
  std::size_t header_lines_ = 0;
  std::size_t body_start_ = 0;
  std::size_t body_size_ = 0;
  std::size_t frame_size_ = 0;      // bytes from the first to the NUL (or heart-beat EOL)
};

}  // namespace twinmq::stomp
