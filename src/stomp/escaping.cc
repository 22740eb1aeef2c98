// stomp/escaping.cc — header escaping per STOMP version (declared in
// stomp/frame_writer.h): the writer escapes, the parser unescapes.
//
//   version   escapes                      undefined "\x"
//   1.0       none (bytes as they are)     not an escape at all
//   1.1       \n -> LF  \c -> ':'  \\ -> \  fatal
//   1.2       1.1 plus \r -> CR            fatal
//
// 1.1 has no escape for CR, so a CR in a 1.1 value is written raw; a raw CR
// right before the line's LF is then read back as part of the EOL (STOMP 1.1
// itself cannot carry it). Whether a frame is escaped at all (CONNECT, STOMP and
// CONNECTED never are) is the caller's decision, not these functions'.
//
// What a version cannot carry at all (can_carry): LF and CR in 1.0, CR in 1.1, NUL
// in any. A header someone else chose that holds one is left out of the frame
// (FrameWriter::header_if_carried) rather than written raw.
#include <cstring>

#include "stomp/frame_writer.h"

namespace twinmq::stomp {
namespace {

// The escape for one byte under 1.1/1.2 rules, or nullptr when it goes as is.
const char* escape_for(char c, Version v) {
  switch (c) {
    case '\n': return "\\n";
    case ':': return "\\c";
    case '\\': return "\\\\";
    case '\r': return v == Version::v1_2 ? "\\r" : nullptr;
    default: return nullptr;
  }
}

}  // namespace

void append_escaped(std::string& out, Version v, std::string_view text) {
  if (v == Version::v1_0) {
    out.append(text);
    return;
  }
  // Most values need no escape; append clean runs whole instead of byte by byte.
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char* esc = escape_for(text[i], v);
    if (esc == nullptr) continue;
    out.append(text.substr(run_start, i - run_start));
    out.append(esc, 2);
    run_start = i + 1;
  }
  out.append(text.substr(run_start));
}

bool can_carry(Version v, std::string_view name, std::string_view value) {
  using namespace std::string_view_literals;
  switch (v) {
    case Version::v1_0:
      return name.find_first_of("\0\r\n:"sv) == std::string_view::npos &&
             value.find_first_of("\0\r\n"sv) == std::string_view::npos;
    case Version::v1_1:
      return name.find_first_of("\0\r"sv) == std::string_view::npos &&
             value.find_first_of("\0\r"sv) == std::string_view::npos;
    case Version::v1_2:
      break;
  }
  return std::memchr(name.data(), '\0', name.size()) == nullptr &&
         std::memchr(value.data(), '\0', value.size()) == nullptr;
}

bool unescape(std::string& out, Version v, std::string_view text) {
  if (v == Version::v1_0) {
    out.append(text);
    return true;
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    const void* hit = std::memchr(text.data() + pos, '\\', text.size() - pos);
    if (hit == nullptr) {
      out.append(text.substr(pos));
      return true;
    }
    const auto bs = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
    out.append(text.substr(pos, bs - pos));
    if (bs + 1 >= text.size()) return false;  // a lone trailing backslash
    switch (text[bs + 1]) {
      case 'n': out += '\n'; break;
      case 'c': out += ':'; break;
      case '\\': out += '\\'; break;
      case 'r':
        if (v != Version::v1_2) return false;
        out += '\r';
        break;
      default: return false;
    }
    pos = bs + 2;
  }
  return true;
}

}  // namespace twinmq::stomp
