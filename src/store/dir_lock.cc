#include "store/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

#include "store/errors.h"

namespace twinmq::store {

namespace {

std::optional<pid_t> read_pid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return std::nullopt;
  std::string_view s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), pid);
  if (ec != std::errc{} || p != s.data() + s.size() || pid <= 0) return std::nullopt;
  return pid;
}

}  // namespace

Result<DirLock> DirLock::acquire(const std::string& dir) {
  const std::string path = join_path(dir, "lock");
  auto fd = open_file(path, O_RDWR | O_CREAT);
  if (!fd) return std::unexpected(fd.error());
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) return io_error("locking", path, err);
    auto pid = read_pid(fd->get());
    return make_error(Errc::in_use, "data directory " + dir + " is in use by pid " +
                                        (pid ? std::to_string(*pid) : std::string("(unknown)")));
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd->get(), 0) != 0) return io_error("truncating", path, errno);
  auto w = write_at(fd->get(), std::as_bytes(std::span(text.data(), text.size())), 0, path);
  if (!w) return std::unexpected(w.error());
  DirLock lock;
  lock.fd_ = std::move(*fd);
  return lock;
}

std::optional<pid_t> DirLock::holder(const std::string& dir) {
  const std::string path = join_path(dir, "lock");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  UniqueFd owned(fd);
  // A shared lock succeeds only when nobody holds the exclusive one.
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    return std::nullopt;
  }
  auto pid = read_pid(fd);
  return pid ? pid : std::optional<pid_t>(0);
}

}  // namespace twinmq::store
