#include "net/side_writer.h"

#include <sys/socket.h>

#include <cerrno>

namespace twinmq::net {

SideWriter::Sent SideWriter::send(std::span<const char> frame) {
  std::lock_guard lock(mu_);
  if (fd_ < 0 || busy_ || frame.empty()) return Sent::not_sent;
  ssize_t n;
  do {
    n = ::send(fd_, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  // EAGAIN (socket full) or an error the loop will see on its own next write or read.
  if (n <= 0) return Sent::not_sent;
  if (static_cast<std::size_t>(n) < frame.size()) {
    // Rule 2: the stream now ends inside this frame; the loop finishes it first.
    remainder_.assign(frame.data() + n, frame.size() - static_cast<std::size_t>(n));
    busy_ = true;
    ++frames_;
    return Sent::partly;
  }
  ++frames_;
  return Sent::whole;
}

std::uint64_t SideWriter::frames() const {
  std::lock_guard lock(mu_);
  return frames_;
}

}  // namespace twinmq::net
