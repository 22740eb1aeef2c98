// stomp/frame_parser.cc — the STOMP codec's incremental parser (rules in
// frame_parser.h).
//
// DESIGN. One pass over the bytes, a line at a time with memchr, in the manner of
// NATS server/parser.go. Each header line is split and (only if it contains a
// backslash) unescaped the moment its LF is seen, so no byte is scanned twice and
// limits and malformed lines are reported as soon as they can be known. Headers
// are kept as offsets (HeaderRef) and turned into views just before the frame is
// handed to the sink, so the same code runs whether the frame's bytes sit in the
// caller's read buffer or in partial_.
//
//   feed(bytes)
//    1. partial_ holds an unfinished frame: append from `bytes` only what can belong
//       to it (up to the next LF while in the headers, up to the NUL or the
//       content-length end in the body), advance() over partial_, repeat until the
//       frame completes or `bytes` runs out. A completed frame is delivered from
//       partial_, which is then released.
//    2. The rest of `bytes` is parsed in place: EOLs are heart-beats; at any other
//       byte a frame begins and advance() runs over the remaining bytes. A frame
//       that ends inside them is delivered as views into `bytes`; one that does not
//       (only ever the last) is copied into partial_ and its scan state kept.
//
// Sizes, as the limits count them:
//   header section = the command line and every header line, each with its EOL
//                    (the blank line that ends the headers is not counted);
//   frame          = every byte from the command's first to the terminating NUL,
//                    both included.
// Both are checked against a lower bound while bytes are still missing, so an
// oversize frame fails as soon as it is certain to be oversize: from the
// content-length header, or once the bytes received cannot fit any more.
//
// The tricky thing: a view must never outlive its bytes. Views are only made in
// deliver(), after the frame is complete, and only live for the sink's call.
#include "stomp/frame_parser.h"

#include <cstring>
#include <string>

#include "base/assert.h"
#include "base/printable.h"
#include "stomp/frame_writer.h"

namespace twinmq::stomp {
namespace {

// STOMP 1.1+: "Only the SEND, MESSAGE, and ERROR frames MAY have a body." An
// unknown command is let through: the session answers it with unknown_command,
// which says more than "body not allowed" would.
// Every STOMP command is a short word of upper-case letters. A command line that
// is anything else is not STOMP at all - typically an HTTP request or a TLS
// ClientHello sent to the plain STOMP port - and is refused as soon as the first
// impossible byte arrives, instead of waiting for a NUL that will never come.
constexpr std::size_t max_command_length = 32;  // the longest real one, UNSUBSCRIBE, is 11

// An error text when `line` (complete or still arriving; without its EOL) cannot
// be the start of a STOMP command, else an empty string. The verdict depends only
// on the bytes up to the first bad one, so it is the same however the line was
// split across reads.
std::string command_line_problem(std::string_view line, bool complete) {
  if (!complete && !line.empty() && line.back() == '\r') line.remove_suffix(1);
  bool lower_case = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (i == max_command_length) {
      return "not a STOMP frame: the command line is longer than " +
             std::to_string(max_command_length) + " bytes";
    }
    const char c = line[i];
    // Lower-case letters are judged once the line is complete, so the refusal
    // can name the whole word ("send").
    if (c >= 'A' && c <= 'Z') continue;
    if (c >= 'a' && c <= 'z') {
      lower_case = true;
      continue;
    }
    const std::string_view seen = line.substr(0, i + 1);
    std::string why = "not a STOMP frame: the command line " + quoted(seen) +
                      " is not a command (STOMP commands are upper-case words such as CONNECT)";
    if (seen.front() == '\x16') {
      why += "; this looks like a TLS handshake on a plain STOMP port";
    } else if (c == ' ') {
      for (std::string_view method : {"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS "}) {
        if (seen == method) why += "; this looks like an HTTP request";
      }
    }
    return why;
  }
  if (complete && lower_case) {
    return "unknown command " + quoted(line) +
           ": STOMP commands are upper-case and case-sensitive (SEND, not send)";
  }
  return {};
}

bool may_have_body(Command c) {
  return c == Command::send || c == Command::message || c == Command::error ||
         c == Command::unknown;
}

// STOMP 1.2: CONNECT and CONNECTED headers are never escaped (STOMP is CONNECT's
// 1.2 name); 1.0 knows no escapes.
bool unescapes_headers(Version v, Command c) {
  return v != Version::v1_0 && c != Command::connect && c != Command::stomp &&
         c != Command::connected;
}

const char* allowed_escapes(Version v) {
  return v == Version::v1_2 ? "STOMP 1.2 allows \\r \\n \\c \\\\"
                            : "STOMP 1.1 allows \\n \\c \\\\";
}

// The first undefined escape in `raw` (which unescape() has just rejected), as
// the client wrote it: "\t", or a lone "\" at the end.
std::string bad_escape_in(Version v, std::string_view raw) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') continue;
    if (i + 1 == raw.size()) return "'\\' at the end";
    const char next = raw[i + 1];
    if (next == 'n' || next == 'c' || next == '\\' || (next == 'r' && v == Version::v1_2)) {
      ++i;
      continue;
    }
    return "\\" + printable(std::string_view(&next, 1));
  }
  return "\\";  // unreachable when unescape() failed; kept total for safety
}

