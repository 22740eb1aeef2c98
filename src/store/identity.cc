#include "store/identity.h"

#include <sys/random.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "base/crc32c.h"
#include "store/errors.h"
#include "store/file_io.h"

namespace twinmq::store {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Next "key value" line of `text`, advancing it.
bool next_line(std::string_view& text, std::string_view& key, std::string_view& value) {
  const std::size_t nl = text.find('\n');
  if (nl == std::string_view::npos) return false;
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl + 1);
  const std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  key = line.substr(0, sp);
  value = line.substr(sp + 1);
  return true;
}

}  // namespace

StoreId StoreId::random() {
  StoreId id;
  std::size_t got = 0;
  while (got < id.bytes.size()) {
    ssize_t n = ::getrandom(id.bytes.data() + got, id.bytes.size() - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
    // EINTR: try again; the kernel's pool is always initialised long after boot.
  }
  return id;
}

std::optional<StoreId> StoreId::parse(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  StoreId id;
  for (std::size_t i = 0; i < 16; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return id;
}

std::string StoreId::to_string() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(32);
  for (std::uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

bool StoreId::is_zero() const {
  for (std::uint8_t b : bytes)
    if (b != 0) return false;
  return true;
}

std::string format_identity(const StoreIdentity& identity) {
  std::string body = "twinmq-store 1\nstore-id " + identity.id.to_string() + "\nepoch " +
                     std::to_string(identity.epoch) + "\n";
  char crc[16];
  std::snprintf(crc, sizeof(crc), "%08x", crc32c(body));
  return body + "crc32c " + crc + "\n";
}

Result<StoreIdentity> parse_identity(std::string_view text, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::bad_identity, "identity file " + path + " is damaged: " + why);
  };
  const std::size_t crc_at = text.rfind("crc32c ");
  if (crc_at == std::string_view::npos) return bad("no crc32c line");
  std::string_view rest = text;
  std::string_view key, value;
  if (!next_line(rest, key, value) || key != "twinmq-store") return bad("first line is not 'twinmq-store <version>'");
  if (value != "1") return make_error(Errc::unsupported_version,
                                      "identity file " + path + " has format " + std::string(value) +
                                          "; this twinmq reads format 1");
  StoreIdentity id;
  if (!next_line(rest, key, value) || key != "store-id") return bad("no store-id line");
  auto sid = StoreId::parse(value);
  if (!sid) return bad("store-id is not 32 hex digits");
  id.id = *sid;
  if (!next_line(rest, key, value) || key != "epoch") return bad("no epoch line");
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), id.epoch);
  if (ec != std::errc{} || p != value.data() + value.size()) return bad("epoch is not a number");
  if (!next_line(rest, key, value) || key != "crc32c" || !rest.empty()) return bad("unexpected lines");
  std::uint32_t want = 0;
  auto [q, ec2] = std::from_chars(value.data(), value.data() + value.size(), want, 16);
  if (ec2 != std::errc{} || q != value.data() + value.size()) return bad("crc32c is not hex");
  const std::uint32_t got = crc32c(text.substr(0, crc_at));
  if (got != want) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "checksum mismatch (expected %08x, found %08x)", want, got);
    return bad(buf);
  }
  return id;
}

Result<std::optional<StoreIdentity>> load_identity(const std::string& dir) {
  const std::string path = join_path(dir, kIdentityFileName);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<StoreIdentity>{};
  auto text = read_small_file(path);
  if (!text) return std::unexpected(text.error());
  auto id = parse_identity(*text, path);
  if (!id) return std::unexpected(id.error());
  return std::optional<StoreIdentity>(*id);
}

Result<void> save_identity(const std::string& dir, const StoreIdentity& identity) {
  return write_file_atomically(dir, std::string(kIdentityFileName), format_identity(identity));
}

}  // namespace twinmq::store
