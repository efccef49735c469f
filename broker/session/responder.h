// responder: how one request is answered, now or after the work it started completes:
// bound to the client's session and the request's correlation id. Answers to a session
// that closed meanwhile are dropped. Copyable; loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "broker/session/session.h"

namespace ferry::broker {

class responder {
 public:
  responder(session& s, uint64_t correlation_id)
      : session_(s.weak_from_this()), correlation_id_(correlation_id) {}

  uint64_t correlation_id() const { return correlation_id_; }

  void respond(codec::body kind, const google::protobuf::MessageLite& msg) const {
    if (auto s = session_.lock()) s->respond(correlation_id_, kind, msg);
  }
  void error(const ferry::error& err) const {
    if (auto s = session_.lock()) s->respond_error(correlation_id_, err);
  }
  // Sends the error and closes the connection (the peer broke the protocol).
  void fail(errc code, std::string_view message) const {
    if (auto s = session_.lock()) s->fail(correlation_id_, code, message);
  }
  // Either the error or the response `kind` with `ok`.
  template <typename M>
  void answer(const ferry::error& err, codec::body kind, const M& ok) const {
    if (err) {
      error(err);
    } else {
      respond(kind, ok);
    }
  }

 private:
  std::weak_ptr<session> session_;
  uint64_t correlation_id_;
};

}  // namespace ferry::broker
