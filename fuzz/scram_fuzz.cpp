// scram_fuzz: the SCRAM-SHA-256 messages both ends parse (proto/codec/scram.h) and the
// handshake frames that carry them (v1::Hello, v1::AuthResponse).
// The input is two messages separated by the first '\n':
// - the broker's side: part 1 is a client-first-message (server::first, with a lookup
//   that knows "user", password "pencil", RFC 7677's salt), part 2 the client-final-message
//   (server::final);
// - libferry's side: part 1 is a server-first-message (client::final of user "user" with
//   RFC 7677's client nonce), part 2 the server-final-message (client::verify).
// The whole input is also parsed as a Hello and an AuthResponse; their sasl bytes go
// through server::first and server::final as the broker's handshake does.
// Properties: a server that accepts a proof names user "user"; a client that accepts a
// server signature has had a server-first-message accepted.
#include <cstdint>
#include <string>
#include <string_view>

#include "ferry/v1/session.pb.h"

#include "fuzz/fuzz_check.h"
#include "fuzz/quiet_protobuf.h"
#include "proto/codec/scram.h"

namespace scram = ferry::scram;

namespace {

// RFC 7677 section 3.
constexpr std::string_view client_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

const scram::keys& user_keys() {
  static const scram::keys k = [] {
    std::string salt;
    FUZZ_CHECK(scram::unbase64("W22ZaJ0SNY7soEsUEjb6gQ==", salt));
    return scram::derive("pencil", salt, 4096);
  }();
  return k;
}

const scram::server::lookup& lookup() {
  static const scram::server::lookup find = [](std::string_view user, scram::keys& out) {
    if (user != "user") return false;
    out = user_keys();
    return true;
  };
  return find;
}

// client::final runs PBKDF2 with the server's iteration count, up to 10 million (about a
// second each at 1 million): the harness lets through counts up to the minimum, 4096, so
// that an input costs milliseconds at most. What it skips is the same code with a bigger
// loop count in OpenSSL.
bool cheap_iterations(std::string_view server_first) {
  // The third attribute, as client::final reads it.
  for (int i = 0; i < 2; ++i) {
    size_t comma = server_first.find(',');
    if (comma == std::string_view::npos) return true;
    server_first.remove_prefix(comma + 1);
  }
  if (!server_first.starts_with("i=")) return true;
  uint64_t n = 0;
  for (char c : server_first.substr(2)) {
    if (c == ',') break;
    if (c < '0' || c > '9') return true;
    n = n * 10 + static_cast<uint64_t>(c - '0');
    if (n > scram::min_iterations) return false;
  }
  return true;
}

void server_side(std::string_view first, std::string_view final) {
  scram::server s;
  std::string out;
  if (!s.first(first, lookup(), out, std::string(server_nonce)).empty()) return;
  FUZZ_CHECK(out.starts_with("r="));
  FUZZ_CHECK(!s.user().empty());
  std::string out2;
  if (!s.final(final, out2).empty()) return;
  FUZZ_CHECK(s.user() == "user");
  FUZZ_CHECK(out2.starts_with("v="));
  // One try only.
  std::string out3;
  FUZZ_CHECK(!s.final(final, out3).empty());
}

void client_side(std::string_view server_first, std::string_view server_final) {
  scram::client c("user", "pencil", std::string(client_nonce));
  std::string out;
  if (!cheap_iterations(server_first)) return;
  const bool began = c.final(server_first, out).empty();
  if (began) FUZZ_CHECK(out.starts_with("c=biws,r="));
  const bool verified = c.verify(server_final).empty();
  if (verified) FUZZ_CHECK(began && server_final.starts_with("v="));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nl = input.find('\n');
  std::string_view part1 = input.substr(0, nl);
  std::string_view part2 = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  server_side(part1, part2);
  client_side(part1, part2);

  // The handshake frames' bodies, and their sasl bytes as the broker uses them
  // (broker/security/credentials.cpp, protocol/session_handlers.cpp).
  ferry::v1::Hello hello;
  ferry::v1::AuthResponse response;
  const bool hello_ok = hello.ParseFromArray(data, static_cast<int>(size));
  const bool response_ok = response.ParseFromArray(data, static_cast<int>(size));
  if (hello_ok && hello.has_credentials())
    server_side(hello.credentials().sasl(), response_ok ? response.sasl() : std::string());
  return 0;
}
