#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""No two source files of a library call each other (directly or round a
loop): within each static archive, the graph "object A uses a function
object B defines" has no cycle, so every file can be read, tested and
replaced from the bottom up. Known cycles still to break are listed below
with the reason; any other cycle fails.

usage: file_cycles.py ARCHIVE..."""
import subprocess
import sys

# Cycles accepted for now, each as a frozenset of object names (none left).
KNOWN = set()


def symbols(archive):
    defs, uses = {}, {}
    out = subprocess.run(['nm', '-A', archive], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        # "ARCHIVE:OBJECT:VALUE TYPE NAME" (VALUE blank for undefined symbols)
        head, _, rest = line.partition('.o:')
        obj = head.rsplit(':', 1)[-1] + '.o'
        parts = rest.split()
        if len(parts) == 2 and parts[0] != 'U':
            parts = []
        defs.setdefault(obj, set())
        uses.setdefault(obj, set())
        if len(parts) == 2 and parts[0] == 'U':
            uses[obj].add(parts[1])
        elif len(parts) == 3 and parts[1] in 'TDBR':
            defs[obj].add(parts[2])
    return defs, uses


def cycles(defs, uses):
    edges = {o: {p for p in defs if p != o and uses[o] & defs[p]} for o in defs}
    index, low, stack, on, found, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


fail = 0
objects = 0
known = 0
for archive in sys.argv[1:]:
    defs, uses = symbols(archive)
    objects += len(defs)
    for comp in cycles(defs, uses):
        if comp in KNOWN:
            known += 1
            continue
        print('FAIL: %s: these files call each other: %s' % (archive, ' '.join(sorted(comp))))
        fail = 1
if not fail:
    print('file cycles: %d objects in %d libraries, no cycle%s' % (
        objects, len(sys.argv) - 1,
        ' but the %d known ones listed in tests/file_cycles.py' % known if known else ''))
sys.exit(fail)
