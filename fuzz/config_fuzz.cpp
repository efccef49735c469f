// config_fuzz: ferryd's config loader (broker/config/load.cpp, option_table.cpp). The
// input is the text of a config file: written to a per-process file (on /dev/shm when it
// is writable: a tmpfs), then load_config_file and check_options as ferryd's start does,
// and apply_assignment ("--set KEY=VALUE") on the whole input.
// Properties: a file the loader accepts prints (print_config, --print-config) as a file
// that loads to the same options (when their values are printable UTF-8; what the reload
// reads of it: to_reload).
// load_config_file must not throw: yaml-cpp's exceptions are ours to catch (with
// FERRY_FUZZ_STRICT=1; see finding 1 in fuzz/README.md).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "broker/config/option_table.h"
#include "fuzz/fuzz_check.h"
#include "proto/codec/wire.h"

namespace broker = ferry::broker;

namespace {

std::string make_path() {
  const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return std::string(dir) + "/ferry-config-fuzz-" + std::to_string(getpid()) + ".yaml";
}

const std::string& path() {
  static const std::string p = [] {
    std::string s = make_path();
    std::atexit([] { std::remove(path().c_str()); });
    return s;
  }();
  return p;
}

void write_file(std::string_view text) {
  std::FILE* f = std::fopen(path().c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(std::fwrite(text.data(), 1, text.size(), f) == text.size());
  FUZZ_CHECK(std::fclose(f) == 0);
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
    out.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

// What of print_config's output the reload reads: without the comment lines ("  # ...",
// the option table's fixed descriptions), and without the settings printed as they are by
// default (the same text for every input). The rest, which depends on the input, is most
// of the reload's work otherwise: this keeps the target at several thousand runs a second.
// If the printed file does not line up with the defaults' (a value over several lines),
// all of it but the comments.
std::string to_reload(std::string_view printed) {
  static const std::string defaults = broker::print_config(broker::broker_options{});
  static const std::vector<std::string_view> default_lines = [] {
    std::vector<std::string_view> out;
    for (auto l : lines(defaults))
      if (!l.starts_with("  # ")) out.push_back(l);
    return out;
  }();
  std::vector<std::string_view> printed_lines;
  for (auto l : lines(printed))
    if (!l.starts_with("  # ")) printed_lines.push_back(l);
  const bool aligned = printed_lines.size() == default_lines.size();
  std::string out;
  std::string_view section;
  for (size_t i = 0; i < printed_lines.size(); ++i) {
    std::string_view l = printed_lines[i];
    if (!l.starts_with(' ') && l.ends_with(":\n")) {  // "net:": printed with its first key
      section = l;
      continue;
    }
    if (aligned && l == default_lines[i]) continue;
    if (!section.empty()) {
      out += section;
      section = {};
    }
    out += l;
  }
  return out;
}

// Every setting's value, as the option table prints it.
std::string values(const broker::broker_options& o) {
  std::string out;
  for (const auto& row : broker::option_table()) {
    out += row.get(o);
    out += '\0';
  }
  return out;
}

// Whether `values` (separated by NUL) are UTF-8 without other control characters.
bool printable(std::string_view values) {
  for (char c : values)
    if (c != '\0' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) return false;
  return ferry::wire::valid_utf8(values);
}

// Whether these values have not been printed and reloaded before in this process: the
// round trip depends on nothing else, and most inputs the fuzzer makes load to options seen
// before (print_config is most of a run's cost). A crash input replayed alone does it.
bool first_time(const std::string& values) {
  static std::unordered_set<std::string> seen;
  if (seen.size() >= 100'000) seen.clear();
  return seen.insert(values).second;
}

// Whether `node` is on `path` or reaches a map or sequence on it (through an alias).
bool on_cycle(const YAML::Node& node, std::vector<YAML::Node>& path) {
  if (!node.IsMap() && !node.IsSequence()) return false;
  for (const auto& p : path)
    if (p.is(node)) return true;
  path.push_back(node);
  for (const auto& item : node) {
    if (node.IsMap() ? on_cycle(item.first, path) || on_cycle(item.second, path)
                     : on_cycle(static_cast<const YAML::Node&>(item), path))
      return true;
  }
  path.pop_back();
  return false;
}

// Whether the text has an alias of a map or sequence inside that map or sequence
// (finding 6). Parsed only when there are both an anchor and an alias: a few inputs in
// a hundred.
bool self_alias(std::string_view text) {
  if (text.find('&') == std::string_view::npos || text.find('*') == std::string_view::npos)
    return false;
  try {
    std::vector<YAML::Node> path;
    return on_cycle(YAML::Load(std::string(text)), path);
  } catch (const YAML::Exception&) {
    return false;  // the loader says what is wrong with it
  }
}

// load_config_file on the file. Finding 1 (fuzz/README.md): a key that is not a scalar
// ("? :", "[a]: 1") escapes it as YAML::TypedBadConversion. With FERRY_FUZZ_STRICT=1 that
// is a crash (uncaught, with the stack of the throw); otherwise `threw` is set, so that the
// target goes on past it until it is fixed.
std::string load(broker::broker_options& opts, bool& threw) {
  if (fuzz_strict) return broker::load_config_file(path(), opts);
  try {
    return broker::load_config_file(path(), opts);
  } catch (const YAML::Exception&) {
    threw = true;
    return {};
  }
}

}  // namespace

// yaml-cpp allocates a lot, from code built without frame pointers: with ASan's default
// allocation stacks (30 frames, walked by frame pointer) its stack depot keeps growing
// and storing them became a third of the run time (perf). Two frames keep the target
// fast (1.7x); ASAN_OPTIONS=malloc_context_size=30 (the environment wins) gives whole
// stacks when replaying a crash.
extern "C" const char* __asan_default_options() {
  return "malloc_context_size=2";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Finding 5 (fuzz/README.md): load_config_file walks aliased maps once per alias, so
  // nested aliases take time exponential in their number. Skipped unless
  // FERRY_FUZZ_STRICT=1 (then a timeout) above 24 aliases (at most 3^8 maps walked).
  if (!fuzz_strict && std::count(text.begin(), text.end(), '*') > 24) return 0;
  // Finding 6: an alias inside the map its anchor names makes load_config_file recurse
  // until the stack overflows. Skipped unless FERRY_FUZZ_STRICT=1.
  if (!fuzz_strict && self_alias(text)) return 0;

  write_file(text);
  broker::broker_options opts;
  bool threw = false;
  const std::string err = load(opts, threw);
  if (err.empty() && !threw) {
    (void)broker::check_options(opts);
    // --print-config's output is a config file that gives the same options. Only for
    // values of printable UTF-8: yaml-cpp 0.7 makes values that are not UTF-8 from input
    // that is, and writes a carriage return unquoted (fuzz/README.md, "Third-party").
    const std::string before = values(opts);
    if (printable(before) && first_time(before)) {
      const std::string printed = broker::print_config(opts);
      write_file(to_reload(printed));
      broker::broker_options again;
      const std::string err2 = broker::load_config_file(path(), again);
      if (!err2.empty()) std::fprintf(stderr, "reloading the printed config: %s\n", err2.c_str());
      FUZZ_CHECK(err2.empty());
      FUZZ_CHECK(values(again) == before);
    }
  }

  broker::broker_options assigned;
  (void)broker::apply_assignment(text, assigned);
  return 0;
}
