#include "base/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>
#include <string>

#include "base/printable.h"

namespace twinmq {
namespace {

// %* in the pattern: the message with every control and non-ASCII byte as \xHH
// (base/printable.h). Call sites already show what a client chose through
// printable()/shown(); this is the last guard, so that no string a peer chose - from
// any module, including one written later - can end a log line early or start a forged
// one. Escaping is idempotent on text that is already printable, so nothing is shown
// twice escaped.
class PrintableMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    append_printable_to(dest, std::string_view(msg.payload.data(), msg.payload.size()), SIZE_MAX);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PrintableMessage>();
  }
};

}  // namespace

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
  if (!broker_name.empty()) pattern += "[" + printable(broker_name, SIZE_MAX) + "] ";
  pattern += "%*";
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PrintableMessage>('*').set_pattern(std::move(pattern));
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace twinmq
