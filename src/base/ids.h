// base/ids.h — strong integer ids, so a connection id can never be passed where
// an event sequence is expected.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace twinmq {

template <class Tag, class T = std::uint64_t>
struct StrongId {
  T value{};
  constexpr StrongId() = default;
  constexpr explicit StrongId(T v) : value(v) {}
  constexpr auto operator<=>(const StrongId&) const = default;
  constexpr explicit operator bool() const { return value != T{}; }
};

// Sequence number of a state change in the event log (1, 2, 3, ...; 0 = none).
// The same numbering is written to the journal and streamed to the slave.
using Seq = StrongId<struct SeqTag>;
// A client connection, unique for the life of the process (never reused).
using ConnId = StrongId<struct ConnIdTag>;

}  // namespace twinmq

template <class Tag, class T>
struct std::hash<twinmq::StrongId<Tag, T>> {
  std::size_t operator()(const twinmq::StrongId<Tag, T>& id) const noexcept {
    return std::hash<T>{}(id.value);
  }
};
