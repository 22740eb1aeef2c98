// Fuzz target: the XML configuration loader (config::load_config_text), which reads a
// file an operator wrote and must never crash on one: every problem is a "file:line:"
// message (config/diagnostics.h). Input: the file's bytes.
// Checks, beyond "no crash, no sanitizer report":
//  1. A load with no errors has at least one connector.
//  2. Every error and warning names the file, then either a line inside the file
//     ("fuzz.xml:N: ", 1 <= N <= the file's line count) or none ("fuzz.xml: ").
//  3. Errors come out sorted by line, as diagnostics.h promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/xml_loader.h"

namespace {

constexpr std::string_view kName = "fuzz.xml";

// The line a message names (0 = the file as a whole); aborts if it names none properly.
long line_of(const std::string& message, long lines) {
  if (message.rfind(kName, 0) != 0 || message.size() < kName.size() + 2) std::abort();
  const std::string_view rest = std::string_view(message).substr(kName.size());
  if (rest.substr(0, 2) == ": ") return 0;
  if (rest[0] != ':') std::abort();
  long line = 0;
  std::size_t i = 1;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9' && line <= lines) line = line * 10 + (rest[i++] - '0');
  if (i == 1 || rest.substr(i, 2) != ": " || line < 1 || line > lines) std::abort();
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Fixed -D values, so ${twinmq.base} resolves the same way in every run.
  const twinmq::config::Defines defines = {{"twinmq.base", "/nonexistent/fuzz"}, {"p", "1"}};
  const twinmq::config::LoadResult r = twinmq::config::load_config_text(text, std::string(kName), defines);
  if (r.ok() && r.config.connectors.empty()) std::abort();  // 1.
  long lines = 1;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  long previous = 0;
  for (const std::string& e : r.errors) {
    const long line = line_of(e, lines);  // 2.
    if (line < previous) std::abort();    // 3.
    previous = line;
  }
  for (const std::string& w : r.warnings) (void)line_of(w, lines);
  return 0;
}
