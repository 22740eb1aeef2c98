#include "stomp/handlers.h"

#include <charconv>

namespace twinmq::stomp {

Result<std::string_view> required_header(const Frame& frame, std::string_view name) {
  if (auto v = frame.header(name)) return *v;
  return make_error(ProtocolErrc::missing_header, std::string(command_name(frame.command)) +
                                                      " requires a '" + std::string(name) + "' header");
}

Result<void> check_destination_bytes(std::string_view destination) {
  for (char c : destination) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return make_error(ProtocolErrc::invalid_destination,
                        "destination " + quoted(destination) + " holds the control byte " +
                            printable(std::string_view(&c, 1)) +
                            "; destination names may not contain control characters");
    }
  }
  return {};
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
