#include "net/handle.h"

#include "net/loop.h"

namespace twinmq::net {

HandleBase::HandleBase(Loop& loop) : loop_(loop) { loop_.register_handle(this); }

HandleBase::~HandleBase() { loop_.unregister_handle(this); }

void HandleBase::close_handle(uv_handle_t* h) {
  closing_ = true;
  uv_close(h, &HandleBase::on_closed);
}

void HandleBase::on_closed(uv_handle_t* h) noexcept { delete static_cast<HandleBase*>(h->data); }

}  // namespace twinmq::net
