// auth/password.cc — crypt(3) through libcrypt (design comment in auth/password.h).
#include "auth/password.h"

#include <crypt.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

namespace twinmq::auth {

std::optional<std::string_view> hash_prefix(std::string_view text) {
  if (text.size() < 3 || text[0] != '$') return std::nullopt;
  const auto end = text.find('$', 1);
  if (end == std::string_view::npos || end == 1) return std::nullopt;
  for (std::size_t i = 1; i < end; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isalnum(c) == 0) return std::nullopt;
  }
  return text.substr(0, end + 1);
}

namespace {

// crypt_data is about 32 KiB: on the heap, not a worker thread's stack.
struct CryptScratch {
  crypt_data data{};
};

}  // namespace

bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Result<StoredPassword> StoredPassword::parse(std::string text) {
  StoredPassword p;
  if (auto prefix = hash_prefix(text)) {
    // crypt_checksalt reads the prefix and the parameters of a whole hash.
    const int check = crypt_checksalt(text.c_str());
    if (check != CRYPT_SALT_OK) {
      return make_error(PasswordErrc::unsupported_hash,
                        "looks like a crypt(3) hash ('" + std::string(*prefix) +
                            "...') but this system's libcrypt does not take it" +
                            (check == CRYPT_SALT_METHOD_LEGACY ? " (a legacy method)" : "") +
                            ": use `twinmq hash-password` (yescrypt, $y$), or $2b$, $6$, $gy$, $7$");
    }
    // crypt_checksalt reads only the method: a cut or mistyped hash would pass it and
    // then lock its user out in silence. Hashing once with it as the setting finds that
    // at start-up (one hash per hashed user, tens of milliseconds each).
    auto scratch = std::make_unique<CryptScratch>();
    const char* out = crypt_rn("", text.c_str(), &scratch->data, sizeof scratch->data);
    if (out == nullptr || out[0] == '*' || std::strlen(out) != text.size())
      return make_error(PasswordErrc::unsupported_hash,
                        "looks like a crypt(3) hash ('" + std::string(*prefix) +
                            "...') but libcrypt cannot use it (cut short, or a typo?): paste the whole output of "
                            "`twinmq hash-password`");
    p.hashed_ = true;
  }
  p.text_ = std::move(text);
  return p;
}

bool StoredPassword::verify(std::string_view presented) const {
  if (!hashed_) return same_secret(text_, presented);
  // crypt(3) takes a C string: a password with a NUL byte cannot be the one hashed.
  if (presented.find('\0') != std::string_view::npos) return false;
  const std::string phrase(presented);
  auto scratch = std::make_unique<CryptScratch>();
  const char* out = crypt_rn(phrase.c_str(), text_.c_str(), &scratch->data, sizeof scratch->data);
  const bool ok = out != nullptr && same_secret(out, text_);
  explicit_bzero(&scratch->data, sizeof scratch->data);
  return ok;
}

Result<std::string> hash_password(std::string_view password) {
  if (password.find('\0') != std::string_view::npos)
    return make_error(PasswordErrc::cannot_hash, "the password holds a NUL byte, which crypt(3) cannot take");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // count 0 = libcrypt's default cost; nullptr random bytes = it reads the OS's.
  if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting) == nullptr)
    return make_error(PasswordErrc::cannot_hash, std::string("crypt_gensalt_rn failed: ") + std::strerror(errno));
  const std::string phrase(password);
  auto scratch = std::make_unique<CryptScratch>();
  const char* out = crypt_rn(phrase.c_str(), setting, &scratch->data, sizeof scratch->data);
  if (out == nullptr || out[0] == '*')
    return make_error(PasswordErrc::cannot_hash, std::string("crypt_rn failed: ") + std::strerror(errno));
  std::string hash(out);
  explicit_bzero(&scratch->data, sizeof scratch->data);
  return hash;
}

}  // namespace twinmq::auth
