// base/log.h — logging set-up. We log through spdlog's default logger: one line
// per event an operator cares about; per-message lines only at debug level, and
// always behind a level check (`if (log_debug())`) so nothing is formatted on the
// hot path when debug is off.
#pragma once

#include <spdlog/spdlog.h>

#include <optional>
#include <string_view>

namespace twinmq {

// Parses "trace|debug|info|warn|error|critical|off".
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Installs the process logger on stderr with the broker name as a prefix.
void init_logging(spdlog::level::level_enum level, std::string_view broker_name = {});

inline bool log_debug() { return spdlog::should_log(spdlog::level::debug); }

}  // namespace twinmq
