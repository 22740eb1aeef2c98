// config/substitution.h — ${name} in attribute values.
//
// A name is looked up, first match wins:
//  1. the -Dname=value defines from the command line (the last -D of a name wins);
//  2. the environment variable spelled exactly like the name ("twinmq.base");
//  3. the environment variable with dots replaced by underscores and upper-cased
//     ("twinmq.base" -> "TWINMQ_BASE"), because shells cannot set names with dots.
// Names may contain letters, digits, '.', '_' and '-'. A substituted value is not
// scanned again (no recursion), and a '$' not followed by '{' is literal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/xml_loader.h"  // Defines

namespace twinmq::config {

// Looks names up; borrows `defines`, which must outlive it (one load). Used on the
// start-up thread before the loop runs (getenv is not safe against a concurrent setenv).
class Variables {
 public:
  using EnvLookup = const char* (*)(const char* name);
  // `env` is replaceable so tests need not touch the process environment.
  explicit Variables(const Defines& defines, EnvLookup env = nullptr);

  std::optional<std::string> lookup(std::string_view name) const;

  // "twinmq.base" -> "TWINMQ_BASE".
  static std::string environment_name(std::string_view name);

 private:
  const Defines& defines_;
  EnvLookup env_;
};

struct Substituted {
  std::string value;
  std::vector<std::string> problems;  // each a complete message, without file:line
};

Substituted substitute(std::string_view text, const Variables& variables);

}  // namespace twinmq::config
