// base/json_writer.h — builds one JSON document in a string, for the `--json` reports
// of the command-line tools (verify-store, compare-stores), which scripts such as
// twinmq-resync read instead of scraping the text reports.
//
//   JsonWriter j;
//   j.begin_object();
//   j.key("store").value(dir);
//   j.key("files").begin_array(); ... j.end_array();
//   j.end_object();
//   std::fputs(j.finish().c_str(), stdout);
//
// Commas and indentation (two spaces, one member per line) are placed by the writer.
// The one tricky thing: destination names and paths are bytes a client or the file
// system chose, not necessarily UTF-8, and JSON must be. Valid UTF-8 passes through;
// every byte that is not part of a valid sequence becomes U+FFFD, so the document
// always parses (the text report shows the raw bytes when they matter).
//
// Lifecycle: a value type; one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace twinmq {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // The name of the next member (inside an object only).
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(std::uint64_t n);
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(int n) { return value(static_cast<std::int64_t>(n)); }
  JsonWriter& value(unsigned n) { return value(static_cast<std::uint64_t>(n)); }
  JsonWriter& value(bool b);
  JsonWriter& null();

  // The document, with a final newline.
  std::string finish();

 private:
  void before_value();
  JsonWriter& close(char bracket);
  void newline();

  std::string out_;
  // One entry per open object/array: whether it has a member yet.
  std::vector<bool> has_member_;
  bool after_key_ = false;
};

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace twinmq
