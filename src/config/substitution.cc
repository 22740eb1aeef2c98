// config/substitution.cc — one left-to-right pass over the value.
#include "config/substitution.h"

#include <cctype>
#include <cstdlib>

namespace twinmq::config {
namespace {

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
}

const char* process_env(const char* name) { return std::getenv(name); }

}  // namespace

Variables::Variables(const Defines& defines, EnvLookup env)
    : defines_(defines), env_(env != nullptr ? env : &process_env) {}

std::string Variables::environment_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> Variables::lookup(std::string_view name) const {
  for (auto it = defines_.rbegin(); it != defines_.rend(); ++it)
    if (it->first == name) return it->second;
  const std::string exact(name);
  if (const char* v = env_(exact.c_str())) return std::string(v);
  const std::string upper = environment_name(name);
  if (upper != exact)
    if (const char* v = env_(upper.c_str())) return std::string(v);
  return std::nullopt;
}

Substituted substitute(std::string_view text, const Variables& variables) {
  Substituted out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto start = text.find("${", i);
    if (start == std::string_view::npos) {
      out.value.append(text.substr(i));
      break;
    }
    out.value.append(text.substr(i, start - i));
    const auto close = text.find('}', start + 2);
    if (close == std::string_view::npos) {
      out.problems.push_back("unterminated ${ in '" + std::string(text) + "' (expected ${name})");
      break;
    }
    const std::string_view name = text.substr(start + 2, close - start - 2);
    bool valid = !name.empty();
    for (char c : name) valid = valid && is_name_char(c);
    if (!valid) {
      out.problems.push_back("invalid variable name ${" + std::string(name) + "} in '" + std::string(text) +
                             "' (letters, digits, '.', '_' and '-' only)");
    } else if (auto value = variables.lookup(name)) {
      out.value.append(*value);
    } else {
      out.problems.push_back("undefined variable ${" + std::string(name) + "} (set it with -D" +
                             std::string(name) + "=... or the environment)");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace twinmq::config
