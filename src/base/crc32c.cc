#include "base/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace twinmq {

namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;  // Castagnoli, reflected

// Slice-by-8 tables: kTables[k][b] is the CRC of byte b followed by k zero bytes.
constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
    t[0][b] = c;
  }
  for (std::uint32_t b = 0; b < 256; ++b) {
    for (std::size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}

constexpr auto kTables = make_tables();

std::uint32_t crc_table(const unsigned char* p, std::size_t n, std::uint32_t crc) {
  crc = ~crc;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian hosts only (x86-64, aarch64)
    v ^= crc;
    crc = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
          kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^
          kTables[2][(v >> 40) & 0xFF] ^ kTables[1][(v >> 48) & 0xFF] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xFFu];
  return ~crc;
}

#if defined(__x86_64__)
// Advancing a CRC register over `len` zero bytes is linear in the register, so it is
// four table lookups for a fixed `len`: kShift[k][b] is the register b << 8k after
// `len` zero bytes (built at compile time from kTables, so no caller can see them
// unfilled during static initialisation). Linearity builds it cheaply too: only the 32
// one-bit registers are advanced byte by byte, and every entry is the XOR of those of
// its bits (stepping all 1,024 entries over 256 bytes exceeded clang's constexpr limit).
struct ZeroShift {
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  constexpr explicit ZeroShift(std::size_t len) {
    std::array<std::uint32_t, 32> bit{};
    for (std::uint32_t j = 0; j < 32; ++j) {
      std::uint32_t c = 1u << j;
      for (std::size_t i = 0; i < len; ++i) c = (c >> 8) ^ kTables[0][c & 0xFFu];
      bit[j] = c;
    }
    for (std::uint32_t k = 0; k < 4; ++k) {
      for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t c = 0;
        for (std::uint32_t j = 0; j < 8; ++j)
          if ((b >> j) & 1u) c ^= bit[8 * k + j];
        t[k][b] = c;
      }
    }
  }
  std::uint32_t operator()(std::uint32_t c) const {
    return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF] ^ t[3][c >> 24];
  }
};

// Three interleaved streams: the crc32 instruction takes 3 cycles but can start one
// per cycle, so one dependent chain uses a third of it. A block of 3 * kLong (or
// kShort) bytes is split in three lanes; lane A continues the CRC, B and C start from
// zero, and the three are joined with the zero-shift: crc(A|B) = shift(crc(A), |B|) ^
// crc0(B). A journal record of a 1 KiB message is mostly one long block.
constexpr std::size_t kLong = 256, kShort = 32;
constexpr ZeroShift kShiftLong(kLong), kShiftShort(kShort);

__attribute__((target("sse4.2"))) std::uint64_t lanes3(const unsigned char* p, std::size_t lane,
                                                       std::uint64_t c, const ZeroShift& shift) {
  std::uint64_t c1 = 0, c2 = 0;
  for (std::size_t i = 0; i < lane; i += 8) {
    std::uint64_t a, b, d;
    std::memcpy(&a, p + i, 8);
    std::memcpy(&b, p + lane + i, 8);
    std::memcpy(&d, p + 2 * lane + i, 8);
    c = _mm_crc32_u64(c, a);
    c1 = _mm_crc32_u64(c1, b);
    c2 = _mm_crc32_u64(c2, d);
  }
  const std::uint32_t ab = shift(static_cast<std::uint32_t>(c)) ^ static_cast<std::uint32_t>(c1);
  return shift(ab) ^ static_cast<std::uint32_t>(c2);
}

// Compiled for SSE4.2 on its own, so the rest of the binary stays baseline x86-64
// and this is only called after the CPU check.
__attribute__((target("sse4.2"))) std::uint32_t crc_sse42(const unsigned char* p, std::size_t n,
                                                           std::uint32_t crc) {
  std::uint64_t c = ~crc;
  while (n >= 3 * kLong) {
    c = lanes3(p, kLong, c, kShiftLong);
    p += 3 * kLong;
    n -= 3 * kLong;
  }
  while (n >= 3 * kShort) {
    c = lanes3(p, kShort, c, kShiftShort);
    p += 3 * kShort;
    n -= 3 * kShort;
  }
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

bool detect_sse42() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
const bool kHaveSse42 = detect_sse42();
#else
const bool kHaveSse42 = false;
#endif

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  if (kHaveSse42) return crc_sse42(p, size, crc);
#endif
  return crc_table(p, size, crc);
}

std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc) {
  return crc_table(static_cast<const unsigned char*>(data), size, crc);
}

bool crc32c_hardware_available() { return kHaveSse42; }

}  // namespace twinmq
