#!/usr/bin/env python3
"""Structure checks of the source tree (docs/ARCHITECTURE.md), run by `make test`:

  sizes     no source file over 500 lines, no function over 60 lines (the option table,
            whose rows are data, is the one exception)
  includes  in broker/ an include never runs from a lower floor to a higher one; in
            client/ the public headers include nothing of src/ or cli/, src/ nothing of
            cli/; and no two files of broker/ or client/ include each other in a circle
            (a .cpp and its header count as one room)
  tests     no Catch2 test name holds a ';': catch_discover_tests splits names there
            (a CMake list), and the halves match no test, so it would never run

Exit status 0 when every check holds, 1 with one line per finding otherwise.
Usage: check_structure.py [sizes|includes|tests|all] [--root DIR]
"""
import os
import re
import sys

MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60
SOURCE_DIRS = ["broker", "client", "proto/codec", "storage", "bench", "tests", "examples"]
# Rows of data, not logic (STYLE.md section 3): the option table.
FUNCTION_EXCEPTIONS = {("broker/config/option_table.cpp", "add_")}

# broker/ floors, bottom up (broker/README.md). A folder may include its own floor or below.
BROKER_FLOORS = {
    "core": 1,
    "net": 2, "catalog": 2,
    "cluster": 3, "topics": 3,
    "queues": 4, "logs": 4,
    "groups": 5, "shares": 5,
    "services": 6, "security": 6,
    "session": 7, "schedule": 7,
    "protocol": 8, "config": 8, "http": 8, "push": 8,
    "ws": 9,
    "server": 10,
}
CLIENT_FLOORS = {"include": 1, "src": 2, "examples": 3, "cli": 3}


def source_files(root):
    for d in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if f.endswith((".cpp", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), root)


def strip_code(text):
    """Comments and string/char literals blanked out, newlines kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i)
                end = n if end < 0 else end + len(m.group(1)) + 2
                out.append('""' + "\n" * text.count("\n", i, end))
                i = end
            else:
                out.append(c)
                i += 1
        elif c in "\"'":
            if c == "'" and i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
                out.append(c)  # a digit separator: 1'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else|return)\b")
TYPE_BLOCK = re.compile(r"\b(namespace|class|struct|union|enum)\b[^()]*$")


def functions(code):
    """(name, first line, last line) of every function body outside other functions."""
    found = []
    stack = []  # kinds of the open blocks: 'scope' (namespace/class) or 'func' or 'other'
    head_start = 0  # where the text before the next block starts
    line_of = [0]
    for ch in code:
        line_of.append(line_of[-1] + (ch == "\n"))
    i = 0
    starts = []
    while i < len(code):
        ch = code[i]
        if ch in ";}":
            if ch == "}" and stack:
                kind, start_line, name = stack.pop()
                if kind == "func":
                    found.append((name, start_line, line_of[i] + 1))
            head_start = i + 1
        elif ch == "{":
            head = code[head_start:i]
            inside_func = any(k == "func" for k, _, _ in stack)
            kind = "other"
            name = ""
            flat = " ".join(head.split())
            if not inside_func:
                if TYPE_BLOCK.search(flat) or flat.startswith("extern"):
                    kind = "scope"
                elif ")" in flat and not CONTROL.match(flat) and not flat.endswith("="):
                    m = re.search(r"([~\w:<>=!+\-*/\[\]]+)\s*\(", flat)
                    if m and not flat.rstrip().endswith(("= {", ",")):
                        kind = "func"
                        name = m.group(1)
            first = head_start + (len(head) - len(head.lstrip()))
            stack.append((kind, line_of[first] + 1, name))
            head_start = i + 1
        i += 1
    return found


def check_sizes(root):
    problems = []
    for path in source_files(root):
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        lines = text.count("\n")
        if lines > MAX_FILE_LINES:
            problems.append(f"{path}: {lines} lines (at most {MAX_FILE_LINES})")
        for name, first, last in functions(strip_code(text)):
            length = last - first + 1
            if length <= MAX_FUNCTION_LINES:
                continue
            if any(path == p and name.startswith(prefix) for p, prefix in FUNCTION_EXCEPTIONS):
                continue
            problems.append(f"{path}:{first}: function {name} is {length} lines "
                            f"(at most {MAX_FUNCTION_LINES})")
    return problems


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def room(path):
    """A .cpp and its header are one room, and a class's pimpl header (X_impl.h) is X's."""
    return re.sub(r"(_impl)?\.(h|cpp)$", "", path)


def resolve(include, root):
    for candidate in (include, os.path.join("client/include", include),
                      os.path.join("storage/include", include)):
        if os.path.exists(os.path.join(root, candidate)):
            return candidate
    return None


def floor_of(path):
    parts = path.split("/")
    if parts[0] == "broker" and len(parts) > 2:
        return ("broker", BROKER_FLOORS.get(parts[1]))
    if parts[0] == "client" and len(parts) > 2:
        return ("client", CLIENT_FLOORS.get(parts[1]))
    return (parts[0], None)


def check_includes(root):
    problems = []
    graph = {}
    for path in source_files(root):
        if not path.startswith(("broker/", "client/")):
            continue
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        tree, floor = floor_of(path)
        is_test = path.endswith("_test.cpp") or "testing" in os.path.basename(path)
        for inc in INCLUDE.findall(text):
            target = resolve(inc, root)
            if target is None:
                continue
            ttree, tfloor = floor_of(target)
            if ttree == tree and floor and tfloor and tfloor > floor and not is_test:
                problems.append(f"{path}: includes {target}, a higher floor "
                                f"({tfloor} above {floor})")
            if ttree == tree and room(target) != room(path) and not is_test:
                graph.setdefault(room(path), set()).add(room(target))
    problems += [f"include circle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph):
    """One representative circle per strongly connected component with more than one room."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp) + [sorted(comp)[0]])

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


TEST_CASE = re.compile(r'TEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')


def check_test_names(root):
    problems = []
    for path in source_files(root):
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in TEST_CASE.finditer(text):
            name = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
            if ";" in name:
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{path}:{line}: test name holds ';' (ctest would never run "
                                f"it): {name}")
    return problems


def main():
    args = sys.argv[1:]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--root" in args:
        root = args[args.index("--root") + 1]
    what = args[0] if args and not args[0].startswith("--") else "all"
    problems = []
    if what in ("sizes", "all"):
        problems += check_sizes(root)
    if what in ("includes", "all"):
        problems += check_includes(root)
    if what in ("tests", "all"):
        problems += check_test_names(root)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
