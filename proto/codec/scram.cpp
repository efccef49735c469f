#include "proto/codec/scram.h"

#include <stdexcept>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace ferry::scram {
namespace {

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), u8(data), data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a);
  for (size_t i = 0; i < out.size() && i < b.size(); ++i)
    out[i] = static_cast<char>(out[i] ^ b[i]);
  return out;
}

// "a=1,b=2" -> attributes in order; false when an item is not "x=value".
bool split_attributes(std::string_view msg, std::vector<std::pair<char, std::string_view>>& out) {
  size_t pos = 0;
  while (pos <= msg.size()) {
    size_t comma = msg.find(',', pos);
    std::string_view item =
        msg.substr(pos, comma == std::string_view::npos ? msg.npos : comma - pos);
    if (item.size() < 2 || item[1] != '=') return false;
    out.emplace_back(item[0], item.substr(2));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return true;
}

// saslname: "=2C" is ',', "=3D" is '='; any other '=' is an error.
bool decode_saslname(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out += in[i];
      continue;
    }
    std::string_view esc = in.substr(i + 1, 2);
    if (esc == "2C")
      out += ',';
    else if (esc == "3D")
      out += '=';
    else
      return false;
    i += 2;
  }
  return !out.empty();
}

std::string encode_saslname(std::string_view in) {
  std::string out;
  for (char c : in) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out += c;
  }
  return out;
}

bool printable_nonce(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n)
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  return true;
}

// Made-up keys for a user that does not exist: the same user gets the same salt for the
// life of the process, so asking twice does not tell, and the proof is checked against
// them the same way, so the time taken does not tell either.
keys decoy_keys(std::string_view user) {
  static const std::string secret = random_bytes(32);
  std::string u(user);
  return keys{hmac(secret, "salt:" + u).substr(0, 16), default_iterations,
              hmac(secret, "stored:" + u), hmac(secret, "server:" + u)};
}

