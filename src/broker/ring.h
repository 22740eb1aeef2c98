// broker/ring.h — Ring<T>: a growable circular buffer with index access.
//
// Why not std::deque: libstdc++'s deque allocates a 512-byte block and its map as
// soon as it is constructed, and a queue holds ten priority lanes; most lanes of most
// destinations are empty, and an empty Ring owns no memory. Ring also supports a
// cheap insert near either end (returned messages go near the front) and an in-place,
// order-keeping erase_if (compaction of tombstones).
//
// Slots hold default-constructed T's when unused, so T must be cheap to default
// construct and move (MessageRef, small structs). A popped slot is reset to T{} at
// once, so a MessageRef in a ring never outlives its logical removal.
//
// Lifecycle: owned by value by its container object; loop thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace twinmq::broker {

template <class T>
class Ring {
 public:
  Ring() = default;
  Ring(Ring&&) noexcept = default;
  Ring& operator=(Ring&&) noexcept = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  T& operator[](std::size_t i) { return buf_[slot(i)]; }
  const T& operator[](std::size_t i) const { return buf_[slot(i)]; }
  T& front() { return buf_[head_]; }
  const T& front() const { return buf_[head_]; }
  T& back() { return (*this)[size_ - 1]; }
  const T& back() const { return (*this)[size_ - 1]; }

  void push_back(T v) {
    if (size_ == cap_) grow();
    (*this)[size_] = std::move(v);
    ++size_;
  }

  void push_front(T v) {
    if (size_ == cap_) grow();
    head_ = head_ == 0 ? cap_ - 1 : head_ - 1;
    buf_[head_] = std::move(v);
    ++size_;
  }

  void pop_front() {
    buf_[head_] = T{};
    head_ = head_ + 1 == cap_ ? 0 : head_ + 1;
    --size_;
    if (size_ == 0) release_if_large();
  }

  void pop_back() {
    (*this)[size_ - 1] = T{};
    --size_;
    if (size_ == 0) release_if_large();
  }

  // Inserts before position `pos` (0..size()), moving the shorter side.
  void insert(std::size_t pos, T v) {
    if (pos == 0) return push_front(std::move(v));
    if (pos == size_) return push_back(std::move(v));
    if (pos < size_ / 2) {
      push_front(T{});
      for (std::size_t i = 0; i < pos; ++i) (*this)[i] = std::move((*this)[i + 1]);
    } else {
      push_back(T{});
      for (std::size_t i = size_ - 1; i > pos; --i) (*this)[i] = std::move((*this)[i - 1]);
    }
    (*this)[pos] = std::move(v);
  }

  // Removes every element for which pred(elem) holds, keeping the others' order.
  // `on_keep(old_index, new_index)` lets the owner remap a cursor. Returns the count removed.
  template <class Pred, class OnKeep>
  std::size_t erase_if(Pred pred, OnKeep on_keep) {
    std::size_t out = 0;
    for (std::size_t in = 0; in < size_; ++in) {
      T& e = (*this)[in];
      if (pred(e)) continue;
      on_keep(in, out);
      if (out != in) (*this)[out] = std::move(e);
      ++out;
    }
    const std::size_t removed = size_ - out;
    for (std::size_t i = out; i < size_; ++i) (*this)[i] = T{};
    size_ = out;
    if (size_ == 0) release_if_large();
    return removed;
  }

  void clear() {
    buf_.reset();
    cap_ = head_ = size_ = 0;
  }

  // First index whose key(elem) is not less than `k` (elements sorted by key).
  template <class Key, class KeyOf>
  std::size_t lower_bound(const Key& k, KeyOf key_of) const {
    std::size_t lo = 0, hi = size_;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (key_of((*this)[mid]) < k)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }

 private:
  static constexpr std::size_t kInitialCapacity = 8;
  // A drained ring keeps a small buffer (a busy queue empties and refills constantly)
  // but gives back a large one: 100k queued messages leave no 2 MiB ring behind.
  static constexpr std::size_t kKeepCapacity = 1024;

  // Slot of index i: head_ and i are both below cap_, so one subtraction wraps it.
  std::size_t slot(std::size_t i) const {
    const std::size_t s = head_ + i;
    return s >= cap_ ? s - cap_ : s;
  }

  // By half again, not double: a queue of millions of (paged) entries keeps at most a
  // third of its ring unused instead of half, and growing holds 2.5 times the entries
  // for a moment instead of 3.
  void grow() {
    const std::size_t cap = cap_ == 0 ? kInitialCapacity : cap_ + cap_ / 2;
    std::unique_ptr<T[]> buf(new T[cap]);
    for (std::size_t i = 0; i < size_; ++i) buf[i] = std::move((*this)[i]);
    buf_ = std::move(buf);
    cap_ = cap;
    head_ = 0;
  }

  void release_if_large() {
    head_ = 0;
    if (cap_ > kKeepCapacity) clear();
  }

  std::unique_ptr<T[]> buf_;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace twinmq::broker
