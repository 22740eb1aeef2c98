// base/crc32c.h — CRC-32C (Castagnoli), the checksum of every journal record and
// segment header (store/record_format.h).
//
// Castagnoli rather than the zlib CRC-32 because x86 has an instruction for it
// (SSE4.2 crc32), run as three interleaved streams joined by a table-driven zero
// shift (crc32c.cc): the instruction's 3-cycle latency would otherwise leave two thirds
// of it idle. Checking a 1 KiB record costs far less than decoding it; it is still the
// largest part of an index-only recovery (store/recovery.h), which checks every byte.
// The hardware path is chosen once at start-up (__builtin_cpu_supports); machines
// without SSE4.2 use a slice-by-8 table. Both give identical results (the unit tests
// hold both to the RFC 3720 test vectors).
//
// Stateless and thread-safe: the journal's writer thread and the loop call it alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace twinmq {

// Continues a CRC: crc32c(b, crc32c(a)) == crc32c(a + b). Start with 0.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);

inline std::uint32_t crc32c(std::string_view s, std::uint32_t crc = 0) {
  return crc32c(s.data(), s.size(), crc);
}
inline std::uint32_t crc32c(std::span<const std::byte> s, std::uint32_t crc = 0) {
  return crc32c(s.data(), s.size(), crc);
}

// The portable table version and whether the hardware one is in use (tests compare them).
std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc = 0);
bool crc32c_hardware_available();

}  // namespace twinmq
