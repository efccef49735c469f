// SCRAM-SHA-256 against an independent implementation: GNU SASL (libgsasl, Debian's
// libgsasl-dev). Its keys for a password equal ours; its client logs in to our server,
// our client to its server, both proving and verifying; its client with a wrong password
// is refused by ours.
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <gsasl.h>

#include "proto/codec/scram.h"

namespace scram = ferry::scram;

namespace {

struct gsasl_context {
  Gsasl* ctx = nullptr;
  gsasl_context() { REQUIRE(gsasl_init(&ctx) == GSASL_OK); }
  ~gsasl_context() { gsasl_done(ctx); }
};

struct gsasl_session {
  Gsasl_session* s = nullptr;
  ~gsasl_session() {
    if (s) gsasl_finish(s);
  }
};

// One step of a libgsasl session: its output for `in`, and its return code.
int step(Gsasl_session* s, const std::string& in, std::string& out) {
  char* raw = nullptr;
  size_t n = 0;
  int rc = gsasl_step(s, in.data(), in.size(), &raw, &n);
  out.assign(raw ? raw : "", raw ? n : 0);
  gsasl_free(raw);
  return rc;
}

std::string password_for_server;  // the gsasl server's callback reads it

int server_callback(Gsasl*, Gsasl_session* s, Gsasl_property prop) {
  if (prop == GSASL_PASSWORD)
    return gsasl_property_set(s, GSASL_PASSWORD, password_for_server.c_str());
  return GSASL_NO_CALLBACK;
}

}  // namespace

TEST_CASE("scram: libgsasl derives the same keys from a password") {
  const std::string salt = scram::random_bytes(16);
  auto ours = scram::derive("pencil", salt, 4096);
  char salted[32], client_key[32], server_key[32], stored_key[32];
  REQUIRE(gsasl_scram_secrets_from_password(GSASL_HASH_SHA256, "pencil", 4096, salt.data(),
                                            salt.size(), salted, client_key, server_key,
                                            stored_key) == GSASL_OK);
  CHECK(ours.stored_key == std::string(stored_key, 32));
  CHECK(ours.server_key == std::string(server_key, 32));
}

TEST_CASE("scram: libgsasl's client logs in to our server, and a wrong password does not") {
  gsasl_context g;
  auto keys = scram::make_keys("pencil");
  auto lookup = [&](std::string_view user, scram::keys& out) {
    if (user != "alice") return false;
    out = keys;
    return true;
  };
  for (const std::string password : {"pencil", "crayon"}) {
    INFO("password " << password);
    gsasl_session c;
    REQUIRE(gsasl_client_start(g.ctx, "SCRAM-SHA-256", &c.s) == GSASL_OK);
    gsasl_property_set(c.s, GSASL_AUTHID, "alice");
    gsasl_property_set(c.s, GSASL_PASSWORD, password.c_str());
    std::string client_first, client_final, server_first, server_final;
    REQUIRE(step(c.s, "", client_first) == GSASL_NEEDS_MORE);
    scram::server s;
    REQUIRE(s.first(client_first, lookup, server_first).empty());
    CHECK(s.user() == "alice");
    REQUIRE(step(c.s, server_first, client_final) == GSASL_NEEDS_MORE);
    auto why = s.final(client_final, server_final);
    if (password == "pencil") {
      REQUIRE(why.empty());
      std::string none;
      CHECK(step(c.s, server_final, none) == GSASL_OK);  // it checked our signature
    } else {
      CHECK(why == "authentication failed");
    }
  }
}

TEST_CASE("scram: our client logs in to libgsasl's server and checks its signature") {
  gsasl_context g;
  gsasl_callback_set(g.ctx, server_callback);
  password_for_server = "pencil";
  gsasl_session srv;
  REQUIRE(gsasl_server_start(g.ctx, "SCRAM-SHA-256", &srv.s) == GSASL_OK);
  scram::client c("alice", "pencil");
  std::string server_first, client_final, server_final;
  REQUIRE(step(srv.s, c.first(), server_first) == GSASL_NEEDS_MORE);
  REQUIRE(c.final(server_first, client_final).empty());
  REQUIRE(step(srv.s, client_final, server_final) == GSASL_OK);  // it accepted our proof
  CHECK(c.verify(server_final).empty());
  CHECK(std::string(gsasl_property_fast(srv.s, GSASL_AUTHID)) == "alice");
}
