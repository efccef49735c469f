// Protobuf wire-format primitives for the hand-written hot-path codecs.
//
// The broker and libferry encode and decode the frames that carry messages (Publish,
// Deliver) by hand, straight from and into shared buffers, instead of through generated
// classes that allocate per message. Everything here follows the protobuf encoding spec
// (https://protobuf.dev/programming-guides/encoding/), so generated code in any language
// reads what we write and the other way round; tests check both directions.
//
// Readers never trust their input: every read is bounds-checked and a failure leaves the
// reader in a sticky error state (ok() == false) instead of reading past the end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace ferry::wire {

enum class wire_type : uint8_t { varint = 0, i64 = 1, len = 2, sgroup = 3, egroup = 4, i32 = 5 };

constexpr uint32_t make_tag(uint32_t field, wire_type t) {
  return (field << 3) | static_cast<uint32_t>(t);
}

constexpr size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Encoded size of a length-delimited field with `len` bytes of content.
constexpr size_t len_field_size(uint32_t field, size_t len) {
  return varint_size(make_tag(field, wire_type::len)) + varint_size(len) + len;
}
// Encoded size of a varint field, 0 when v is 0 (proto3 omits default values).
constexpr size_t varint_field_size(uint32_t field, uint64_t v) {
  return v == 0 ? 0 : varint_size(make_tag(field, wire_type::varint)) + varint_size(v);
}

// Grows `v` so it holds at least `needed` bytes, geometrically: appending many frames to
// one buffer with exact reservations would reallocate (and copy) on every append.
inline void ensure_capacity(std::vector<uint8_t>& v, size_t needed) {
  if (v.capacity() < needed) v.reserve(std::max(needed, v.capacity() * 2));
}

// The field encodings, over a Sink that provides raw(bytes, n).
template <typename Sink>
class field_writer {
 public:
  void varint(uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
      tmp[n++] = static_cast<uint8_t>(v | 0x80);
      v >>= 7;
    }
    tmp[n++] = static_cast<uint8_t>(v);
    sink().raw(tmp, n);
  }
  void tag(uint32_t field, wire_type t) { varint(make_tag(field, t)); }
  // proto3 semantics: a zero value is not written.
  void varint_field(uint32_t field, uint64_t v) {
    if (v == 0) return;
    tag(field, wire_type::varint);
    varint(v);
  }
  void len_header(uint32_t field, size_t len) {
    tag(field, wire_type::len);
    varint(len);
  }
  void bytes_field(uint32_t field, std::string_view b) {
    len_header(field, b.size());
    sink().raw(b.data(), b.size());
  }
  // Like bytes_field, but an empty value is not written (proto3 string/bytes).
  void bytes_field_nonempty(uint32_t field, std::string_view b) {
    if (!b.empty()) bytes_field(field, b);
  }

 private:
  Sink& sink() { return static_cast<Sink&>(*this); }
};

// Appends to a byte vector (growing it as needed).
class writer : public field_writer<writer> {
 public:
  explicit writer(std::vector<uint8_t>& out) : out_(out) {}

  // insert(), not resize() + memcpy: resize zero-fills first, which showed up as 15% of
  // the broker's profile when encoding deliveries.
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void be32(uint32_t v) {
    uint8_t b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    raw(b, 4);
  }

 private:
  std::vector<uint8_t>& out_;
};

// Writes into memory the caller has already sized (e.g. a frame whose length it
// computed): no capacity checks, no per-field vector bookkeeping. Used for the
// per-message encodings on hot paths.
class ptr_writer : public field_writer<ptr_writer> {
 public:
  explicit ptr_writer(uint8_t* p) : p_(p) {}
  uint8_t* pos() const { return p_; }
  void raw(const void* src, size_t n) {
    if (n != 0) std::memcpy(p_, src, n);
    p_ += n;
  }

 private:
  uint8_t* p_;
};

// One field as read off the wire. For wire_type::len, `bytes` holds the content.
struct field {
  uint32_t number = 0;
  wire_type type = wire_type::varint;
  uint64_t value = 0;      // varint, i64 and i32 values
  std::string_view bytes;  // len content
};

// Reads fields from one encoded message. Unknown fields are returned like known ones so
// the caller can skip them; groups (deprecated) are refused as malformed.
class reader {
 public:
  reader() = default;
  explicit reader(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }

  // Reads the next field; returns false at the end of input or on malformed input
  // (then ok() is false).
  bool next(field& f) {
    if (!ok_ || p_ == end_) return false;
    uint64_t tag;
    // Tags and lengths in at most 5 bytes, lengths below 2^31: what protobuf's own parsers
    // take, so that nothing this reader accepts fails a generated parser downstream.
    if (!read_varint(tag, 5) || tag > 0xFFFFFFFFu || (tag >> 3) == 0) return fail();
    f.number = static_cast<uint32_t>(tag >> 3);
    f.type = static_cast<wire_type>(tag & 7);
    switch (f.type) {
      case wire_type::varint: return read_varint(f.value) || fail();
      case wire_type::i64: return read_fixed(f.value, 8) || fail();
      case wire_type::i32: return read_fixed(f.value, 4) || fail();
      case wire_type::len: {
        uint64_t n;
        if (!read_varint(n, 5) || n > 0x7FFFFFFFu || n > static_cast<uint64_t>(end_ - p_))
          return fail();
        f.bytes = std::string_view(p_, static_cast<size_t>(n));
        p_ += n;
        return true;
      }
      default: return fail();
    }
  }

 private:
  bool fail() {
    ok_ = false;
    return false;
  }
  bool read_varint(uint64_t& v, int max_bytes = 10) {
    v = 0;
    for (int shift = 0, i = 0; i < max_bytes; shift += 7, ++i) {
      if (p_ == end_) return false;
      uint8_t b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool read_fixed(uint64_t& v, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
    p_ += n;
    return true;
  }

  const char* p_ = nullptr;
  const char* end_ = nullptr;
  bool ok_ = true;
};

// Length of the well-formed UTF-8 sequence at `p` (1..4), or 0 when the bytes there are
// not one (overlong forms, surrogates, values past U+10FFFF, truncated). `p` < `end`.
inline size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  unsigned char c = *p;
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) <= n) return 0;
  for (size_t i = 1; i <= n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  static constexpr uint32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n + 1;
}

// Whether `s` is well-formed UTF-8. proto3 `string` fields must be; generated parsers
// refuse anything else.
inline bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    size_t n = utf8_sequence_length(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

inline uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

inline std::string_view as_view(const std::vector<uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

}  // namespace ferry::wire
