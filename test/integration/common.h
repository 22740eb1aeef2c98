// test/integration/common.h — helpers shared by the integration test files.
#pragma once

#include <doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "support/broker_process.h"
#include "support/raw_stomp.h"
#include "support/wait_until.h"

namespace twinmq::test {

// ASAN_OPTIONS for a broker whose RSS a test checks: under AddressSanitizer freed memory
// waits in a quarantine (256 MiB by default) that counts as RSS; a small one keeps the
// check measuring the broker, not ASan. The test's own options are kept; a build without
// ASan ignores the variable.
inline std::string asan_options_small_quarantine() {
  const char* given = std::getenv("ASAN_OPTIONS");
  return given && *given ? std::string(given) + ":quarantine_size_mb=4" : std::string("quarantine_size_mb=4");
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Case-insensitive substring test.
inline bool contains_ci(std::string_view haystack, std::string_view needle) {
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

inline std::vector<std::string> bodies(const std::vector<ReceivedFrame>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(f.body);
  return out;
}

inline std::string describe_all(const std::vector<ReceivedFrame>& frames) {
  std::string out;
  for (const auto& f : frames) out += "\n  " + f.describe();
  return out.empty() ? " (none)" : out;
}

// A connected client: CONNECT with `version` ("" = 1.0 without accept-version).
inline std::unique_ptr<RawStomp> client(BrokerProcess& broker, std::string_view version = "1.2",
                                        const KeyValues& extra = {}) {
  auto c = std::make_unique<RawStomp>(broker.port());
  c->connect(version, extra);
  return c;
}

// Asserts `f` is an ERROR whose `message` header and body say what went wrong:
// `message_or_body_has` must appear in the message header or the body, each of
// `body_has` in the body (all case-insensitive).
inline void check_error(const std::optional<ReceivedFrame>& f, std::string_view message_or_body_has,
                        const std::vector<std::string>& body_has) {
  REQUIRE_MESSAGE(f.has_value(), "expected an ERROR frame, got nothing");
  INFO("received: " << f->describe());
  REQUIRE(f->command == "ERROR");
  CHECK_MESSAGE(f->has("message"), "ERROR must carry a message header");
  CHECK_MESSAGE(!(*f)["message"].empty(), "ERROR message header must not be empty");
  CHECK_MESSAGE(!f->body.empty(), "ERROR must have a body saying what was wrong");
  if (!message_or_body_has.empty()) {
    CHECK_MESSAGE(contains_ci((*f)["message"] + " " + f->body, message_or_body_has),
                  "ERROR should mention '" << message_or_body_has << "'");
  }
  for (const auto& s : body_has) {
    CHECK_MESSAGE(contains_ci(f->body, s), "ERROR body should name '" << s << "'");
  }
}

}  // namespace twinmq::test
