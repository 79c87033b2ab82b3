#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The include graph of daemon/ (TAP).

Parses every `#include "..."` of daemon/**/*.{c,h}, resolves it the way the
compiler does with daemon/meson.build's include path (the including file's
directory first, then daemon/ and the layer directories) and checks:
  1. no include cycle among daemon's own files;
  2. the libvirt layer reaches sessions only through the registry
     (session/vm_registry.h), never through session/vm.h;
  3. a private header (*_priv.h) is included only from its own directory.
A self-test first runs the same checks on small trees that break each rule
and expects each one to be reported.

usage: check_includes.py DAEMON_DIR
"""
import os
import re
import shutil
import sys
import tempfile

# daemon/meson.build's daemon_inc, in order.
INC_DIRS = [".", "session", "balloon", "libvirt", "api", "store"]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def scan(root):
    """{relpath: [resolved relpaths]} for daemon's files; outside ones dropped."""
    files = []
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(d, n), root))
    known = set(files)
    graph = {}
    for f in sorted(files):
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        deps = []
        for name in INCLUDE_RE.findall(text):
            cands = [os.path.normpath(os.path.join(os.path.dirname(f), name))]
            cands += [os.path.normpath(os.path.join(d, name)) for d in INC_DIRS]
            hit = next((c for c in cands if c in known), None)
            if hit is not None:
                deps.append(hit)
        graph[f] = deps
    return graph


def cycles(graph):
    """Every back edge of a depth-first walk, as the cycle it closes."""
    found, state, stack = [], {}, []

    def walk(n):
        state[n] = 1
        stack.append(n)
        for m in graph.get(n, []):
            if state.get(m) == 1:
                found.append(stack[stack.index(m):] + [m])
            elif m not in state:
                walk(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            walk(n)
    return found


def layer_violations(graph):
    bad = []
    for f, deps in sorted(graph.items()):
        for d in deps:
            if f.startswith("libvirt/") and d == "session/vm.h":
                bad.append("%s includes %s (the libvirt layer uses session/vm_registry.h)" % (f, d))
            if d.endswith("_priv.h") and os.path.dirname(d) != os.path.dirname(f):
                bad.append("%s includes the private header %s" % (f, d))
    return bad


def check(root):
    graph = scan(root)
    return (["cycle: " + " -> ".join(c) for c in cycles(graph)] + layer_violations(graph),
            graph)


def tree(files):
    root = tempfile.mkdtemp(prefix="vcma-inc-")
    for path, text in files.items():
        os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as fh:
            fh.write(text)
    return root


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    bad_trees = {
        "a two-header cycle across layers": {
            "api/api.h": '#include "store.h"\n',
            "store/store.h": '#include "api.h"\n'},
        "a self-include": {"log.h": '#include "log.h"\n'},
        "libvirt reaching into session/vm.h": {
            "session/vm.h": "", "libvirt/libvirt.c": '#include "vm.h"\n'},
        "a private header used outside its layer": {
            "session/vm_priv.h": "", "api/api.c": '#include "vm_priv.h"\n'},
    }
    n = 0
    print("1..%d" % (len(bad_trees) + 2))
    ok_all = True
    for what, files in bad_trees.items():
        n += 1
        root = tree(files)
        problems, _ = check(root)
        shutil.rmtree(root)
        good = len(problems) > 0
        ok_all &= good
        print("%s %d - self-test: %s is reported%s" % (
            "ok" if good else "not ok", n, what, (" (" + problems[0] + ")") if good else ""))

    problems, graph = check(sys.argv[1])
    edges = sum(len(v) for v in graph.values())
    n += 1
    good = len(graph) > 10 and edges > 10
    ok_all &= good
    print("%s %d - daemon/ scanned: %d files, %d internal includes" % (
        "ok" if good else "not ok", n, len(graph), edges))
    n += 1
    for p in problems:
        print("# " + p)
    ok_all &= not problems
    print("%s %d - no include cycle, no layer violation in daemon/" % (
        "not ok" if problems else "ok", n))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
