#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A stand-in for QEMU as vcmad's host reclaim sees it: a shared memfd named
like QEMU's memory-backend-memfd (every page written), and a QMP socket that
answers the queries vcmad makes (info mtree -f, qom-list, qom-get).

The RAM layout is deliberately not the identity: guest-physical
[0, half) lives at backend offset half and [half, size) at offset 0, so a
daemon that ignored the layout would punch the wrong half.

With --file PATH the RAM is a memory-backend-file at PATH instead (opened,
not unlinked, as QEMU does with a file mem-path).

Usage: fakeqemu.py --qmp PATH --mem-mb N [--file PATH] [--vfio] [--share off]
Prints "ready PID FD" once the memfd is allocated and QMP listens."""
import argparse
import json
import os
import socket


def mtree(size):
    half = size // 2
    return (
        "FlatView #0\n"
        ' AS "I/O", root: io\n'
        " Root memory region: io\n"
        "  0000000000000000-000000000000ffff (prio 0, i/o): io\n"
        "\n"
        "FlatView #1\n"
        ' AS "memory", root: system\n'
        ' AS "cpu-memory-0", root: system\n'
        " Root memory region: system\n"
        f"  0000000000000000-{half - 1:016x} (prio 0, ram): mem @{half:016x} KVM\n"
        f"  {half:016x}-{size - 1:016x} (prio 0, ram): mem KVM\n"
        "  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\n"
        "  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios KVM\n"
        "\n"
        "FlatView #2\n"
        ' AS "virtio-serial-pci", root: bus master container\n'
        " No rendered FlatView\n"
    )


def answer(cmd, args, o):
    if cmd == "qmp_capabilities":
        return {}
    if cmd == "human-monitor-command" and args.get("command-line") == "info mtree -f":
        return mtree(o.mem)
    if cmd == "qom-list":
        path = args.get("path")
        if path == "/objects":
            kind = "file" if o.file else "memfd"
            return [{"name": "mem", "type": f"child<memory-backend-{kind}>"},
                    {"name": "rng0", "type": "child<rng-random>"}]
        if path == "/machine/peripheral":
            return ([{"name": "hostdev0", "type": "child<vfio-pci>"}] if o.vfio else []) + \
                [{"name": "vcma-port", "type": "child<virtserialport>"}]
        if path == "/machine/peripheral-anon":
            return [{"name": "device[0]", "type": "child<virtio-serial-pci>"}]
    if cmd == "qom-get" and args.get("path") == "/objects/mem":
        if args.get("property") == "size":
            return o.mem
        if args.get("property") == "share":
            return o.share == "on"
        if args.get("property") == "mem-path" and o.file:
            return o.file
    raise KeyError(cmd)


def serve(conn, o):
    conn.sendall(b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, '
                 b'"capabilities": []}}\r\n')
    f = conn.makefile("rb")
    for line in f:
        try:
            req = json.loads(line)
            ret = {"return": answer(req.get("execute"), req.get("arguments") or {}, o)}
        except (KeyError, ValueError):
            ret = {"error": {"class": "GenericError", "desc": "not supported by fakeqemu"}}
        # an event in between, as QEMU may send one at any time
        conn.sendall(b'{"event": "RTC_CHANGE", "data": {"offset": 0}}\r\n')
        conn.sendall(json.dumps(ret).encode() + b"\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmp", required=True)
    ap.add_argument("--mem-mb", type=int, required=True)
    ap.add_argument("--vfio", action="store_true")
    ap.add_argument("--share", default="on")
    ap.add_argument("--file")
    o = ap.parse_args()
    o.mem = o.mem_mb << 20
    if o.file:
        fd = os.open(o.file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    else:
        fd = os.memfd_create("memory-backend-memfd", os.MFD_CLOEXEC)
    os.ftruncate(fd, o.mem)
    # written, not fallocated: tmpfs reports fallocated but unwritten pages as holes
    block = b"\x5a" * (1 << 20)
    for off in range(0, o.mem, len(block)):
        os.pwrite(fd, block, off)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(o.qmp)
    s.listen(4)
    print(f"ready {os.getpid()} {fd}", flush=True)
    while True:
        conn, _ = s.accept()
        try:
            serve(conn, o)
        except OSError:
            pass
        conn.close()


if __name__ == "__main__":
    main()
