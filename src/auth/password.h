// auth/password.h — a configured password: plain text or a crypt(3) hash, and the
// check of what a client presented against it.
//
// Hashes are whatever Debian's libcrypt (libxcrypt) takes: yescrypt `$y$` (what
// `twinmq hash-password` writes), `$gy$`, `$7$`, bcrypt `$2b$`, SHA-crypt `$6$` (it
// refuses `$5$` and `$1$` as legacy methods: crypt_checksalt).
// No hashing is our own: crypt_rn computes, crypt_gensalt_rn makes the setting.
//
// A stored value that looks like a hash (`$id$...`) but that libcrypt does not accept
// (a typo, or `$argon2id$`, which this libcrypt does not implement) is a configuration
// error, never silently a plain-text password; so is a hash that is cut short or
// mistyped (parse() hashes once with it to find out).
//
// Cost: verify() of a hash is slow by design (yescrypt: tens of milliseconds). It is
// a blocking call for a worker thread (auth/password_check.h), never the loop.
// Comparisons of the final strings run in constant time for equal lengths.
//
// Pure functions and values; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace twinmq::auth {

enum class PasswordErrc { ok = 0, unsupported_hash, cannot_hash };

class StoredPassword {
 public:
  StoredPassword() = default;
  // Classifies `text` as written in <authenticationUser password="...">. Error:
  // it looks like a crypt(3) string this libcrypt does not take (the message says why).
  static Result<StoredPassword> parse(std::string text);

  bool hashed() const { return hashed_; }
  const std::string& text() const { return text_; }
  // Blocking for hashes (see the cost note above).
  bool verify(std::string_view presented) const;

 private:
  std::string text_;
  bool hashed_ = false;
};

// A new yescrypt hash of `password` with a fresh random salt (crypt_gensalt_rn with
// libcrypt's default cost). Error: the password holds a NUL byte, or libcrypt failed.
Result<std::string> hash_password(std::string_view password);

// The method prefix of a crypt(3) string, "$id$" with an alphanumeric id (the "modular
// crypt format"); nullopt when `text` is not of that form.
std::optional<std::string_view> hash_prefix(std::string_view text);

// Equal contents, in time that depends only on the lengths.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace twinmq::auth
