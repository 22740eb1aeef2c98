// base/printable.cc — the string forms of append_printable_to (base/printable.h).
#include "base/printable.h"

namespace twinmq {

std::string printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  append_printable_to(out, text, max_bytes);
  return out;
}

std::string quoted(std::string_view text, std::size_t max_bytes) {
  std::string out = "'";
  append_printable_to(out, text, max_bytes);
  out += '\'';
  return out;
}

bool is_printable(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

}  // namespace twinmq