// content-length is plain decimal digits. A value too big for 64 bits saturates:
// it is then certainly above any frame limit, which is the error reported.
bool parse_content_length(std::string_view text, std::size_t& out) {
  if (text.empty()) return false;
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::size_t>(c - '0');
    value = value > (SIZE_MAX - digit) / 10 ? SIZE_MAX : value * 10 + digit;
  }
  out = value;
  return true;
}

std::string frame_too_large_message(std::size_t max_frame_size) {
  return "frame exceeds the maximum frame size of " + std::to_string(max_frame_size) +
         " bytes";
}

std::string header_section_too_large_message(std::size_t max_header_section) {
  return "header section (command and header lines) exceeds the maximum of " +
         std::to_string(max_header_section) + " bytes";
}

}  // namespace

FrameParser::FrameParser(ParserLimits limits) : limits_(limits) {}

std::size_t FrameParser::buffered() const { return partial_.size(); }

Result<void> FrameParser::feed(std::string_view bytes, FrameSink& sink) {
  left_unparsed_ = 0;
  if (failed_) return std::unexpected(dead_);

  // 1. Finish the frame split across reads, copying only its own bytes.
  while (!partial_.empty()) {
    if (bytes.empty()) return {};
    const std::size_t take = bytes_for_current_frame(bytes);
    partial_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    Result<Progress> progress = advance(partial_);
    if (!progress) return fail(std::move(progress.error()));
    if (*progress == Progress::need_more) continue;
    TWINMQ_ASSERT(frame_size_ == partial_.size(), "split frame took bytes past its end");
    bool keep_going = true;
    if (*progress == Progress::frame) {
      keep_going = deliver(partial_, sink);
    } else {
      sink.on_heartbeat();
    }
    // Released, not cleared: an idle connection between frames holds no buffer.
    std::string().swap(partial_);
    state_ = State::awaiting_frame;
    if (!keep_going) {
      left_unparsed_ = bytes.size();
      return {};
    }
  }

  // 2. Parse the rest in place.
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const char c = bytes[pos];
    if (c == '\n') {
      sink.on_heartbeat();
      ++pos;
      continue;
    }
    if (c == '\r' && pos + 1 < bytes.size() && bytes[pos + 1] == '\n') {
      sink.on_heartbeat();
      pos += 2;
      continue;
    }
    begin_frame();
    const std::string_view frame_bytes = bytes.substr(pos);
    Result<Progress> progress = advance(frame_bytes);
    if (!progress) return fail(std::move(progress.error()));
    if (*progress == Progress::need_more) {
      partial_.assign(frame_bytes);
      return {};
    }
    state_ = State::awaiting_frame;
    if (*progress == Progress::frame) {
      if (!deliver(frame_bytes.substr(0, frame_size_), sink)) {
        left_unparsed_ = bytes.size() - pos - frame_size_;
        return {};
      }
    } else {
      sink.on_heartbeat();
    }
    pos += frame_size_;
  }
  return {};
}

void FrameParser::begin_frame() {
  state_ = State::awaiting_command_eol;
  // The version is fixed per frame: set_version() while a frame is still
  // arriving applies from the next one.
  frame_version_ = version_;
  command_ = Command::unknown;
  unescape_headers_ = false;
  has_content_length_ = false;
  content_length_ = 0;
  command_size_ = 0;
  line_start_ = 0;
  scan_pos_ = 0;
  header_lines_ = 0;
  body_start_ = 0;
  body_size_ = 0;
  frame_size_ = 0;
  refs_.clear();
  scratch_.clear();
}

