// Message storage of memory topics: refcounted byte buffers and the message references
// that queues hold.
//
// A publish frame is copied once into one shared_bytes buffer; every message of the frame
// is a view into it, and every subscription the message is enqueued on holds a
// message_ref to it (no per-message allocation or copy on the way from publisher to
// subscribers). The buffer is freed when the last reference goes. The refcount is not
// atomic: buffers live on the broker loop, like all topic state.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "broker/core/assert.h"

namespace ferry::broker {

// Counts the bytes held by message buffers and says when they cross the high-water mark
// (publishers are then slowed) and come back under the low-water mark.
class memory_accountant {
 public:
  void set_limits(int64_t high, int64_t low) {
    high_ = high;
    low_ = low;
  }
  void add(int64_t n) {
    used_ += n;
    if (!blocked_ && high_ > 0 && used_ > high_) blocked_ = true;
  }
  void sub(int64_t n) {
    used_ -= n;
    if (blocked_ && used_ <= low_) blocked_ = false;
  }
  int64_t used() const { return used_; }
  int64_t high_watermark() const { return high_; }
  // True from the moment used() passes the high-water mark until it is back at or under
  // the low-water mark.
  bool blocked() const { return blocked_; }

 private:
  int64_t used_ = 0;
  int64_t high_ = 0;
  int64_t low_ = 0;
  bool blocked_ = false;
};

// One allocation: this header followed by size() bytes.
class shared_bytes {
 public:
  static shared_bytes* allocate(size_t n, memory_accountant* acct) {
    void* raw = ::operator new(sizeof(shared_bytes) + n);
    auto* b = new (raw) shared_bytes(static_cast<uint32_t>(n), acct);
    if (acct) acct->add(static_cast<int64_t>(n));
    return b;
  }
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(this + 1); }
  size_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data()), size_}; }

  void ref() { ++refs_; }
  void unref() {
    FERRY_ASSERT(refs_ > 0, "shared_bytes refcount underflow");
    if (--refs_ == 0) {
      if (acct_) acct_->sub(size_);
      this->~shared_bytes();
      ::operator delete(this);
    }
  }

 private:
  shared_bytes(uint32_t n, memory_accountant* acct) : size_(n), acct_(acct) {}
  uint32_t refs_ = 0;
  uint32_t size_;
  memory_accountant* acct_;
};

// Owning handle to a shared_bytes buffer.
class bytes_ref {
 public:
  bytes_ref() = default;
  explicit bytes_ref(shared_bytes* p) : p_(p) {
    if (p_) p_->ref();
  }
  bytes_ref(const bytes_ref& o) : p_(o.p_) {
    if (p_) p_->ref();
  }
  bytes_ref(bytes_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  bytes_ref& operator=(bytes_ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~bytes_ref() {
    if (p_) p_->unref();
  }
  shared_bytes* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

  // Copies `data` into a new buffer.
  static bytes_ref copy_of(std::string_view data, memory_accountant* acct) {
    bytes_ref r(shared_bytes::allocate(data.size(), acct));
    if (!data.empty()) std::memcpy(r.p_->data(), data.data(), data.size());
    return r;
  }
  // `v` must point into `from`; returns the same range inside this buffer (which holds a
  // copy of `from`).
  std::string_view rebase(std::string_view from, std::string_view v) const {
    if (v.empty()) return {};  // an absent field may not point into `from` at all
    return {reinterpret_cast<const char*>(p_->data()) + (v.data() - from.data()), v.size()};
  }

 private:
  shared_bytes* p_ = nullptr;
};

// A message as queues hold it: views into a shared buffer plus what the broker added.
struct message_ref {
  bytes_ref buf;
  std::string_view topic;    // the topic it was published to (inside buf)
  std::string_view bytes;    // the encoded ferry.v1.Message (inside buf)
  int64_t timestamp_ms = 0;  // broker receipt, wall clock
  int64_t expires_at = 0;    // steady ms; 0 = never

  size_t size() const { return bytes.size(); }
  bool expired(int64_t now) const { return expires_at != 0 && expires_at <= now; }
};

}  // namespace ferry::broker
