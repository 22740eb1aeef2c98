// base/log.h — logging set-up. We log through spdlog's default logger: one line
// per event an operator cares about; per-message lines only at debug level, and
// always behind a level check (`if (log_debug())`) so nothing is formatted on the
// hot path when debug is off.
//
// Bytes a client chose go into a message through printable()/shown()
// (base/printable.h); the logger also passes every message through the same rule,
// so no line can hold a control byte whatever a call site forgot.
#pragma once

#include <spdlog/spdlog.h>

#include <optional>
#include <string_view>

namespace twinmq {

// Parses "trace|debug|info|warn|error|critical|off".
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Installs the process logger on stderr: "<time> <level> [<broker name>] <message>",
// the message with control and non-ASCII bytes shown as \xHH.
void init_logging(spdlog::level::level_enum level, std::string_view broker_name = {});

inline bool log_debug() { return spdlog::should_log(spdlog::level::debug); }

}  // namespace twinmq