// How much of `bytes` can belong to the split frame in partial_: never more than
// advance() will consume, so nothing of the next frame is copied.
std::size_t FrameParser::bytes_for_current_frame(std::string_view bytes) const {
  switch (state_) {
    case State::awaiting_command_eol:
    case State::awaiting_blank_line: {
      const void* lf = std::memchr(bytes.data(), '\n', bytes.size());
      return lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data()) + 1
                : bytes.size();
    }
    case State::awaiting_nul: {
      const void* nul = std::memchr(bytes.data(), '\0', bytes.size());
      return nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - bytes.data()) + 1
                 : bytes.size();
    }
    case State::awaiting_body_end: {
      const std::size_t missing = body_start_ + content_length_ + 1 - partial_.size();
      return missing < bytes.size() ? missing : bytes.size();
    }
    case State::awaiting_frame:
      break;
  }
  TWINMQ_ASSERT(false, "a split frame cannot be awaiting_frame");
  return bytes.size();
}

// Scans the current frame from where the previous call stopped. `frame_bytes`
// starts at the frame's first byte and holds everything received of it so far
// (and possibly later frames, which are left alone).
Result<FrameParser::Progress> FrameParser::advance(std::string_view frame_bytes) {
  const char* data = frame_bytes.data();
  const std::size_t size = frame_bytes.size();

  while (state_ == State::awaiting_command_eol || state_ == State::awaiting_blank_line) {
    const void* hit = std::memchr(data + scan_pos_, '\n', size - scan_pos_);
    if (hit == nullptr) {
      scan_pos_ = size;
      if (Result<void> r = check_unfinished_line(frame_bytes); !r) {
        return std::unexpected(r.error());
      }
      return Progress::need_more;
    }
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(hit) - data);
    const std::size_t next_line = lf + 1;
    std::size_t line_end = lf;
    if (line_end > line_start_ && data[line_end - 1] == '\r') --line_end;

    if (line_end == line_start_) {  // an empty line
      if (state_ == State::awaiting_command_eol) {
        // Only a heart-beat "\r" whose "\n" came in the next read gets here.
        frame_size_ = next_line;
        return Progress::heart_beat;
      }
      if (Result<void> r = end_header_section(next_line); !r) return std::unexpected(r.error());
      break;
    }
    // In the order check_unfinished_line() uses while the line is still arriving, so
    // that the verdict does not depend on whether the LF came in the same read (found
    // by the fuzzer: test/fuzz/found/frame_parser/crash-e590e22c...): first what the
    // bytes so far already rule out, then the section limit, then what only a complete
    // line can show (a lower-case word).
    const bool command_line = state_ == State::awaiting_command_eol;
    const bool strict = command_line && limits_.strict_command_line;
    if (strict) {
      if (std::string why = command_line_problem(frame_bytes.substr(0, line_end), false); !why.empty()) {
        return make_error(ProtocolErrc::unknown_command, std::move(why));
      }
    }
    if (next_line > limits_.max_header_section) {
      return make_error(ProtocolErrc::header_section_too_large,
                        header_section_too_large_message(limits_.max_header_section));
    }
    if (command_line) {
      const std::string_view line = frame_bytes.substr(0, line_end);
      if (std::string why = strict ? command_line_problem(line, true) : std::string(); !why.empty()) {
        return make_error(ProtocolErrc::unknown_command, std::move(why));
      }
      end_command_line(line);
    } else if (Result<void> r = add_header(frame_bytes, line_start_, line_end); !r) {
      return std::unexpected(r.error());
    }
    line_start_ = scan_pos_ = next_line;
  }

  if (state_ == State::awaiting_nul) {
    // Fail on the first body byte rather than buffer a body that will be refused.
    if (!may_have_body(command_) && size > body_start_ && data[body_start_] != '\0') {
      return make_error(ProtocolErrc::body_not_allowed,
                        std::string(command_name(command_)) +
                            " frame must not have a body (only SEND, MESSAGE and ERROR may)");
    }
    const void* hit = std::memchr(data + scan_pos_, '\0', size - scan_pos_);
    // Without its NUL the frame needs at least one byte more than it has.
    const std::size_t min_frame =
        hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - data) + 1 : size + 1;
    if (min_frame > limits_.max_frame_size) {
      return make_error(ProtocolErrc::frame_too_large,
                        frame_too_large_message(limits_.max_frame_size));
    }
    if (hit == nullptr) {
      scan_pos_ = size;
      return Progress::need_more;
    }
    frame_size_ = min_frame;
    body_size_ = frame_size_ - 1 - body_start_;
    return Progress::frame;
  }

  if (state_ == State::awaiting_body_end) {
    const std::size_t end = body_start_ + content_length_;  // where the NUL must be
    if (size <= end) return Progress::need_more;
    if (data[end] != '\0') {
      return make_error(ProtocolErrc::missing_nul,
                        "the body of content-length " + std::to_string(content_length_) +
                            " is followed by byte " + quoted(std::string_view(data + end, 1)) +
                            " instead of the NUL that ends a frame");
    }
    frame_size_ = end + 1;
    body_size_ = content_length_;
    return Progress::frame;
  }

  TWINMQ_ASSERT(false, "advance() called between frames");
  return Progress::need_more;
}

