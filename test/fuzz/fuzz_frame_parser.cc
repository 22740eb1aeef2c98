// Fuzz target: the STOMP frame parser (stomp/frame_parser.h) and, for what it accepts,
// the writer (stomp/frame_writer.h). Both directions: the broker reads clients' frames
// with a strict command line (stomp/server.h), the client library reads the broker's
// frames without (client/connection.cc); the same parser, so one target with a mode bit.
//
// Input: byte 0 picks the version (byte % 3: 1.0, 1.1, 1.2), the server's strict command
// line (bit 2) and small or default limits (bit 3); byte 1 seeds where the stream is
// cut; the rest is the stream.
// Beyond "no crash, no sanitizer report", each run checks what the parser promises:
//  1. The outcome (frames, heart-beats, the error and its words) is the same whether the
//     stream comes whole or cut into pieces: a connection's reads end anywhere.
//  2. Limits hold: no frame is larger than max_frame_size or has more than max_headers
//     headers, and no header holds a NUL.
//  3. A frame the parser accepted, written again by FrameWriter in the same version (when
//     FrameWriter::carries() says it can be), parses back to the same frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stomp/frame_parser.h"
#include "stomp/frame_writer.h"

using namespace twinmq::stomp;

namespace {

struct Owned {
  Command command;
  std::string command_text;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool has_content_length;
  bool operator==(const Owned&) const = default;
};

struct Outcome {
  std::vector<Owned> frames;
  std::size_t heart_beats = 0;
  bool failed = false;
  int code = 0;
  std::string message;
  bool operator==(const Outcome&) const = default;
};

class Recorder final : public FrameSink {
 public:
  explicit Recorder(Outcome& out) : out_(out) {}
  bool on_frame(const Frame& f) override {
    Owned o{f.command, std::string(f.command_text), {}, std::string(f.body), f.has_content_length};
    for (const Header& h : f.headers) o.headers.emplace_back(std::string(h.name), std::string(h.value));
    out_.frames.push_back(std::move(o));
    return true;
  }
  void on_heartbeat() override { ++out_.heart_beats; }

 private:
  Outcome& out_;
};

// Feeds `stream` in pieces whose lengths come from `seed` (0 = whole), each from its own
// heap copy that is freed right after feed(): a parser keeping a view would be caught by ASan.
Outcome parse(std::string_view stream, Version v, const ParserLimits& limits, std::uint32_t seed) {
  Outcome out;
  FrameParser parser(limits);
  parser.set_version(v);
  Recorder sink(out);
  std::size_t pos = 0;
  while (pos < stream.size()) {
    std::size_t n = stream.size() - pos;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (seed >> 16) % 17);
    }
    std::vector<char> piece(stream.data() + pos, stream.data() + pos + n);
    auto r = parser.feed(std::string_view(piece.data(), piece.size()), sink);
    std::memset(piece.data(), 0x5a, piece.size());
    pos += n;
    if (!r) {
      out.failed = true;
      out.code = r.error().code;
      out.message = r.error().message;
      break;
    }
  }
  return out;
}

bool escapes(Command c) { return c != Command::connect && c != Command::stomp && c != Command::connected; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto v = static_cast<Version>(data[0] % 3);
  ParserLimits limits;
  limits.strict_command_line = (data[0] & 4) != 0;
  if ((data[0] & 8) != 0) {
    limits.max_frame_size = 512;
    limits.max_header_section = 256;
    limits.max_headers = 8;
  }
  const std::uint32_t seed = data[1] | 0x100u;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Outcome whole = parse(stream, v, limits, 0);
  const Outcome pieces = parse(stream, v, limits, seed);
  if (!(whole == pieces)) std::abort();  // 1.

  for (const Owned& f : whole.frames) {
    // 2.
    std::size_t header_bytes = f.command_text.size() + 1;
    for (const auto& [name, value] : f.headers) {
      header_bytes += name.size() + value.size() + 2;
      if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) std::abort();
    }
    if (f.headers.size() > limits.max_headers) std::abort();
    if (f.body.size() + f.command_text.size() + 2 > limits.max_frame_size) std::abort();
    (void)header_bytes;

    // 3. Written again (escaped per version, headers in order, body as it was).
    if (f.command == Command::unknown) continue;
    const bool escaped = v != Version::v1_0 && escapes(f.command);
    std::string out;
    FrameWriter w(out, v, f.command);
    bool writable = true;
    for (const auto& [name, value] : f.headers) {
      if (!w.carries(name, value)) writable = false;
      // Unescaped frames (1.0, CONNECT) cannot hold LF; the parser never yields one there.
      if (!escaped && (name.find('\n') != std::string::npos || value.find('\n') != std::string::npos)) std::abort();
    }
    if (!writable) continue;
    for (const auto& [name, value] : f.headers) w.header(name, value);
    w.finish(f.body, false);
    ParserLimits roomy;
    roomy.max_frame_size = 1u << 20;
    roomy.max_header_section = 1u << 20;
    roomy.max_headers = 100000;
    const Outcome again = parse(out, v, roomy, 0);
    if (again.failed || again.frames.size() != 1) std::abort();
    const Owned& g = again.frames[0];
    if (g.command != f.command || g.headers != f.headers || g.body != f.body) std::abort();
  }
  return 0;
}
