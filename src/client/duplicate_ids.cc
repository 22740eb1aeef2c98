// client/duplicate_ids.cc — see duplicate_ids.h.
#include "client/duplicate_ids.h"

#include <charconv>
#include <random>

namespace twinmq::client {

DuplicateIdSource::DuplicateIdSource() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  prefix_.reserve(32);
  for (int word = 0; word < 4; ++word) {
    const std::uint32_t r = rd();
    for (int nibble = 0; nibble < 8; ++nibble) prefix_.push_back(kHex[(r >> (nibble * 4)) & 15]);
  }
}

std::string_view DuplicateIdSource::next() {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, next_++);
  (void)ec;  // 20 digits always fit
  buf_.assign(prefix_);
  buf_.push_back(':');
  buf_.append(digits, end);
  return buf_;
}

}  // namespace twinmq::client
