#!/usr/bin/env python3
"""The mm core is compiled into the kernel: it must build with no libc and no
system headers, and reference no symbol outside itself. Compiles each core
source freestanding and checks the undefined symbols of the objects.

memcpy/memset/memmove are the exception: gcc and clang may emit them for
struct copies even when freestanding (both document that the environment
must provide them), and the kernel does."""
import os
import subprocess
import sys
import tempfile

COMPILER_RUNTIME = {'memcpy', 'memset', 'memmove'}

def main():
    if len(sys.argv) < 4 or '--' not in sys.argv:
        print('usage: check_freestanding.py CC... -- SOURCES...', file=sys.stderr)
        return 2
    sep = sys.argv.index('--')
    cc, sources = sys.argv[1:sep], sys.argv[sep + 1:]
    flags = ['-std=c17', '-ffreestanding', '-nostdinc', '-fno-builtin', '-O2',
             '-Wall', '-Wextra', '-Werror', '-Wframe-larger-than=256', '-Wvla']
    failed = 0
    print('1..%d' % (2 * len(sources)))
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            obj = os.path.join(tmp, os.path.basename(src) + '.o')
            r = subprocess.run(cc + flags + ['-c', src, '-o', obj],
                               capture_output=True, text=True)
            n += 1
            if r.returncode:
                failed += 1
                print('not ok %d - %s compiles freestanding\n# %s' %
                      (n, src, r.stderr.replace('\n', '\n# ')))
                n += 1
                print('not ok %d - %s symbols (not compiled)' % (n, src))
                continue
            print('ok %d - %s compiles freestanding' % (n, os.path.basename(src)))
            nm = subprocess.run(['nm', '-u', obj], capture_output=True, text=True)
            foreign = [l.split()[-1] for l in nm.stdout.splitlines()
                       if l.strip() and not l.split()[-1].startswith('vcma_')
                       and l.split()[-1] not in COMPILER_RUNTIME]
            n += 1
            if foreign or nm.returncode:
                failed += 1
                print('not ok %d - %s references %s' % (n, src, ' '.join(foreign)))
            else:
                print('ok %d - %s references only vcma_ symbols' % (n, os.path.basename(src)))
    return 1 if failed else 0

if __name__ == '__main__':
    sys.exit(main())
