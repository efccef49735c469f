#include "broker/catalog/meta_catalog.h"

#include <algorithm>
#include <memory>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "proto/codec/names.h"
#include "storage/meta_keys.h"

namespace ferry::broker {

namespace keys = storage::meta_keys;

meta_catalog::meta_catalog(storage::meta_store& meta, std::function<void(task)> on_storage,
                           std::function<void(task)> on_loop)
    : meta_(meta), on_storage_(std::move(on_storage)), on_loop_(std::move(on_loop)) {}

// ---- load ----

namespace {

// Parses a stored record of a named definition; false (and `bad` set) if it is unusable.
template <typename Record>
bool parse_record(std::string_view key, std::string_view value, Record& rec, ferry::error& bad) {
  if (rec.ParseFromArray(value.data(), static_cast<int>(value.size())) &&
      names::check_name(rec.name()).empty())
    return true;
  bad = fail(errc::storage_error, "unreadable record " + quoted(key));
  return false;
}

}  // namespace

ferry::error meta_catalog::load(catalog_snapshot& out) {
  out = {};
  ferry::error bad;
  auto note = [this](std::string_view key) { revisions_.emplace(std::string(key), 1); };
  auto err = meta_.scan(keys::topic_prefix, [&](std::string_view key, std::string_view value) {
    v1::TopicInfo rec;
    if (!bad && parse_record(key, value, rec, bad)) {
      out.next_topic_id = std::max(out.next_topic_id, rec.topic_id() + 1);
      out.topics.push_back(std::move(rec));
      note(key);
    }
  });
  if (!err)
    err = meta_.scan(keys::topic_id_counter, [&](std::string_view, std::string_view v) {
      if (auto next = keys::decode_u32(v)) out.next_topic_id = std::max(out.next_topic_id, *next);
    });
  if (!err)
    err = meta_.scan(keys::subscription_prefix, [&](std::string_view key, std::string_view value) {
      v1::SubscriptionInfo rec;
      if (!bad && parse_record(key, value, rec, bad)) {
        out.subscriptions.push_back(std::move(rec));
        note(key);
      }
    });
  if (!err && !bad) err = load_groups(out);
  if (!err && !bad) err = load_security(out, bad);
  if (err) return err;
  if (bad) return bad;
  next_topic_id_ = out.next_topic_id;
  return {};
}

// Users, tokens and rules: records of their own kinds, checked only for parsing here
// (security/ checks what they say).
ferry::error meta_catalog::load_security(catalog_snapshot& out, ferry::error& bad) {
  auto load = [&](std::string_view prefix, auto& into) {
    return meta_.scan(prefix, [&](std::string_view key, std::string_view value) {
      typename std::decay_t<decltype(into)>::value_type rec;
      if (bad) return;
      if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size())))
        bad = fail(errc::storage_error, "unreadable record " + quoted(key));
      else
        into.push_back(std::move(rec));
    });
  };
  auto err = load(keys::user_prefix, out.users);
  if (!err) err = load(keys::token_prefix, out.tokens);
  if (!err) err = load(keys::acl_prefix, out.acls);
  return err;
}

ferry::error meta_catalog::load_groups(catalog_snapshot& out) {
  auto err = meta_.scan(keys::group_prefix, [&](std::string_view key, std::string_view topic) {
    out.groups.push_back(
        {std::string(keys::name_of(key, keys::group_prefix)), std::string(topic), {}});
  });
  for (auto& g : out.groups) {
    if (err) break;
    std::string prefix = keys::offset_prefix(g.name);
    err = meta_.scan(prefix, [&](std::string_view key, std::string_view v) {
      auto p = keys::partition_of(key, prefix);
      auto off = keys::decode_u64(v);
      if (p && off) g.offsets[*p] = *off;
    });
  }
  return err;
}

// ---- changes ----

uint32_t meta_catalog::allocate_topic_id(catalog_batch& b) {
  uint32_t id = next_topic_id_++;
  b.put_next_topic_id(next_topic_id_);
  return id;
}

ferry::error meta_catalog::write(const catalog_batch& b) {
  for (const auto& pre : b.preconditions()) {
    auto it = revisions_.find(pre.key);
    uint64_t current = it == revisions_.end() ? 0 : it->second;
    if (current != pre.revision) {
      bool topic = pre.key.starts_with(keys::topic_prefix);
      return fail(topic ? errc::topic_exists : errc::subscription_exists,
                  quoted(pre.key) + " changed meanwhile (revision " + std::to_string(current) +
                      ", expected " + std::to_string(pre.revision) + ")");
    }
  }
  if (auto err = meta_.apply(b.changes())) {
    log::storage().error("writing definitions failed: {}", err.to_string());
    // The loop has already dropped what the batch erases (deletions are not undone, as
    // creations are), so the keys count as absent: a later creation of the name is not
    // refused by a record that only the disk still has, and overwrites it.
    for (const auto& c : b.changes())
      if (!c.value) revisions_.erase(c.key);
    return err;
  }
  const uint64_t revision = ++revision_;
  for (const auto& c : b.changes()) {
    if (c.value) {
      revisions_[c.key] = revision;
    } else {
      revisions_.erase(c.key);
    }
  }
  return {};
}

void meta_catalog::apply(catalog_batch b, done_fn done) {
  if (b.empty() && b.preconditions().empty()) {
    done({});
    return;
  }
  auto batch = std::make_shared<catalog_batch>(std::move(b));
  ++in_flight_;
  on_storage_([this, batch, done = std::move(done)]() mutable {
    ferry::error err = write(*batch);
    on_loop_([this, err = std::move(err), done = std::move(done)] {
      --in_flight_;
      done(err);
    });
  });
}

}  // namespace ferry::broker