void FrameParser::end_command_line(std::string_view line) {
  command_size_ = line.size();
  command_ = parse_command(line);
  unescape_headers_ = unescapes_headers(frame_version_, command_);
  state_ = State::awaiting_blank_line;
}

Result<void> FrameParser::add_header(std::string_view frame_bytes, std::size_t line_start,
                                     std::size_t line_end) {
  ++header_lines_;
  if (header_lines_ > limits_.max_headers) {
    return make_error(ProtocolErrc::too_many_headers,
                      "frame has more than the maximum of " + std::to_string(limits_.max_headers) +
                          " header lines");
  }
  const std::string_view line = frame_bytes.substr(line_start, line_end - line_start);
  const void* colon_hit = std::memchr(line.data(), ':', line.size());
  if (colon_hit == nullptr) {
    return make_error(ProtocolErrc::malformed_header,
                      "header line " + std::to_string(header_lines_) + " has no ':' separator: " +
                          quoted(line));
  }
  const auto colon = static_cast<std::size_t>(static_cast<const char*>(colon_hit) - line.data());
  if (colon == 0) {
    return make_error(ProtocolErrc::malformed_header,
                      "header line " + std::to_string(header_lines_) + " has an empty name: " +
                          quoted(line));
  }
  // A NUL ends a frame for every reader that looks for the frame's end before it parses
  // the headers (STOMP 1.0: "the first null byte encountered signals the end of the
  // frame"), so a header holding one could never be passed on intact: refused here,
  // in every version, before anything else sees it.
  if (std::memchr(line.data(), '\0', line.size()) != nullptr) {
    return make_error(ProtocolErrc::malformed_header,
                      "header line " + std::to_string(header_lines_) +
                          " contains a NUL byte, which ends a STOMP frame and cannot be part of a "
                          "header: " + quoted(line));
  }
  const std::string_view raw_name = line.substr(0, colon);
  const std::string_view raw_value = line.substr(colon + 1);

  HeaderRef ref;
  ref.name_offset = line_start;
  ref.name_size = raw_name.size();
  ref.value_offset = line_start + colon + 1;
  ref.value_size = raw_value.size();
  std::string_view name = raw_name;
  std::string_view value = raw_value;

  // Most lines have no backslash: they stay views into the frame's bytes.
  if (unescape_headers_ && std::memchr(line.data(), '\\', line.size()) != nullptr) {
    if (raw_name.find('\\') != std::string_view::npos) {
      const std::size_t at = scratch_.size();
      if (!unescape(scratch_, frame_version_, raw_name)) {
        return make_error(ProtocolErrc::invalid_escape,
                          "invalid escape sequence " + bad_escape_in(frame_version_, raw_name) +
                              " in header name " + quoted(raw_name) + " (" +
                              allowed_escapes(frame_version_) + ")");
      }
      ref.name_offset = at;
      ref.name_size = scratch_.size() - at;
      ref.name_in_scratch = true;
    }
    if (raw_value.find('\\') != std::string_view::npos) {
      const std::size_t at = scratch_.size();
      if (!unescape(scratch_, frame_version_, raw_value)) {
        const std::string_view shown_name =
            ref.name_in_scratch ? std::string_view(scratch_).substr(ref.name_offset, ref.name_size)
                                : raw_name;
        return make_error(ProtocolErrc::invalid_escape,
                          "invalid escape sequence " + bad_escape_in(frame_version_, raw_value) +
                              " in header " + quoted(shown_name) + " (" +
                              allowed_escapes(frame_version_) + ")");
      }
      ref.value_offset = at;
      ref.value_size = scratch_.size() - at;
      ref.value_in_scratch = true;
    }
    // Views into scratch_ are only valid until it grows again; these two are used
    // right below and never kept.
    if (ref.name_in_scratch) {
      name = std::string_view(scratch_).substr(ref.name_offset, ref.name_size);
    }
    if (ref.value_in_scratch) {
      value = std::string_view(scratch_).substr(ref.value_offset, ref.value_size);
    }
  }

  // Repeated headers: the first occurrence wins, so a later content-length is
  // ignored entirely (not even validated).
  if (!has_content_length_ && name == "content-length") {
    std::size_t length = 0;
    if (!parse_content_length(value, length)) {
      return make_error(ProtocolErrc::invalid_content_length,
                        "content-length " + quoted(value) +
                            " is not a number (expected decimal digits only)");
    }
    // The frame holds the body plus at least its NUL: above the limit already.
    if (length >= limits_.max_frame_size) {
      return make_error(ProtocolErrc::frame_too_large,
                        frame_too_large_message(limits_.max_frame_size) + " (content-length " +
                            std::string(value) + ")");
    }
    has_content_length_ = true;
    content_length_ = length;
  }
  refs_.push_back(ref);
  return {};
}

