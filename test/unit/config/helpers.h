// test/unit/config/helpers.h — loading XML text the way the CLI loads a file, with
// a fixed file name so expected messages can be written out in full.
#pragma once

#include <doctest.h>

#include <string>
#include <vector>

#include "config/xml_loader.h"

// Lists of messages print one per line when a comparison fails.
namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string out = "{";
    for (const std::string& s : v) out += "\n  \"" + s + "\"";
    out += v.empty() ? "}" : "\n}";
    return String(out.c_str());
  }
};
}  // namespace doctest

namespace twinmq::config::test {

inline const std::string kFile = "conf/broker.xml";

inline LoadResult load(const std::string& xml, const Defines& defines = {}) {
  return load_config_text(xml, kFile, defines);
}

// A valid broker with `attributes` on <broker> and `body` inside it, plus the
// stomp connector every broker needs unless `body` brings its own connectors.
// Line 1 is <broker ...>, so the first body line is line 2.
inline std::string broker(const std::string& attributes, const std::string& body) {
  std::string xml = "<broker" + (attributes.empty() ? std::string() : " " + attributes) + ">\n" + body;
  if (body.find("<transportConnectors>") == std::string::npos)
    xml += "<transportConnectors><transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:61613\"/></transportConnectors>\n";
  return xml + "</broker>\n";
}

inline std::string connectors(const std::string& inner) {
  return "<transportConnectors>\n" + inner + "</transportConnectors>\n";
}

// The errors of loading `xml`; fails the test if it loaded cleanly.
inline std::vector<std::string> errors_of(const std::string& xml, const Defines& defines = {}) {
  LoadResult r = load(xml, defines);
  CHECK_FALSE(r.ok());
  return r.errors;
}

// The single error of loading `xml`.
inline std::string error_of(const std::string& xml, const Defines& defines = {}) {
  std::vector<std::string> errors = errors_of(xml, defines);
  CHECK(errors.size() == 1);
  if (errors.size() != 1) {
    for (const std::string& e : errors) MESSAGE(e);
  }
  return errors.empty() ? std::string() : errors.front();
}

inline Config load_ok(const std::string& xml, const Defines& defines = {}) {
  LoadResult r = load(xml, defines);
  for (const std::string& e : r.errors) MESSAGE(e);
  CHECK(r.ok());
  return r.config;
}

}  // namespace twinmq::config::test
