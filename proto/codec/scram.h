// scram: SCRAM-SHA-256 (RFC 5802, RFC 7677), both ends, for the handshake's SCRAM mechanism
// (PROTOCOL.md 4.1). The client proves it knows the password without sending it; the
// server proves it holds the keys made from it; the server stores only those keys.
//
// Supported: no channel binding ("n,,"), no authzid, no extensions; user names are taken
// as given (ferry's name rules, no SASLprep), the password's UTF-8 bytes as given.
// Every message error is a short reason (empty = fine) that names no secret.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ferry::scram {

inline constexpr std::string_view mechanism = "SCRAM-SHA-256";
inline constexpr uint32_t min_iterations = 4096;  // RFC 7677 section 4
inline constexpr uint32_t max_iterations = 10'000'000;
inline constexpr uint32_t default_iterations = 4096;
inline constexpr size_t key_bytes = 32;

// What a server stores of a password (RFC 5802 section 3). Binary strings.
struct keys {
  std::string salt;
  uint32_t iterations = 0;
  std::string stored_key;
  std::string server_key;
};

// The keys of `password` with `salt` and `iterations` (PBKDF2-HMAC-SHA-256).
keys derive(std::string_view password, std::string_view salt, uint32_t iterations);
// The keys of `password` with a fresh random 16-byte salt.
keys make_keys(std::string_view password, uint32_t iterations = default_iterations);
// Empty when `k` could be a server's keys (sizes and iteration bounds), else why not.
std::string check_keys(const keys& k);

// Helpers, exposed for the tests and the token code.
std::string random_bytes(size_t n);
std::string random_nonce();  // 18 random bytes, base64: printable and without ','
std::string base64(std::string_view raw);
bool unbase64(std::string_view text, std::string& raw);
std::string sha256(std::string_view data);
bool equal(std::string_view a, std::string_view b);  // constant time for equal sizes

class client {
 public:
  client(std::string user, std::string password, std::string nonce = random_nonce());
  // The client-first-message.
  std::string first() const;
  // From the server-first-message, the client-final-message into `out`.
  std::string final(std::string_view server_first, std::string& out);
  // Checks the server-final-message: the server knew the keys.
  std::string verify(std::string_view server_final) const;

 private:
  std::string user_, password_, nonce_;
  std::string auth_message_;
  std::string server_key_;
};

class server {
 public:
  // The stored keys of `user`; false when there is no such user.
  using lookup = std::function<bool(std::string_view user, keys& out)>;

  // From the client-first-message, the server-first-message into `out`. An unknown user
  // gets a made-up salt and fails only at the final step, so a client cannot tell
  // unknown users from wrong passwords.
  std::string first(std::string_view client_first, const lookup& find, std::string& out,
                    std::string nonce = random_nonce());
  // From the client-final-message, the server-final-message into `out`.
  std::string final(std::string_view client_final, std::string& out);
  // The user named in the client-first-message.
  const std::string& user() const { return user_; }

 private:
  enum class state { initial, sent_first, done };
  state state_ = state::initial;
  bool known_ = false;
  std::string user_;
  std::string gs2_header_;
  std::string nonce_;        // client nonce + server nonce
  std::string auth_prefix_;  // client-first-bare "," server-first ","
  keys keys_;
};

}  // namespace ferry::scram
