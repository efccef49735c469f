#include "broker/cluster/node_identity.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fcntl.h>
#include <unistd.h>

namespace ferry::broker {

namespace json = boost::json;

namespace {

std::string random_incarnation() {
  std::random_device rd;
  std::string out;
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i)
    out += hex[rd() & 15];
  return out;
}

// Written to a temporary file, synced, renamed over, and the directory synced: the file is
// there whole or not at all after a crash.
std::string write_synced(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name, tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return "cannot write " + tmp + ": " + std::strerror(saved);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return "cannot rename " + tmp + ": " + std::strerror(errno);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

std::string load_node_identity(const std::string& data_dir, uint32_t node_id, node_identity& out) {
  const std::string path = data_dir + "/node.json";
  std::ifstream in(path);
  if (!in) {
    out = {node_id, random_incarnation()};
    json::object o;
    o["node_id"] = node_id;
    o["incarnation"] = out.incarnation;
    return write_synced(data_dir, "node.json", json::serialize(o) + "\n");
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(text.str(), ec);
  const json::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
  const json::value* id = o != nullptr ? o->if_contains("node_id") : nullptr;
  const json::value* inc = o != nullptr ? o->if_contains("incarnation") : nullptr;
  if (id == nullptr || !id->is_number() || inc == nullptr || !inc->is_string())
    return path + " is not a node identity ({\"node_id\": N, \"incarnation\": \"...\"})";
  boost::system::error_code nec;
  out = {id->to_number<uint32_t>(nec), std::string(inc->as_string())};
  if (nec) return path + ": node_id is not a node id";
  if (out.node_id != node_id)
    return "the data dir " + data_dir + " belongs to node " + std::to_string(out.node_id) + " (" +
           path + "); this ferryd was started as node " + std::to_string(node_id);
  return {};
}

}  // namespace ferry::broker
