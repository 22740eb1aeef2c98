// store/file_io.h — the few POSIX file operations the store uses, each returning a
// Result whose message names the file, the operation and the errno text, and each
// passing through the fault points (store/fault_points.h) so tests can make them fail.
//
// Any thread; no shared state (except the fault registry).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace twinmq::store {

// The errno text, e.g. "No space left on device".
std::string errno_text(int err);
// "<errno text> (<what> <path>)" as an Errc::io error, e.g. "No space left on device
// (creating /data/00000000000000000001.seg)": reads well after "journal write failed: ".
std::unexpected<Error> io_error(std::string_view what, std::string_view path, int err);

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// A read-only private mapping of a whole file (or its first `size` bytes). Recovery,
// verification, compaction and catch-up read records straight from the mapping: no
// per-record system call, and payloads are 8-byte aligned for flatbuffers (the
// mapping is page aligned and records are padded to 8 bytes).
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MappedFile& operator=(MappedFile&& o) noexcept;
  ~MappedFile();

  // Maps `path` whole. An empty file maps to an empty span.
  static Result<MappedFile> open(const std::string& path);
  // Maps the first `size` bytes of an open descriptor (it may be unlinked already).
  static Result<MappedFile> map_fd(int fd, std::size_t size, const std::string& path_for_errors);

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Whether an operation passes through the fault points: only the journal's segment
// and checkpoint I/O does, so a test that counts writes counts those alone.
enum class Faults { off, on };

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode = 0644,
                           Faults faults = Faults::off);
// Writes all of `data` at `offset`, continuing after short writes. Fault points:
// write_enospc, write_eio, write_short, crash_mid_write.
Result<void> write_at(int fd, std::span<const std::byte> data, std::uint64_t offset,
                      const std::string& path, Faults faults = Faults::off);
// fdatasync (fault point sync_eio).
Result<void> sync_data(int fd, const std::string& path, Faults faults = Faults::off);
// fsync of a directory, so a created, renamed or removed entry is durable.
Result<void> sync_dir(const std::string& dir);
Result<void> truncate_file(const std::string& path, std::uint64_t size);
Result<void> remove_file(const std::string& path);
// Whole small file into a string.
Result<std::string> read_small_file(const std::string& path);
// Writes `content` to `dir`/`name` so that a crash leaves either the old or the new
// file: write a temporary, fsync it, rename over, fsync the directory.
Result<void> write_file_atomically(const std::string& dir, const std::string& name,
                                   std::string_view content);

std::string join_path(std::string_view dir, std::string_view name);

}  // namespace twinmq::store