// Hi(password, salt, i) of RFC 5802: PBKDF2-HMAC-SHA-256.
std::string salted_password(std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string out(key_bytes, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), u8(salt),
                    static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                    static_cast<int>(key_bytes), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string random_nonce() {
  return base64(random_bytes(18));
}

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), u8(raw),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool unbase64(std::string_view text, std::string& raw) {
  if (text.size() % 4 != 0) return false;
  raw.assign(text.size() / 4 * 3, '\0');
  if (text.empty()) return true;
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()), u8(text),
                          static_cast<int>(text.size()));
  if (n < 0) return false;
  size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  raw.resize(static_cast<size_t>(n) - pad);
  return true;
}

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(u8(data), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

bool equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

keys derive(std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string salted = salted_password(password, salt, iterations);
  keys k;
  k.salt = std::string(salt);
  k.iterations = iterations;
  k.stored_key = sha256(hmac(salted, "Client Key"));
  k.server_key = hmac(salted, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  return k;
}

keys make_keys(std::string_view password, uint32_t iterations) {
  return derive(password, random_bytes(16), iterations);
}

std::string check_keys(const keys& k) {
  if (k.salt.size() < 16) return "the salt must have at least 16 bytes";
  if (k.iterations < min_iterations || k.iterations > max_iterations)
    return "iterations must be between " + std::to_string(min_iterations) + " and " +
           std::to_string(max_iterations);
  if (k.stored_key.size() != key_bytes || k.server_key.size() != key_bytes)
    return "stored_key and server_key must have 32 bytes each";
  return {};
}

// ---- client ----

client::client(std::string user, std::string password, std::string nonce)
    : user_(std::move(user)), password_(std::move(password)), nonce_(std::move(nonce)) {}

std::string client::first() const {
  return "n,,n=" + encode_saslname(user_) + ",r=" + nonce_;
}

std::string client::final(std::string_view server_first, std::string& out) {
  std::vector<std::pair<char, std::string_view>> attrs;
  if (!split_attributes(server_first, attrs) || attrs.size() < 3 || attrs[0].first != 'r' ||
      attrs[1].first != 's' || attrs[2].first != 'i')
    return "the server-first-message is malformed";
  std::string_view nonce = attrs[0].second;
  if (!nonce.starts_with(nonce_) || nonce.size() == nonce_.size() || !printable_nonce(nonce))
    return "the server's nonce does not extend ours";
  std::string salt;
  if (!unbase64(attrs[1].second, salt) || salt.empty()) return "the salt is not base64";
  uint32_t iterations = 0;
  for (char c : attrs[2].second) {
    if (c < '0' || c > '9' || iterations > max_iterations) return "the iteration count is bad";
    iterations = iterations * 10 + static_cast<uint32_t>(c - '0');
  }
  if (iterations < min_iterations || iterations > max_iterations)
    return "the iteration count is out of bounds";
  std::string salted = salted_password(password_, salt, iterations);
  std::string client_key = hmac(salted, "Client Key");
  server_key_ = hmac(salted, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  std::string without_proof = "c=biws,r=" + std::string(nonce);
  std::string first_bare = first().substr(3);
  auth_message_ = first_bare + "," + std::string(server_first) + "," + without_proof;
  std::string signature = hmac(sha256(client_key), auth_message_);
  out = without_proof + ",p=" + base64(xor_bytes(client_key, signature));
  return {};
}

std::string client::verify(std::string_view server_final) const {
  if (server_key_.empty()) return "no exchange under way";
  if (server_final.starts_with("e=")) return "the server refused: " + std::string(server_final);
  if (!server_final.starts_with("v=")) return "the server-final-message is malformed";
  std::string sig;
  if (!unbase64(server_final.substr(2), sig)) return "the server signature is not base64";
  if (!equal(sig, hmac(server_key_, auth_message_)))
    return "the server's signature is wrong: it does not hold this user's keys";
  return {};
}

// ---- server ----

std::string server::first(std::string_view client_first, const lookup& find, std::string& out,
                          std::string nonce) {
  if (state_ != state::initial) return "the exchange has begun already";
  // gs2-header: "n,," (no channel binding, no authzid) or "y,," (client could but we can't).
  if (!client_first.starts_with("n,,") && !client_first.starts_with("y,,"))
    return client_first.starts_with("p=") ? "channel binding is not supported"
                                          : "the gs2 header must be \"n,,\" (no authzid)";
  gs2_header_ = std::string(client_first.substr(0, 3));
  std::string_view bare = client_first.substr(3);
  std::vector<std::pair<char, std::string_view>> attrs;
  if (!split_attributes(bare, attrs) || attrs.size() < 2 || attrs[0].first != 'n' ||
      attrs[1].first != 'r')
    return "the client-first-message is malformed";
  if (!decode_saslname(attrs[0].second, user_)) return "the user name is malformed";
  if (!printable_nonce(attrs[1].second) || !printable_nonce(nonce))
    return "the nonce is not printable";
  known_ = find(user_, keys_);
  if (!known_) keys_ = decoy_keys(user_);
  nonce_ = std::string(attrs[1].second) + nonce;
  out = "r=" + nonce_ + ",s=" + base64(keys_.salt) + ",i=" + std::to_string(keys_.iterations);
  auth_prefix_ = std::string(bare) + "," + out + ",";
  state_ = state::sent_first;
  return {};
}

std::string server::final(std::string_view client_final, std::string& out) {
  if (state_ != state::sent_first) return "no client-first-message came before";
  state_ = state::done;  // one try
  size_t proof_at = client_final.rfind(",p=");
  if (proof_at == std::string_view::npos) return "the client-final-message has no proof";
  std::string_view without_proof = client_final.substr(0, proof_at);
  std::vector<std::pair<char, std::string_view>> attrs;
  if (!split_attributes(without_proof, attrs) || attrs.size() < 2 || attrs[0].first != 'c' ||
      attrs[1].first != 'r')
    return "the client-final-message is malformed";
  std::string binding;
  if (!unbase64(attrs[0].second, binding) || binding != gs2_header_)
    return "the channel binding does not repeat the gs2 header";
  if (attrs[1].second != nonce_) return "the nonce is not this exchange's";
  std::string proof;
  if (!unbase64(client_final.substr(proof_at + 3), proof) || proof.size() != key_bytes)
    return "the proof is malformed";
  std::string auth_message = auth_prefix_ + std::string(without_proof);
  std::string client_key = xor_bytes(proof, hmac(keys_.stored_key, auth_message));
  if (!equal(sha256(client_key), keys_.stored_key) || !known_) return "authentication failed";
  out = "v=" + base64(hmac(keys_.server_key, auth_message));
  return {};
}

}  // namespace ferry::scram
