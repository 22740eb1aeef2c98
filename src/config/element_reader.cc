// config/element_reader.cc — attribute checks, substitution and child iteration.
#include "config/element_reader.h"

#include <algorithm>
#include <map>

namespace twinmq::config {
namespace {

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// Long stray text is cut so one message stays one line.
std::string excerpt(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};  // blank, as the value of markup such as `<!>` is
  const auto e = s.find_last_not_of(" \t\r\n");
  std::string out(s.substr(b, e - b + 1));
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (out.size() > 40) out = out.substr(0, 37) + "...";
  return out;
}

}  // namespace

ElementReader::ElementReader(const tinyxml2::XMLElement& element, const ElementSpec& spec, Diagnostics& diag,
                             const Variables& variables)
    : element_(element), spec_(spec), diag_(diag), variables_(variables) {
  for (const tinyxml2::XMLAttribute* a = element_.FirstAttribute(); a != nullptr; a = a->Next()) {
    const std::string_view name = a->Name();
    if (std::find(spec_.attributes.begin(), spec_.attributes.end(), name) != spec_.attributes.end()) continue;
    std::string text = "unknown attribute '" + std::string(name) + "' on " + tag();
    if (spec_.attributes.empty())
      text += " (it takes no attributes)";
    else
      text += suggestion_suffix(name, spec_.attributes, "'", "'");
    diag_.error(a->GetLineNum(), text);
  }
}

const tinyxml2::XMLAttribute* ElementReader::find(std::string_view attribute) const {
  const std::string name(attribute);
  return element_.FindAttribute(name.c_str());
}

int ElementReader::line_of(std::string_view attribute) const {
  const tinyxml2::XMLAttribute* a = find(attribute);
  return a != nullptr ? a->GetLineNum() : line();
}

std::optional<std::string> ElementReader::value(std::string_view attribute) {
  const tinyxml2::XMLAttribute* a = find(attribute);
  if (a == nullptr) return std::nullopt;
  Substituted s = substitute(a->Value(), variables_);
  for (const std::string& problem : s.problems) diag_.error(a->GetLineNum(), problem);
  if (!s.problems.empty()) return std::nullopt;
  return std::move(s.value);
}

bool ElementReader::read_string(std::string_view attribute, std::string& out) {
  auto v = value(attribute);
  if (!v) return false;
  out = std::move(*v);
  return true;
}

bool ElementReader::read_required(std::string_view attribute, std::string& out) {
  if (!has(attribute)) {
    diag_.error(line(), tag() + " is missing the required attribute '" + std::string(attribute) + "'");
    return false;
  }
  return read_string(attribute, out);
}

bool ElementReader::read_bool(std::string_view attribute, bool& out) {
  return read_parsed(attribute, out, [](std::string_view t) { return parse_bool(t); });
}

void ElementReader::bad_value(std::string_view attribute, const ValueProblem& problem) {
  const tinyxml2::XMLAttribute* a = find(attribute);
  const std::string raw = a != nullptr ? a->Value() : "";
  // Show what the value became after substitution, and where it came from.
  std::string shown = raw;
  if (raw.find("${") != std::string::npos) shown = substitute(raw, variables_).value;
  std::string text = tag() + " " + value_message(attribute, shown, problem);
  if (shown != raw) text += " (from '" + raw + "')";
  diag_.error(line_of(attribute), text);
}

void ElementReader::error_at(std::string_view attribute, const std::string& text) {
  diag_.error(line_of(attribute), text);
}

void ElementReader::for_each_child(const ChildFn& fn) {
  std::map<std::string_view, int> first_line;  // non-repeatable children seen so far
  for (const tinyxml2::XMLNode* node = element_.FirstChild(); node != nullptr; node = node->NextSibling()) {
    if (node->ToComment() != nullptr) continue;
    if (const tinyxml2::XMLText* text = node->ToText()) {
      if (!is_blank(text->Value()))
        diag_.error(text->GetLineNum(), "unexpected text '" + excerpt(text->Value()) + "' in " + tag());
      continue;
    }
    const tinyxml2::XMLElement* child = node->ToElement();
    if (child == nullptr) {
      const char* open = node->ToDeclaration() != nullptr ? "<?" : "<!";
      diag_.error(node->GetLineNum(), "unexpected markup '" + std::string(open) + excerpt(node->Value()) + ">' in " + tag());
      continue;
    }
    const std::string_view name = child->Name();
    const bool allowed = std::find(spec_.children.begin(), spec_.children.end(), name) != spec_.children.end();
    const ElementSpec* child_spec = find_element(name, spec_.name);
    if (!allowed) {
      std::string text;
      if (child_spec != nullptr && !child_spec->parent.empty())
        text = "<" + std::string(name) + "> belongs inside <" + std::string(child_spec->parent) + ">, not " + tag();
      else if (spec_.children.empty())
        text = "unexpected element <" + std::string(name) + "> in " + tag() + " (it takes no child elements)";
      else
        text = "unknown element <" + std::string(name) + "> in " + tag() +
               suggestion_suffix(name, spec_.children, "<", ">");
      diag_.error(child->GetLineNum(), text);
      continue;
    }
    if (!child_spec->repeatable) {
      auto [it, inserted] = first_line.emplace(child_spec->name, child->GetLineNum());
      if (!inserted) {
        diag_.error(child->GetLineNum(), "duplicate <" + std::string(name) + "> in " + tag() + " (first at line " +
                                             std::to_string(it->second) + ")");
        continue;
      }
    }
    fn(*child, *child_spec);
  }
}

}  // namespace twinmq::config
