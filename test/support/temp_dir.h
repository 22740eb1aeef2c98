// test/support/temp_dir.h — a private scratch directory for one test, removed with
// everything in it when the TempDir goes away (kept when TWINMQ_KEEP_TMP is set, so a
// failing test's config and broker logs can be read afterwards).
//
// Lifecycle: owned by the test (usually via BrokerProcess); test thread only.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace twinmq::test {

class TempDir {
 public:
  // Creates /tmp/twinmq-test-<prefix>-XXXXXX (or under $TMPDIR). Throws on failure.
  explicit TempDir(std::string_view prefix = "t");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

  // Writes `text` to path()/name (creating parent directories) and returns the full path.
  std::filesystem::path write_file(std::string_view name, std::string_view text) const;

 private:
  std::filesystem::path path_;
};

// The whole content of a file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& file);

}  // namespace twinmq::test
