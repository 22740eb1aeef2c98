// auth/challenge.cc — the replication link's challenge-response (design comment in
// auth/challenge.h).
#include "auth/challenge.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/assert.h"

namespace twinmq::auth {

Nonce random_nonce() {
  Nonce n{};
  TWINMQ_ASSERT(RAND_bytes(n.data(), static_cast<int>(n.size())) == 1, "OpenSSL's random generator failed");
  return n;
}

std::string challenge_setting(const StoredPassword& stored) {
  if (!stored.hashed()) return {};
  const std::string& h = stored.text();
  // bcrypt ($2a$, $2b$, $2y$ + cost + 22 characters of salt) has no '$' before its hash.
  if (h.size() >= 29 && h[0] == '$' && h[1] == '2' && h[3] == '$' && h[6] == '$') return h.substr(0, 29);
  // The other modular crypt formats end their setting at the last '$'.
  const auto last = h.rfind('$');
  return last == std::string::npos ? std::string() : h.substr(0, last);
}

std::string unknown_user_setting(const StoredPassword& decoy, std::string_view user) {
  if (!decoy.hashed()) return {};
  const std::string prefix(hash_prefix(decoy.text()).value_or(""));  // parse() made sure it has one
  static const Nonce secret = random_nonce();
  unsigned char rbytes[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  TWINMQ_ASSERT(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                     reinterpret_cast<const unsigned char*>(user.data()), user.size(), rbytes, &n) != nullptr,
                "HMAC-SHA256 failed");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // libcrypt makes the setting, with our bytes for its salt and its default cost.
  if (crypt_gensalt_rn(prefix.c_str(), 0, reinterpret_cast<const char*>(rbytes), static_cast<int>(n), setting,
                       sizeof setting) == nullptr)
    return challenge_setting(decoy);
  return setting;
}

Result<std::string> challenge_key(std::string_view password, std::string_view setting) {
  if (setting.empty()) return std::string(password);
  const std::string phrase(password);
  if (phrase.find('\0') != std::string::npos)
    return make_error(PasswordErrc::cannot_hash, "the password holds a NUL byte, which crypt(3) cannot take");
  const std::string salt(setting);
  // crypt_data is about 32 KiB: on the heap.
  auto scratch = std::make_unique<crypt_data>();
  const char* out = crypt_rn(phrase.c_str(), salt.c_str(), scratch.get(), sizeof *scratch);
  if (out == nullptr || out[0] == '*')
    return make_error(PasswordErrc::unsupported_hash,
                      "the master's challenge names a password setting this libcrypt does not take ('" + salt + "')");
  return std::string(out);
}

Proof challenge_proof(std::string_view key, std::span<const std::uint8_t> nonce, std::string_view user) {
  // Domain-separated, and the user name bound in: a proof for one user or purpose is
  // not one for another.
  std::string message = "twinmq replication challenge";
  message.push_back('\0');
  message.append(user);
  message.push_back('\0');
  message.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  Proof p{};
  unsigned int len = 0;
  const unsigned char* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                reinterpret_cast<const unsigned char*>(message.data()), message.size(), p.data(), &len);
  TWINMQ_ASSERT(r != nullptr && len == p.size(), "HMAC-SHA256 failed");
  return p;
}

}  // namespace twinmq::auth
