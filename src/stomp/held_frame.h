// stomp/held_frame.h — an owned copy of a client frame the session could not process
// yet (a SEND or COMMIT waiting for memory or store room, and the frames that arrived
// behind it: stomp/flow_control.cc).
//
// A Frame is views into the read buffer, valid only during on_frame(); this keeps the
// command, headers and body in its own strings and hands out a Frame that points into
// them. Copies are made only while a producer waits (the slow path), never per message.
//
// Lifecycle: owned by its Session's held_ list (whose elements never move: view()s stay
// valid until the element is removed). Loop thread only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "stomp/frame.h"

namespace twinmq::stomp {

class HeldFrame {
 public:
  explicit HeldFrame(const Frame& f)
      : command_(f.command), command_text_(f.command_text), body_(f.body), has_content_length_(f.has_content_length) {
    fields_.reserve(f.headers.size());
    for (const Header& h : f.headers) fields_.emplace_back(std::string(h.name), std::string(h.value));
    headers_.reserve(fields_.size());
    for (const auto& [name, value] : fields_) headers_.push_back(Header{name, value});
  }
  HeldFrame(const HeldFrame&) = delete;
  HeldFrame& operator=(const HeldFrame&) = delete;

  Frame view() const {
    Frame f;
    f.command = command_;
    f.command_text = command_text_;
    f.headers = headers_;
    f.body = body_;
    f.has_content_length = has_content_length_;
    return f;
  }
  // Roughly what it holds (for the log line; the bound is on frames, not bytes).
  std::size_t bytes() const {
    std::size_t n = body_.size() + command_text_.size();
    for (const auto& [name, value] : fields_) n += name.size() + value.size();
    return n;
  }

 private:
  Command command_;
  std::string command_text_;
  std::vector<std::pair<std::string, std::string>> fields_;
  std::vector<Header> headers_;  // views into fields_ (built once: fields_ never grows again)
  std::string body_;
  bool has_content_length_;
};

}  // namespace twinmq::stomp
