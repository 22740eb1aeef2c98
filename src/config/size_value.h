// config/size_value.h — byte sizes as ActiveMQ writes them: "1048576", "64 kb",
// "32 mb", "1 gb" (units case-insensitive, powers of 1024, spaces optional, as
// ActiveMQ's MemoryPropertyEditor reads them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace twinmq::config {

// On failure the Error's message says what is wrong with the text (unknown unit,
// not a number, too large), for the caller to place in a "file:line" message.
Result<std::uint64_t> parse_size(std::string_view text);

// The shortest exact ActiveMQ spelling: 33554432 -> "32 mb", 1000 -> "1000 b".
std::string format_size(std::uint64_t bytes);

}  // namespace twinmq::config
