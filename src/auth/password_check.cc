// auth/password_check.cc — uv_queue_work around StoredPassword::verify.
#include "auth/password_check.h"

#include <string.h>

#include "base/assert.h"

namespace twinmq::auth {

PasswordCheck::PasswordCheck(StoredPassword stored, std::string presented, Done done)
    : stored_(std::move(stored)), presented_(std::move(presented)), done_(std::move(done)) {
  req_.data = this;
}

PasswordCheck::~PasswordCheck() { explicit_bzero(presented_.data(), presented_.size()); }

PasswordCheck* PasswordCheck::start(net::Loop& loop, StoredPassword stored, std::string presented, Done done) {
  auto* check = new PasswordCheck(std::move(stored), std::move(presented), std::move(done));
  const int rc = uv_queue_work(loop.uv(), &check->req_, &PasswordCheck::work, &PasswordCheck::after_work);
  TWINMQ_ASSERT(rc == 0, "uv_queue_work cannot fail with valid arguments");
  return check;
}

void PasswordCheck::work(uv_work_t* req) noexcept {
  auto* self = static_cast<PasswordCheck*>(req->data);
  self->ok_ = self->stored_.verify(self->presented_);
}

void PasswordCheck::after_work(uv_work_t* req, int status) noexcept {
  auto* self = static_cast<PasswordCheck*>(req->data);
  Done done = std::move(self->done_);
  const bool ok = status == 0 && self->ok_;
  delete self;
  if (done) done(ok);
}

}  // namespace twinmq::auth
