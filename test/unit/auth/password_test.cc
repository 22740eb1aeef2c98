// Passwords: plain text or a crypt(3) hash from Debian's libcrypt; a check on a worker.
#include <crypt.h>
#include <doctest.h>

#include "auth/password.h"
#include "auth/password_check.h"
#include "net/loop.h"

namespace twinmq::auth {

TEST_CASE("hash_password writes yescrypt, and verify takes the right password only") {
  auto hash = hash_password("s3cret");
  REQUIRE(hash.has_value());
  CHECK(hash->starts_with("$y$"));
  CHECK(*hash != *hash_password("s3cret"));  // a fresh salt each time
  auto stored = StoredPassword::parse(*hash);
  REQUIRE(stored.has_value());
  CHECK(stored->hashed());
  CHECK(stored->verify("s3cret"));
  CHECK_FALSE(stored->verify("s3cret "));
  CHECK_FALSE(stored->verify(""));
  CHECK_FALSE(stored->verify(std::string("s3cret\0x", 8)));
  CHECK_FALSE(hash_password(std::string("a\0b", 3)).has_value());
}

TEST_CASE("other crypt(3) methods libcrypt takes: bcrypt $2b$ and SHA-512 $6$") {
  // libcrypt's own crypt("pw", "$6$saltsalt$").
  const char* six = "$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/";
  auto stored = StoredPassword::parse(six);
  REQUIRE(stored.has_value());
  CHECK(stored->hashed());
  CHECK(stored->verify("pw"));
  CHECK_FALSE(stored->verify("not it"));
  // A bcrypt hash made the same way a config would get it.
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 0, nullptr, 0, setting, sizeof setting) != nullptr);
  crypt_data data{};
  const std::string bcrypt = crypt_rn("pw", setting, &data, sizeof data);
  auto b = StoredPassword::parse(bcrypt);
  REQUIRE(b.has_value());
  CHECK(b->verify("pw"));
  CHECK_FALSE(b->verify("pw2"));
}

TEST_CASE("plain text is compared as it is; a $id$ string libcrypt does not take is refused") {
  auto plain = StoredPassword::parse("manager");
  REQUIRE(plain.has_value());
  CHECK_FALSE(plain->hashed());
  CHECK(plain->verify("manager"));
  CHECK_FALSE(plain->verify("manage"));
  CHECK_FALSE(plain->verify("managerr"));
  CHECK(StoredPassword::parse("$money").has_value());  // not "$id$": plain text
  auto argon = StoredPassword::parse("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA");
  REQUIRE_FALSE(argon.has_value());
  CHECK(argon.error().message.find("'$argon2id$...'") != std::string::npos);
  CHECK_FALSE(StoredPassword::parse("$y$garbage").has_value());
}

TEST_CASE("same_secret: equal only for equal bytes and lengths") {
  CHECK(same_secret("abc", "abc"));
  CHECK_FALSE(same_secret("abc", "abd"));
  CHECK_FALSE(same_secret("abc", "ab"));
  CHECK(same_secret("", ""));
}

TEST_CASE("PasswordCheck answers on the loop thread; a cancelled one calls nobody") {
  net::Loop loop;
  auto stored = *StoredPassword::parse(*hash_password("pw"));
  int answers = 0;
  bool right = false, wrong = true;
  PasswordCheck::start(loop, stored, "pw", [&](bool ok) { right = ok, ++answers; });
  PasswordCheck::start(loop, stored, "nope", [&](bool ok) { wrong = ok, ++answers; });
  PasswordCheck* cancelled = PasswordCheck::start(loop, stored, "pw", [&](bool) { ++answers; });
  cancelled->cancel();
  uv_run(loop.uv(), UV_RUN_DEFAULT);
  CHECK(answers == 2);
  CHECK(right);
  CHECK_FALSE(wrong);
  CHECK(loop.shutdown() == 0);
}

}  // namespace twinmq::auth
