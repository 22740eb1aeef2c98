// base64 as etcd's gateway writes it (Go's base64.StdEncoding): RFC 4648 vectors,
// round trips of every length and every byte value, and strict refusals.
#include <doctest.h>

#include <random>
#include <string>

#include "base/base64.h"

using namespace twinmq;

TEST_CASE("base64: RFC 4648 test vectors") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
  }
}

TEST_CASE("base64: every byte value and every length round-trips") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(base64_decode(base64_encode(all)) == all);

  std::mt19937 rng(42);
  for (std::size_t len = 0; len <= 100; ++len) {
    std::string bytes(len, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    const std::string text = base64_encode(bytes);
    CAPTURE(len);
    CHECK(text.size() == (len + 2) / 3 * 4);
    CHECK(base64_decode(text) == bytes);
  }
}

TEST_CASE("base64: the alphabet's last two characters and binary keys") {
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64_decode("+/8=") == std::optional<std::string>("\xfb\xff"));
  CHECK(base64_encode(std::string("\0a\0", 3)) == "AGEA");
}

TEST_CASE("base64: unpadded input is accepted (Go's RawStdEncoding)") {
  CHECK(base64_decode("Zg") == std::optional<std::string>("f"));
  CHECK(base64_decode("Zm8") == std::optional<std::string>("fo"));
}

TEST_CASE("base64: malformed input is refused") {
  for (const char* bad : {"Z", "Zg=", "Z===", "====", "Zm9v=", "Zg==Zg==", "Zm=v", "Zm9v!", "Zm9 v", "Zm9v\n",
                          "Zh==",  // bits the padding says are unused are not zero
                          "Zm9=",  // likewise for one '='
                          "Zm9vY"}) {
    CAPTURE(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
}
