// admin/request_args.h — what the admin API reads from a request besides its method:
// percent-decoded path segments, query parameters, a bounded number, HTTP Basic
// credentials. Pure functions over the text the client sent, so each is unit-tested
// with the bad input a client can send (test/unit/admin/request_args_test.cc).
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace twinmq::admin {

enum class ArgsErrc { ok = 0, bad_escape, missing, not_a_number, out_of_range };

// "%2Fqueue%2Fa" -> "/queue/a". '+' stays '+' (it means a space only in forms). Error:
// a '%' not followed by two hex digits, or an escaped NUL.
Result<std::string> percent_decode(std::string_view text);

// The decoded value of `name` in a query string "a=1&b=2" (the first one); nullopt when
// absent; an error when its value is badly escaped.
Result<std::optional<std::string>> query_param(std::string_view query, std::string_view name);

// Parameter `name` as a whole number in [min, max]; `fallback` when absent. The error
// names the parameter and the range.
Result<std::uint64_t> query_number(std::string_view query, std::string_view name, std::uint64_t fallback,
                                   std::uint64_t min, std::uint64_t max);

struct BasicCredentials {
  std::string user;
  std::string password;
};

// The value of an Authorization header: "Basic base64(user:password)" (the scheme
// name in any case). nullopt for any other scheme or for text that is not that.
std::optional<BasicCredentials> parse_basic_auth(std::string_view header);

// A destination named in a URL path segment, decoded: "orders" -> "/queue/orders"
// (kind "queue" or "topic"); a name that itself starts with '/' (written %2F...) is
// taken whole, so "/temp-queue/x" can be named too.
Result<std::string> destination_from_segment(std::string_view segment, std::string_view kind);

}  // namespace twinmq::admin
