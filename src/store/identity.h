// store/identity.h — who a store is: a random 128-bit id made when the store is
// created, and an epoch counter bumped when the store's history forks (a slave
// promoting itself). Every segment header repeats both, so a file from another store
// is never replayed by mistake, and a slave can tell a diverged master from its own.
//
// The identity lives in `<dir>/identity`, a small text file replaced atomically
// (temporary file, fsync, rename, fsync of the directory), so a crash leaves the old
// or the new epoch, never a torn one.
//
// COMPATIBILITY NOTES (identity file, format 1):
//   twinmq-store 1
//   store-id <32 lowercase hex digits>
//   epoch <decimal>
//   crc32c <8 hex digits: CRC-32C of every byte before this line>
// Readers ignore nothing: an unknown first line or a bad checksum is an error.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace twinmq::store {

struct StoreId {
  std::array<std::uint8_t, 16> bytes{};

  static StoreId random();
  static std::optional<StoreId> parse(std::string_view hex);
  std::string to_string() const;  // 32 lowercase hex digits
  bool is_zero() const;
  auto operator<=>(const StoreId&) const = default;
};

struct StoreIdentity {
  StoreId id;
  std::uint64_t epoch = 0;
};

inline constexpr std::string_view kIdentityFileName = "identity";

// nullopt when the directory has no identity file yet (a new store).
Result<std::optional<StoreIdentity>> load_identity(const std::string& dir);
Result<void> save_identity(const std::string& dir, const StoreIdentity& identity);

std::string format_identity(const StoreIdentity& identity);
Result<StoreIdentity> parse_identity(std::string_view text, const std::string& path_for_errors);

}  // namespace twinmq::store
