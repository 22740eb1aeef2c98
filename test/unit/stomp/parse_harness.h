// test/unit/stomp/parse_harness.h — drives a FrameParser the way a connection
// does and records what a user of it would see, so one stream can be fed whole,
// split at every byte, or a byte at a time and the results compared
// (NATS server/split_test.go, made exhaustive).
//
// Every piece is fed from its own heap buffer that is scribbled over and freed
// right after feed() returns: a parser that kept a view into an earlier read
// then reads garbage (and ASan reports the use after free).
#pragma once

#include <doctest.h>

#include <cstring>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stomp/frame.h"
#include "stomp/frame_parser.h"

namespace twinmq::stomp::test {

// A Frame copied out of the callback (its views die when the callback returns).
struct OwnedFrame {
  Command command = Command::unknown;
  std::string command_text;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool has_content_length = false;

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
  bool operator==(const OwnedFrame&) const = default;
};

// One thing the sink saw: a frame or a heart-beat.
struct Event {
  bool heart_beat = false;
  OwnedFrame frame;
  bool operator==(const Event&) const = default;
};

struct Outcome {
  std::vector<Event> events;
  std::optional<ProtocolErrc> error;
  std::string error_message;
  bool error_persisted = true;  // every feed after the first error returned it again
  std::size_t buffered_at_end = 0;

  std::vector<OwnedFrame> frames() const {
    std::vector<OwnedFrame> out;
    for (const Event& e : events) {
      if (!e.heart_beat) out.push_back(e.frame);
    }
    return out;
  }
  std::size_t heart_beats() const {
    std::size_t n = 0;
    for (const Event& e : events) n += e.heart_beat ? 1 : 0;
    return n;
  }
  bool operator==(const Outcome&) const = default;
};

inline std::string visible(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\0') {
      out += "\\0";
    } else if (u < 0x20 || u >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{";
  for (const Event& e : o.events) {
    if (e.heart_beat) {
      os << " HB";
      continue;
    }
    os << " [" << visible(e.frame.command_text);
    for (const auto& [n, v] : e.frame.headers) os << " " << visible(n) << "=" << visible(v);
    os << (e.frame.has_content_length ? " cl" : "") << " body=" << visible(e.frame.body) << "]";
  }
  if (o.error) {
    os << " ERROR " << static_cast<int>(*o.error) << " '" << o.error_message << "'"
       << (o.error_persisted ? "" : " (not persisted)");
  }
  os << " buffered=" << o.buffered_at_end << " }";
  return os;
}

struct SinkOptions {
  // on_frame returns false after this many frames (0 = never).
  std::size_t stop_after = 0;
  // After a CONNECT, STOMP or CONNECTED frame, switch the parser to this version
  // (what the session does once it has negotiated).
  std::optional<Version> version_after_connect;
};

class RecordingSink final : public FrameSink {
 public:
  RecordingSink(FrameParser& parser, SinkOptions options, std::vector<Event>& events)
      : parser_(parser), options_(options), events_(events) {}

  bool on_frame(const Frame& frame) override {
    Event e;
    e.frame.command = frame.command;
    e.frame.command_text = std::string(frame.command_text);
    for (const Header& h : frame.headers) e.frame.headers.emplace_back(h.name, h.value);
    e.frame.body = std::string(frame.body);
    e.frame.has_content_length = frame.has_content_length;
    events_.push_back(std::move(e));
    ++frames_;
    if (options_.version_after_connect &&
        (frame.command == Command::connect || frame.command == Command::stomp ||
         frame.command == Command::connected)) {
      parser_.set_version(*options_.version_after_connect);
    }
    return options_.stop_after == 0 || frames_ < options_.stop_after;
  }
  void on_heartbeat() override { events_.push_back(Event{true, {}}); }

 private:
  FrameParser& parser_;
  SinkOptions options_;
  std::vector<Event>& events_;
  std::size_t frames_ = 0;
};

struct Feeding {
  Version version = Version::v1_2;
  ParserLimits limits{};
  SinkOptions sink{};
};

// Feeds `stream` cut at the given offsets (ascending) into a fresh parser.
inline Outcome parse_pieces(std::string_view stream, const std::vector<std::size_t>& cuts,
                            const Feeding& how = {}) {
  FrameParser parser(how.limits);
  parser.set_version(how.version);
  Outcome out;
  RecordingSink sink(parser, how.sink, out.events);
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : stream.size();
    const std::size_t n = to - from;
    auto piece = std::make_unique<char[]>(n + 1);
    if (n != 0) std::memcpy(piece.get(), stream.data() + from, n);
    const Result<void> r = parser.feed(std::string_view(piece.get(), n), sink);
    std::memset(piece.get(), 0xA5, n + 1);
    piece.reset();
    if (!r) {
      if (!out.error) {
        out.error = static_cast<ProtocolErrc>(r.error().code);
        out.error_message = r.error().message;
      } else if (static_cast<ProtocolErrc>(r.error().code) != *out.error ||
                 r.error().message != out.error_message) {
        out.error_persisted = false;
      }
    } else if (out.error) {
      out.error_persisted = false;
    }
    from = to;
  }
  // One more (empty) feed after the end: a dead parser must still say why.
  if (out.error) {
    const Result<void> r = parser.feed("", sink);
    if (r || r.error().message != out.error_message) out.error_persisted = false;
  }
  out.buffered_at_end = parser.buffered();
  return out;
}

inline Outcome parse_whole(std::string_view stream, const Feeding& how = {}) {
  return parse_pieces(stream, {}, how);
}

inline Outcome parse_bytewise(std::string_view stream, const Feeding& how = {}) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  return parse_pieces(stream, cuts, how);
}

// Up to this length a stream is also cut into three pieces at every pair of points.
inline constexpr std::size_t kThreeWaySplitMaxBytes = 80;

// Parses `stream` whole, then cut at every offset into two pieces, then (when short)
// into three pieces at every pair of offsets, then byte by byte; every way must
// give exactly the same outcome. Returns the outcome for the caller's own checks.
inline Outcome parse_every_split(std::string_view stream, const Feeding& how = {}) {
  const Outcome whole = parse_whole(stream, how);
  CHECK(whole.error_persisted);
  bool all_same = true;
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    const Outcome split = parse_pieces(stream, {cut}, how);
    if (!(split == whole)) {
      all_same = false;
      INFO("stream: " << visible(stream));
      INFO("split at byte " << cut);
      CHECK(split == whole);
    }
  }
  if (stream.size() <= kThreeWaySplitMaxBytes) {
    for (std::size_t a = 1; a < stream.size(); ++a) {
      for (std::size_t b = a + 1; b < stream.size(); ++b) {
        const Outcome split = parse_pieces(stream, {a, b}, how);
        if (!(split == whole)) {
          all_same = false;
          INFO("stream: " << visible(stream));
          INFO("split at bytes " << a << " and " << b);
          CHECK(split == whole);
        }
      }
    }
  }
  const Outcome bytewise = parse_bytewise(stream, how);
  INFO("stream: " << visible(stream));
  CHECK(bytewise == whole);
  CHECK(all_same);
  return whole;
}

// Builds a frame from parts, for readable tests.
inline std::string frame_text(std::string_view command,
                              std::initializer_list<std::string_view> header_lines,
                              std::string_view body = {}, std::string_view eol = "\n") {
  std::string out(command);
  out += eol;
  for (std::string_view line : header_lines) {
    out += line;
    out += eol;
  }
  out += eol;
  out += body;
  out += '\0';
  return out;
}

}  // namespace twinmq::stomp::test
