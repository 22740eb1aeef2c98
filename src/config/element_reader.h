// config/element_reader.h — reads one XML element against its ElementSpec.
//
// Constructing a reader reports every attribute the spec does not list (with a
// suggestion). Each typed read substitutes ${names}, parses, range-checks and
// reports problems at the attribute's own line; on any problem the output is left
// at its default, so loading carries on and later checks see sane values.
// for_each_child() reports unknown, misplaced and duplicated child elements and
// stray text. Lives on the stack for one element; single-threaded.
#pragma once

#include <tinyxml2.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostics.h"
#include "config/known_names.h"
#include "config/substitution.h"
#include "config/values.h"

namespace twinmq::config {

class ElementReader {
 public:
  ElementReader(const tinyxml2::XMLElement& element, const ElementSpec& spec, Diagnostics& diag,
                const Variables& variables);

  int line() const { return element_.GetLineNum(); }
  bool has(std::string_view attribute) const { return find(attribute) != nullptr; }
  // The attribute's line, or the element's line when it is absent.
  int line_of(std::string_view attribute) const;

  // The substituted value; nothing if absent or if substitution failed (reported).
  std::optional<std::string> value(std::string_view attribute);

  // Each returns true when the attribute was present and valid (and `out` set).
  bool read_string(std::string_view attribute, std::string& out);
  bool read_required(std::string_view attribute, std::string& out);
  bool read_bool(std::string_view attribute, bool& out);
  template <class T>
  bool read_uint(std::string_view attribute, T& out, std::uint64_t lo, std::uint64_t hi,
                 std::string_view unit = {}) {
    return read_parsed(attribute, out, [&](std::string_view t) { return parse_uint(t, lo, hi, unit); });
  }
  template <class T>
  bool read_size(std::string_view attribute, T& out, std::uint64_t lo, std::uint64_t hi) {
    return read_parsed(attribute, out, [&](std::string_view t) { return parse_size_in(t, lo, hi); });
  }

  // Reports "<element> attribute must be <expectation>, got '<value>'" at the attribute.
  void bad_value(std::string_view attribute, const ValueProblem& problem);
  // Reports `text` at the attribute's line.
  void error_at(std::string_view attribute, const std::string& text);

  using ChildFn = std::function<void(const tinyxml2::XMLElement&, const ElementSpec&)>;
  void for_each_child(const ChildFn& fn);
  // For elements that hold only attributes: reports any child element or text.
  void expect_no_children() {
    for_each_child([](const tinyxml2::XMLElement&, const ElementSpec&) {});
  }

 private:
  const tinyxml2::XMLAttribute* find(std::string_view attribute) const;
  std::string tag() const { return "<" + std::string(spec_.name) + ">"; }

  template <class T, class Parse>
  bool read_parsed(std::string_view attribute, T& out, Parse parse) {
    auto text = value(attribute);
    if (!text) return false;
    auto parsed = parse(*text);
    if (!parsed) {
      bad_value(attribute, parsed.error());
      return false;
    }
    out = static_cast<T>(*parsed);
    return true;
  }

  const tinyxml2::XMLElement& element_;
  const ElementSpec& spec_;
  Diagnostics& diag_;
  const Variables& variables_;
};

}  // namespace twinmq::config
