// config/xml_loader.h — reads an ActiveMQ-style broker XML file into a Config.
//
// Every problem is collected (not just the first): unknown elements and attributes
// (with the nearest known name suggested), bad values, missing required items,
// unresolved ${names}, a missing or unreadable file, malformed XML. Each is reported
// as "file:line: what is wrong". The CLI prints them all and exits 2.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace twinmq::config {

enum class Errc { ok = 0, invalid = 1 };

// -Dname=value pairs from the command line; they win over the environment.
using Defines = std::vector<std::pair<std::string, std::string>>;

struct LoadResult {
  Config config;
  std::vector<std::string> errors;    // "file:line: message", empty = valid
  std::vector<std::string> warnings;  // e.g. deprecated-but-accepted items
  bool ok() const { return errors.empty(); }
};

LoadResult load_config(const std::string& path, const Defines& defines);
// Same, from text in memory (tests); `name` is used as the file name in messages.
LoadResult load_config_text(const std::string& text, const std::string& name,
                            const Defines& defines);

}  // namespace twinmq::config
