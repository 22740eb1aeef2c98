// stomp/error_text.h — how the codec quotes a client's bytes inside an error
// message (internal to the stomp codec).
//
// Error::message ends up in logs and in an ERROR frame's body, so an offending
// value is shown bounded in length and with control and non-ASCII bytes spelled
// as \xHH: a 60 KiB header name or a stray NUL must not make the message itself
// unreadable or unprintable.
#pragma once

#include <string>
#include <string_view>

namespace twinmq::stomp {

// 'text' in single quotes, at most kMaxQuotedBytes of it followed by "..." when longer.
std::string quoted(std::string_view text);

// One byte as printed inside a message: itself when printable ASCII, else \xHH.
std::string printable_byte(char c);

inline constexpr std::size_t kMaxQuotedBytes = 80;

}  // namespace twinmq::stomp
