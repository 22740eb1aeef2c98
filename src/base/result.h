// base/result.h — the error type every fallible twinmq function returns.
//
// Anything that can fail because of input or the environment returns Result<T>
// (std::expected<T, Error>). Each module has its own `enum class Errc`; an Error
// carries that code (as an int, so modules stay independent) plus a message a
// person can act on. We never throw across a libuv callback, so this is the
// only error channel.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace twinmq {

struct Error {
  int code = 0;         // the owning module's Errc value
  std::string message;  // complete sentence for logs, ERROR frames and the CLI
};

template <class T = void>
using Result = std::expected<T, Error>;

// make_error(Errc::x, "what went wrong") -> std::unexpected<Error>, usable as a
// return value for any Result<T>.
template <class E>
std::unexpected<Error> make_error(E code, std::string message) {
  return std::unexpected<Error>(Error{static_cast<int>(code), std::move(message)});
}

}  // namespace twinmq
