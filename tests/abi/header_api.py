#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Prints, one per line and sorted, the functions a public C header
declares whose names start with PREFIX: identifiers followed by "(" outside
comments, preprocessor lines and function-pointer members.

usage: header_api.py HEADER PREFIX"""
import re
import sys

text = open(sys.argv[1]).read()
prefix = sys.argv[2]
text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
text = re.sub(r'//[^\n]*', ' ', text)
text = re.sub(r'^\s*#.*?(?<!\\)$', ' ', text, flags=re.M | re.S)
names = set()
for m in re.finditer(r'\b(%s[A-Za-z0-9_]*)\s*\(' % re.escape(prefix), text):
    before = text[:m.start()].rstrip()
    if before.endswith('(*') or before.endswith('('):
        continue            # a function pointer or a call inside a macro
    names.add(m.group(1))
print('\n'.join(sorted(names)))
