#include "store/file_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/errors.h"
#include "store/fault_points.h"

namespace twinmq::store {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns the text (possibly not in buf).
  return std::string(strerror_r(err, buf, sizeof(buf)));
}

std::unexpected<Error> io_error(std::string_view what, std::string_view path, int err) {
  return make_error(Errc::io, errno_text(err) + " (" + std::string(what) + " " + std::string(path) + ")");
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (!p.empty() && p.back() != '/') p.push_back('/');
  p.append(name);
  return p;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

Result<MappedFile> MappedFile::map_fd(int fd, std::size_t size, const std::string& path) {
  MappedFile m;
  if (size == 0) return m;
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return io_error("mapping", path, errno);
  // Recovery and verification read front to back: let the kernel read ahead hard.
  ::madvise(p, size, MADV_SEQUENTIAL);
  m.data_ = static_cast<const std::byte*>(p);
  m.size_ = size;
  return m;
}

Result<MappedFile> MappedFile::open(const std::string& path) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return io_error("reading the size of", path, errno);
  return map_fd(fd->get(), static_cast<std::size_t>(st.st_size), path);
}

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode, Faults faults) {
  if (faults == Faults::on && (flags & O_CREAT) != 0 && fault_fires(FaultPoint::create_enospc))
    return io_error("creating", path, ENOSPC);
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return io_error((flags & O_CREAT) != 0 ? "creating" : "opening", path, errno);
  return UniqueFd(fd);
}

Result<void> write_at(int fd, std::span<const std::byte> data, std::uint64_t offset,
                      const std::string& path, Faults faults) {
  auto fail = [&](int err) {
    return make_error(Errc::io, errno_text(err) + " (writing " + path + " at offset " +
                                    std::to_string(offset) + ")");
  };
  const bool check = faults == Faults::on;
  if (check && fault_fires(FaultPoint::write_enospc)) return fail(ENOSPC);
  if (check && fault_fires(FaultPoint::write_eio)) return fail(EIO);
  if (check && fault_fires(FaultPoint::crash_mid_write)) {
    // A torn write as a kill -9 in the middle of pwrite leaves it. Its result does not
    // matter (the process is killed next); it is compared because (void) does not
    // silence warn_unused_result, which _FORTIFY_SOURCE (the package build) adds.
    if (::pwrite(fd, data.data(), data.size() / 2, static_cast<off_t>(offset)) < 0) {
    }
    ::kill(::getpid(), SIGKILL);
  }
  const bool short_write = check && fault_fires(FaultPoint::write_short);
  std::size_t done = 0;
  while (done < data.size()) {
    std::size_t want = data.size() - done;
    if (short_write && done == 0 && want > 1) want /= 2;
    ssize_t n = ::pwrite(fd, data.data() + done, want, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    if (n == 0) return fail(ENOSPC);
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<void> sync_data(int fd, const std::string& path, Faults faults) {
  if (faults == Faults::on && fault_fires(FaultPoint::sync_eio)) return io_error("fdatasync of", path, EIO);
  if (::fdatasync(fd) != 0) return io_error("fdatasync of", path, errno);
  return {};
}

Result<void> sync_dir(const std::string& dir) {
  auto fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  if (::fsync(fd->get()) != 0) return io_error("fsync of directory", dir, errno);
  return {};
}

Result<void> truncate_file(const std::string& path, std::uint64_t size) {
  auto fd = open_file(path, O_WRONLY);
  if (!fd) return std::unexpected(fd.error());
  if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) return io_error("truncating", path, errno);
  if (::fsync(fd->get()) != 0) return io_error("fsync of", path, errno);
  return {};
}

Result<void> remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("removing", path, errno);
  return {};
}

Result<std::string> read_small_file(const std::string& path) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return std::unexpected(fd.error());
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("reading", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (1u << 20)) return make_error(Errc::io, path + " is larger than expected");
  }
  return out;
}

Result<void> write_file_atomically(const std::string& dir, const std::string& name,
                                   std::string_view content) {
  const std::string tmp = join_path(dir, name + ".tmp");
  const std::string final_path = join_path(dir, name);
  {
    auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd) return std::unexpected(fd.error());
    auto w = write_at(fd->get(), std::as_bytes(std::span(content.data(), content.size())), 0, tmp);
    if (!w) return w;
    if (::fsync(fd->get()) != 0) return io_error("fsync of", tmp, errno);
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) return io_error("renaming to", final_path, errno);
  return sync_dir(dir);
}

}  // namespace twinmq::store
