// base/printable.h — the ONE way bytes a peer chose are shown in a log line or in an
// ERROR frame's body.
//
// A client chooses destination names, subscription ids, ack ids, transaction names,
// login names, client-ids, and whatever garbage it sends. Shown raw, an LF in one of
// them writes a whole log line the broker never wrote (an ACK with
// `id:x\n2026-12-04T20:00:00.000 error [broker] journal corrupted`, escaped as `\n` in
// a STOMP 1.2 frame, arrives as a real LF); a CR sends a terminal's cursor back over
// the line; NUL, ESC and the other control bytes cut or recolour what an operator sees.
//
// The rule: printable ASCII (0x20..0x7e) is shown as it is; every other byte, control
// bytes, DEL and each byte of a non-ASCII character alike, is written as \xHH. At most
// `max_bytes` of the input are shown, followed by "..." when it was longer, so a 60 KiB
// header cannot make one line unreadable either. A backslash is left as it is: the
// client's own `\n` escape then reads as the client wrote it, and since the output never
// holds a control byte, escaping it again changes nothing (the logger applies it to
// every line as a last guard, base/log.cc).
//
// Who calls it: stomp (error texts, ERROR bodies, connection log lines), broker (error
// texts naming ids and destinations), the logger (every line's message).
//
// Every entry point below goes through append_printable_to; there is no second copy.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace twinmq {

// How much of a peer's string an error message shows by default.
inline constexpr std::size_t kShownBytes = 80;

// Appends `text` to `out` under the rule above. `Out` is anything with push_back(char)
// and append(const char*, const char*): std::string, fmt::memory_buffer.
template <class Out>
void append_printable_to(Out& out, std::string_view text, std::size_t max_bytes = kShownBytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t shown = text.size() < max_bytes ? text.size() : max_bytes;
  std::size_t run = 0;  // start of the current run of bytes shown as they are
  for (std::size_t i = 0; i < shown; ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u < 0x7f) continue;
    out.append(text.data() + run, text.data() + i);
    const char escaped[4] = {'\\', 'x', kHex[u >> 4], kHex[u & 0xf]};
    out.append(escaped, escaped + 4);
    run = i + 1;
  }
  out.append(text.data() + run, text.data() + shown);
  if (shown < text.size()) {
    static constexpr std::string_view kCut = "...";
    out.append(kCut.data(), kCut.data() + kCut.size());
  }
}

// `text` shown by the rule above.
std::string printable(std::string_view text, std::size_t max_bytes = kShownBytes);
// The same in single quotes: 'text'.
std::string quoted(std::string_view text, std::size_t max_bytes = kShownBytes);

// For fmt/spdlog arguments: fmt::format("no transaction '{}'", shown(name)) writes the
// name by the rule above without building a string first.
struct Shown {
  std::string_view text;
  std::size_t max_bytes = kShownBytes;
};
inline Shown shown(std::string_view text, std::size_t max_bytes = kShownBytes) {
  return Shown{text, max_bytes};
}

// True when `text` holds no byte the rule above would escape.
bool is_printable(std::string_view text);

}  // namespace twinmq

template <>
struct fmt::formatter<twinmq::Shown> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class FormatContext>
  auto format(const twinmq::Shown& s, FormatContext& ctx) const {
    fmt::basic_memory_buffer<char, 128> buf;
    twinmq::append_printable_to(buf, s.text, s.max_bytes);
    return std::copy(buf.begin(), buf.end(), ctx.out());
  }
};