Result<void> FrameParser::end_header_section(std::size_t body_start) {
  body_start_ = body_start;
  scan_pos_ = body_start;
  if (has_content_length_) {
    if (content_length_ != 0 && !may_have_body(command_)) {
      return make_error(ProtocolErrc::body_not_allowed,
                        std::string(command_name(command_)) +
                            " frame must not have a body (only SEND, MESSAGE and ERROR may)");
    }
    // content_length_ < max_frame_size was checked with the header, so this
    // cannot overflow.
    if (body_start + content_length_ + 1 > limits_.max_frame_size) {
      return make_error(ProtocolErrc::frame_too_large,
                        frame_too_large_message(limits_.max_frame_size) + " (content-length " +
                            std::to_string(content_length_) + ")");
    }
    state_ = State::awaiting_body_end;
  } else {
    state_ = State::awaiting_nul;
  }
  return {};
}

// A line without its LF yet: fail if, however it ends, it already breaks the
// header section limit. Only an empty line or a lone "\r" may still turn out to
// be the blank line (or a heart-beat) and add nothing; any other line adds at
// least its bytes so far plus the LF still to come.
Result<void> FrameParser::check_unfinished_line(std::string_view frame_bytes) const {
  const std::string_view tail = frame_bytes.substr(line_start_);
  if (state_ == State::awaiting_command_eol && limits_.strict_command_line) {
    if (std::string why = command_line_problem(tail, false); !why.empty()) {
      return make_error(ProtocolErrc::unknown_command, std::move(why));
    }
  }
  const bool may_be_blank = tail.empty() || tail == "\r";
  const std::size_t min_section = may_be_blank ? line_start_ : frame_bytes.size() + 1;
  if (min_section > limits_.max_header_section) {
    return make_error(ProtocolErrc::header_section_too_large,
                      header_section_too_large_message(limits_.max_header_section));
  }
  return {};
}

bool FrameParser::deliver(std::string_view frame_bytes, FrameSink& sink) {
  const std::string_view scratch = scratch_;
  headers_.clear();
  for (const HeaderRef& ref : refs_) {
    const std::string_view name_base = ref.name_in_scratch ? scratch : frame_bytes;
    const std::string_view value_base = ref.value_in_scratch ? scratch : frame_bytes;
    headers_.push_back(Header{name_base.substr(ref.name_offset, ref.name_size),
                              value_base.substr(ref.value_offset, ref.value_size)});
  }
  Frame frame;
  frame.command = command_;
  frame.command_text = frame_bytes.substr(0, command_size_);
  frame.headers = headers_;
  frame.body = frame_bytes.substr(body_start_, body_size_);
  frame.has_content_length = has_content_length_;
  return sink.on_frame(frame);
}

std::unexpected<Error> FrameParser::fail(Error error) {
  failed_ = true;
  dead_ = std::move(error);
  std::string().swap(partial_);
  state_ = State::awaiting_frame;
  return std::unexpected(dead_);
}

}  // namespace twinmq::stomp
