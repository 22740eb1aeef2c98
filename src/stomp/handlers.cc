#include "stomp/handlers.h"

#include <charconv>

namespace twinmq::stomp {

Result<std::string_view> required_header(const Frame& frame, std::string_view name) {
  if (auto v = frame.header(name)) return *v;
  return make_error(ProtocolErrc::missing_header, std::string(command_name(frame.command)) +
                                                      " requires a '" + std::string(name) + "' header");
}

Result<std::int64_t> integer_header(std::string_view name, std::string_view value, std::int64_t min,
                                    std::int64_t max) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || value.empty() || n < min || n > max) {
    return make_error(ProtocolErrc::invalid_header,
                      "header '" + std::string(name) + "' must be an integer from " + std::to_string(min) +
                          " to " + std::to_string(max) + ", got '" + printable(value) + "'");
  }
  return n;
}

}  // namespace twinmq::stomp
