// Config sources over the option table: YAML file, environment, key=value assignments.
#include <cstdlib>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "broker/config/option_table.h"

namespace ferry::broker {
namespace {

// Most keys a config file may walk, and how deep its maps may nest: a real one has a few
// dozen keys two levels deep; aliases of aliases could otherwise take exponential time,
// and an alias inside its own anchor (`a: &a {x: *a}`) recurse for ever.
constexpr int max_nodes = 10'000;
constexpr int max_depth = 8;

// Walks a YAML map; every scalar leaf is a dotted option name. `budget` counts the keys
// walked, over every level.
std::string apply_node(const YAML::Node& node, const std::string& prefix, broker_options& opts,
                       int& budget, int depth = 0) {
  if (!node.IsMap()) return (prefix.empty() ? "the file" : prefix) + ": expected a map of keys";
  if (depth > max_depth) return prefix + ": maps nested too deep (an alias inside itself?)";
  for (const auto& kv : node) {
    if (--budget < 0) return "more than 10000 keys (aliases of aliases?)";
    if (!kv.first.IsScalar() || kv.first.Scalar().empty())
      return (prefix.empty() ? "the file" : prefix) + ": a key must be a plain name";
    std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    if (kv.second.IsMap()) {
      if (auto err = apply_node(kv.second, key, opts, budget, depth + 1); !err.empty()) return err;
      continue;
    }
    const option_row* row = find_option(key);
    if (row == nullptr) return "unknown key '" + key + "'";
    if (!kv.second.IsScalar()) return key + ": expected a single value";
    if (auto err = row->set(opts, kv.second.Scalar()); !err.empty()) return err;
  }
  return {};
}

}  // namespace

std::string load_config_file(const std::string& path, broker_options& opts) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return "cannot read config file '" + path + "': " + e.what();
  }
  if (root.IsNull()) return {};  // an empty file changes nothing
  int budget = max_nodes;
  std::string err;
  try {
    err = apply_node(root, "", opts, budget);
  } catch (const YAML::Exception& e) {  // yaml-cpp's conversions: nothing else escapes
    err = e.what();
  }
  return err.empty() ? err : path + ": " + err;
}

std::string apply_environment(broker_options& opts) {
  for (const auto& row : option_table()) {
    const char* v = std::getenv(row.env_name().c_str());
    if (v == nullptr) continue;
    if (auto err = row.set(opts, v); !err.empty()) return row.env_name() + ": " + err;
  }
  return {};
}

std::string apply_assignment(std::string_view assignment, broker_options& opts) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos) return "'" + std::string(assignment) + "' is not KEY=VALUE";
  const option_row* row = find_option(assignment.substr(0, eq));
  if (row == nullptr) return "unknown key '" + std::string(assignment.substr(0, eq)) + "'";
  return row->set(opts, assignment.substr(eq + 1));
}

// Wraps `text` into "  # " comment lines of at most ~90 columns.
static std::string comment(const std::string& text) {
  std::string out, line;
  std::istringstream words(text);
  std::string w;
  while (words >> w) {
    if (!line.empty() && line.size() + 1 + w.size() > 86) {
      out += "  # " + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + w;
  }
  if (!line.empty()) out += "  # " + line + "\n";
  return out;
}

std::string print_config(const broker_options& opts) {
  std::ostringstream out;
  std::string section;
  for (const auto& row : option_table()) {
    auto dot = row.name.find('.');
    std::string sec = row.name.substr(0, dot), leaf = row.name.substr(dot + 1);
    if (sec != section) {
      out << (section.empty() ? "" : "\n") << sec << ":\n";
      section = sec;
    }
    out << comment(row.description + (row.unit.empty() ? "" : " Unit: " + row.unit + ".") +
                   " Default: " + (row.default_value().empty() ? "\"\"" : row.default_value()) +
                   ".");
    out << "  " << leaf << ": " << YAML::Dump(YAML::Node(row.get(opts))) << "\n";
  }
  return out.str();
}

}  // namespace ferry::broker
