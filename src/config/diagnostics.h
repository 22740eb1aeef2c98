// config/diagnostics.h — where the loader collects its errors and warnings.
//
// Every message is "FILE:LINE: text" (or "FILE: text" when no line applies), so an
// editor can jump to it; the loader keeps going after each one so the user sees all
// of them in one run (nats-server#774). They come out sorted by line (stable, so
// problems on one line keep the order they were found in): the loader finds them
// element by element, and the cross-element checks only at the end, but a reader
// fixes a file top to bottom. Owned by one load; single-threaded.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace twinmq::config {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // line 0 = the file as a whole.
  void error(int line, const std::string& text) { errors_.emplace_back(line, locate(line, text)); }
  void warning(int line, const std::string& text) { warnings_.emplace_back(line, locate(line, text)); }

  const std::string& file() const { return file_; }
  std::size_t error_count() const { return errors_.size(); }
  std::vector<std::string> take_errors() { return take(errors_); }
  std::vector<std::string> take_warnings() { return take(warnings_); }

 private:
  using Entry = std::pair<int, std::string>;

  std::string locate(int line, const std::string& text) const {
    return line > 0 ? file_ + ":" + std::to_string(line) + ": " + text : file_ + ": " + text;
  }

  static std::vector<std::string> take(std::vector<Entry>& entries) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.first < b.first; });
    std::vector<std::string> out;
    out.reserve(entries.size());
    for (Entry& e : entries) out.push_back(std::move(e.second));
    entries.clear();
    return out;
  }

  std::string file_;
  std::vector<Entry> errors_;
  std::vector<Entry> warnings_;
};

}  // namespace twinmq::config
