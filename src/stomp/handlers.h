// stomp/handlers.h — helpers shared by the handle_*.cc files (not a public API).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/printable.h"  // printable(), quoted(): client bytes in logs and ERROR bodies
#include "base/result.h"
#include "stomp/errors.h"
#include "stomp/frame.h"

namespace twinmq::stomp {

// A broker::Errc error re-coded as the matching ProtocolErrc (same message).
Error from_broker(const Error& e);

// The header's value, or missing_header naming it and the command.
Result<std::string_view> required_header(const Frame& frame, std::string_view name);

// A destination name from SEND or SUBSCRIBE: invalid_destination when it holds a control
// byte (below 0x20, or DEL). It goes into every subscriber's MESSAGE and into log lines,
// and a line break there could not be carried to a STOMP 1.0 subscriber.
Result<void> check_destination_bytes(std::string_view destination);

// Decimal integer in [min, max], or invalid_header naming header and value.
Result<std::int64_t> integer_header(std::string_view name, std::string_view value, std::int64_t min,
                                    std::int64_t max);

}  // namespace twinmq::stomp
