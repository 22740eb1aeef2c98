// CRC-32C: the RFC 3720 (iSCSI) test vectors, the hardware and table versions agreeing
// at every length and alignment, and incremental use.
#include <doctest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "base/crc32c.h"

using namespace twinmq;

TEST_CASE("crc32c matches the RFC 3720 test vectors") {
  std::vector<std::uint8_t> b(32);
  std::fill(b.begin(), b.end(), 0x00);
  CHECK(crc32c(b.data(), b.size()) == 0x8A9136AAu);
  std::fill(b.begin(), b.end(), 0xFF);
  CHECK(crc32c(b.data(), b.size()) == 0x62A8AB43u);
  std::iota(b.begin(), b.end(), 0);
  CHECK(crc32c(b.data(), b.size()) == 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) b[i] = static_cast<std::uint8_t>(31 - i);
  CHECK(crc32c(b.data(), b.size()) == 0x113FDB5Cu);
  CHECK(crc32c(std::string_view("123456789")) == 0xE3069283u);
  // An iSCSI SCSI Read (10) command PDU.
  const std::uint8_t pdu[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                                0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  CHECK(crc32c(pdu, sizeof(pdu)) == 0xD9963A56u);
  CHECK(crc32c(nullptr, 0) == 0u);
}

TEST_CASE("crc32c: hardware and table versions agree at every length and alignment") {
  // Long enough for the three-lane blocks (3 x 256 and 3 x 32 bytes) and their tails.
  std::vector<std::uint8_t> data(2000);
  std::uint32_t x = 12345;
  for (auto& v : data) {
    x = x * 1103515245u + 12345u;
    v = static_cast<std::uint8_t>(x >> 16);
  }
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t len = 0; start + len <= data.size(); len += 7) {
      CHECK(crc32c(data.data() + start, len) == crc32c_portable(data.data() + start, len));
    }
  }
  const std::string hw = crc32c_hardware_available() ? "yes" : "no";
  MESSAGE("hardware crc32c: " << hw);
}

TEST_CASE("crc32c continues across pieces") {
  const std::string s = "The quick brown fox jumps over the lazy dog, twice over the lazy dog.";
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    const std::uint32_t first = crc32c(std::string_view(s).substr(0, cut));
    CHECK(crc32c(std::string_view(s).substr(cut), first) == crc32c(std::string_view(s)));
  }
}
