// net/handle.h — the ownership rule for every libuv handle (ARCHITECTURE.md "How we write code").
//
//  - A handle lives by value inside a heap object that is non-copyable and
//    non-movable; handle.data points at that object.
//  - The object is freed only in its close callback (never by `delete` from outside,
//    and a destructor never calls uv_close). Owners call close(), which is idempotent.
//  - Owners hold a HandlePtr<T>: a unique_ptr whose deleter calls close(), so dropping
//    the owner closes the handle and libuv frees the object when it is safe.
//  - While open, every handle object is registered with its Loop, so Loop::shutdown()
//    can close whatever is left through the same path.
#pragma once

#include <uv.h>

#include <memory>

namespace twinmq::net {

class Loop;

class HandleBase {
 public:
  HandleBase(const HandleBase&) = delete;
  HandleBase& operator=(const HandleBase&) = delete;

  // Idempotent. After close() no user callback fires again.
  virtual void close() = 0;
  bool closing() const { return closing_; }

 protected:
  explicit HandleBase(Loop& loop);
  virtual ~HandleBase();

  // Starts uv_close on `h`; the object deletes itself in the close callback.
  void close_handle(uv_handle_t* h);

  Loop& loop_;
  bool closing_ = false;

 private:
  static void on_closed(uv_handle_t* h) noexcept;
};

// handle.data always holds the owning object as a HandleBase* (set with
// bind_handle), so the close callback can delete it through the virtual destructor.
template <class H>
void bind_handle(H* h, HandleBase* owner) {
  h->data = owner;
}
template <class D, class H>
D* owner_of(H* h) {
  return static_cast<D*>(static_cast<HandleBase*>(h->data));
}

template <class T>
struct CloseDeleter {
  void operator()(T* t) const noexcept { t->close(); }
};

template <class T>
using HandlePtr = std::unique_ptr<T, CloseDeleter<T>>;

}  // namespace twinmq::net
