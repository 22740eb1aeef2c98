// The replication link's challenge-response (auth/challenge.h): the slave's key from
// the password and the master's setting is what the master stores, for every crypt(3)
// method libcrypt takes and for plain text; a proof binds key, nonce and user.
#include <crypt.h>
#include <doctest.h>

#include <memory>
#include <string>

#include "auth/challenge.h"
#include "auth/password.h"

namespace twinmq::auth {
namespace {

std::string crypt_of(const std::string& password, const char* prefix) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn(prefix, 0, nullptr, 0, setting, sizeof setting) != nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), setting, data.get(), sizeof *data);
  REQUIRE(out != nullptr);
  return out;
}

StoredPassword stored(const std::string& text) {
  auto s = StoredPassword::parse(text);
  REQUIRE(s.has_value());
  return *s;
}

}  // namespace

TEST_CASE("challenge: the slave's key is the master's stored form, for plain text and each crypt(3) method") {
  const std::string password = "s3cret pass";
  for (const char* prefix : {"$y$", "$2b$", "$6$", "$7$", "$gy$"}) {  // what StoredPassword::parse takes
    const std::string method = prefix;
    CAPTURE(method);
    const StoredPassword s = stored(crypt_of(password, prefix));
    const std::string setting = challenge_setting(s);
    CHECK(s.text().starts_with(setting));
    CHECK(setting.size() < s.text().size());  // the hash proper is never sent
    auto key = challenge_key(password, setting);
    REQUIRE(key.has_value());
    CHECK(*key == stored_key(s));
    auto wrong = challenge_key(password + "!", setting);
    REQUIRE(wrong.has_value());
    CHECK(*wrong != stored_key(s));
  }
  const StoredPassword plain = stored(password);
  CHECK(challenge_setting(plain).empty());
  CHECK(challenge_key(password, "") == password);
  CHECK(stored_key(plain) == password);
}

TEST_CASE("challenge: an unknown user gets a setting of the decoy's scheme, the same each time, its own salt") {
  for (const char* prefix : {"$y$", "$2b$", "$6$", "$7$", "$gy$"}) {
    const std::string method = prefix;
    CAPTURE(method);
    const StoredPassword decoy = stored(crypt_of("decoy", prefix));
    const std::string a = unknown_user_setting(decoy, "nobody");
    CHECK(a.starts_with(method));
    CHECK(a == unknown_user_setting(decoy, "nobody"));  // a second probe sees the same
    CHECK(a != unknown_user_setting(decoy, "nobody2"));
    CHECK(a != challenge_setting(decoy));  // not the decoy's own salt
    CHECK(challenge_key("guess", a).has_value());  // a slave can answer it (and fail)
  }
  CHECK(unknown_user_setting(stored("plain"), "nobody").empty());
}

TEST_CASE("challenge: bad input to the slave's key is an error, not a crash") {
  CHECK_FALSE(challenge_key(std::string("a\0b", 3), "$6$saltsalt").has_value());
  auto odd = challenge_key("pw", "$unknown$salt");
  REQUIRE_FALSE(odd.has_value());
  CHECK(odd.error().message.find("does not take") != std::string::npos);
}

TEST_CASE("challenge: a proof depends on the key, the nonce and the user, and each nonce is new") {
  const Nonce n1 = random_nonce();
  const Nonce n2 = random_nonce();
  CHECK(n1 != n2);
  const Proof p = challenge_proof("key", n1, "replica");
  CHECK(p == challenge_proof("key", n1, "replica"));
  CHECK(p != challenge_proof("key", n2, "replica"));
  CHECK(p != challenge_proof("kez", n1, "replica"));
  CHECK(p != challenge_proof("key", n1, "replicb"));
}

}  // namespace twinmq::auth
