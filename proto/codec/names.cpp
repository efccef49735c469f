#include "proto/codec/names.h"

#include <algorithm>

#include "proto/codec/text.h"
#include "proto/codec/wire.h"

namespace ferry::names {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Checks segments; allow_wildcards admits `*` segments and a final `>` segment.
std::string check(std::string_view s, bool allow_wildcards) {
  const char* what = allow_wildcards ? "pattern" : "name";
  if (s.empty()) return std::string(what) + " is empty";
  if (s.size() > max_name_length)
    return std::string(what) + " is longer than " + std::to_string(max_name_length) + " characters";
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    bool last = dot == std::string_view::npos;
    std::string_view seg = s.substr(start, last ? std::string_view::npos : dot - start);
    if (seg.empty()) return std::string(what) + " has an empty segment (check the dots)";
    bool wildcard = seg == "*" || seg == ">";
    if (wildcard && !allow_wildcards)
      return "'" + std::string(seg) + "' is a pattern wildcard, not allowed in a name";
    if (seg == ">" && !last) return "'>' may only be the last segment of a pattern";
    if (!wildcard) {
      for (size_t i = 0; i < seg.size(); ++i) {
        if (is_name_char(seg[i])) continue;
        // The whole character when it is UTF-8 (escaped when not): the message is UTF-8.
        const auto* p = reinterpret_cast<const unsigned char*>(seg.data()) + i;
        size_t n = std::max<size_t>(1, wire::utf8_sequence_length(p, p + (seg.size() - i)));
        return "character " + text::quoted(seg.substr(i, n)) +
               " is not allowed (use A-Z a-z 0-9 _ - and dots" +
               std::string(allow_wildcards ? ", * and >" : "") + ")";
      }
    }
    if (last) return {};
    start = dot + 1;
  }
}

}  // namespace

std::string check_name(std::string_view name) {
  return check(name, false);
}
std::string check_pattern(std::string_view pattern) {
  return check(pattern, true);
}

bool is_wildcard(std::string_view pattern) {
  size_t start = 0;
  while (true) {
    size_t dot = pattern.find('.', start);
    std::string_view seg = pattern.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (seg == "*" || seg == ">") return true;
    if (dot == std::string_view::npos) return false;
    start = dot + 1;
  }
}

uint32_t partition_for_key(std::string_view key, uint32_t partitions) {
  uint32_t h = 2166136261u;
  for (unsigned char c : key) {
    h ^= c;
    h *= 16777619u;
  }
  return partitions == 0 ? 0 : h % partitions;
}

bool matches(std::string_view pattern, std::string_view topic) {
  size_t p = 0, t = 0;
  while (true) {
    size_t pdot = pattern.find('.', p);
    std::string_view pseg = pattern.substr(p, pdot == std::string_view::npos ? pdot : pdot - p);
    if (pseg == ">") return t <= topic.size();  // one or more remaining segments
    if (t > topic.size()) return false;
    size_t tdot = topic.find('.', t);
    std::string_view tseg = topic.substr(t, tdot == std::string_view::npos ? tdot : tdot - t);
    if (pseg != "*" && pseg != tseg) return false;
    bool plast = pdot == std::string_view::npos, tlast = tdot == std::string_view::npos;
    if (plast || tlast) return plast && tlast;
    p = pdot + 1;
    t = tdot + 1;
  }
}

}  // namespace ferry::names
