#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace twinmq {

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off}};
  for (const auto& [text, level] : kLevels) {
    if (text == name) return level;
  }
  return std::nullopt;
}

void init_logging(spdlog::level::level_enum level, std::string_view broker_name) {
  spdlog::drop("twinmq");
  auto logger = spdlog::stderr_color_mt("twinmq");
  std::string pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ ";
  if (!broker_name.empty()) pattern += "[" + std::string(broker_name) + "] ";
  pattern += "%v";
  logger->set_pattern(pattern);
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace twinmq
