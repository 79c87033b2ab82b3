#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Replace the test-vector section of PROTOCOL.md with what vcma-gen-vectors prints.

usage: update_vectors.py VCMA_GEN_VECTORS PROTOCOL.md [--check]

The section lies between the lines '<!-- BEGIN VECTORS -->' and
'<!-- END VECTORS -->'. With --check nothing is written; the exit status is 1
if the document is out of date. The unit test proto-vectors checks the same
thing from C, so this script is only the way to fix it.
"""
import subprocess
import sys

BEGIN = "<!-- BEGIN VECTORS -->\n"
END = "<!-- END VECTORS -->\n"


def main(argv):
    if len(argv) not in (3, 4) or (len(argv) == 4 and argv[3] != "--check"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    gen, doc = argv[1], argv[2]
    vectors = subprocess.run([gen, "markdown"], check=True, capture_output=True,
                             text=True).stdout
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    try:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        print(f"{doc}: vector markers not found", file=sys.stderr)
        return 1
    new = head + BEGIN + "\n" + vectors + END + tail
    if new == text:
        return 0
    if len(argv) == 4:
        print(f"{doc}: test vectors out of date", file=sys.stderr)
        return 1
    with open(doc, "w", encoding="utf-8") as f:
        f.write(new)
    print(f"{doc}: test vectors updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
