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

With --numa the RAM is two memfds of half the size each, node0 and node1,
as QEMU's "-numa node,memdev=" makes it, crossed like the single one:
guest-physical [0, half) is node1 and [half, size) is node0. Both memfds
have the same size and name, so only their mappings tell them apart: the
"dump" property is a real madvise(DONTDUMP) on each one's shared mapping,
as in QEMU. --node1-share off makes node1 a share=off backend. A standard
VGA card's video RAM sits in the flat view as a RAM section of its own.

Usage: fakeqemu.py --qmp PATH --mem-mb N [--file PATH | --numa [--node1-share off]]
                   [--vfio] [--share off] [--hang]
--hang: the QMP socket accepts and never answers (not even the greeting), as a
hung QEMU monitor does.
Prints "ready PID FD [FD1]" once the memfds are allocated and QMP listens
(FD1: node1's with --numa)."""
import argparse
import json
import mmap
import os
import socket


def mtree(size, numa=False):
    half = size // 2
    if numa:
        ram = (f"  0000000000000000-{half - 1:016x} (prio 0, ram): node1\n"
               f"  {half:016x}-{size - 1:016x} (prio 0, ram): node0\n"
               "  00000000fd000000-00000000fdffffff (prio 1, ram): vga.vram\n")
    else:
        ram = (f"  0000000000000000-{half - 1:016x} (prio 0, ram): mem @{half:016x} KVM\n"
               f"  {half:016x}-{size - 1:016x} (prio 0, ram): mem KVM\n")
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
        + ram +
        "  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\n"
        "  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios KVM\n"
        "\n"
        "FlatView #2\n"
        ' AS "virtio-serial-pci", root: bus master container\n'
        " No rendered FlatView\n"
    )


def backends(o):
    """id -> (size, share) of the memory backend objects."""
    if o.numa:
        return {"node0": (o.mem // 2, True), "node1": (o.mem // 2, o.node1_share == "on")}
    return {"mem": (o.mem, o.share == "on")}


def answer(cmd, args, o):
    if cmd == "qmp_capabilities":
        return {}
    if cmd == "human-monitor-command" and args.get("command-line") == "info mtree -f":
        return mtree(o.mem, o.numa)
    if cmd == "query-memdev":
        return [{"id": i, "size": size, "share": share, "dump": o.dump[i], "merge": True,
                 "prealloc": False, "reserve": True, "policy": "default", "host-nodes": []}
                for i, (size, share) in backends(o).items()]
    if cmd == "qom-list":
        path = args.get("path")
        if path == "/objects":
            kind = "file" if o.file else "memfd"
            return [{"name": "type", "type": "string"}] + \
                [{"name": i, "type": f"child<memory-backend-{kind}>"} for i in backends(o)] + \
                [{"name": "rng0", "type": "child<rng-random>"}]
        if path == "/machine/peripheral":
            return ([{"name": "hostdev0", "type": "child<vfio-pci>"}] if o.vfio else []) + \
                [{"name": "vcma-port", "type": "child<virtserialport>"}]
        if path == "/machine/peripheral-anon":
            return [{"name": "device[0]", "type": "child<virtio-serial-pci>"}]
    bid = (args.get("path") or "").removeprefix("/objects/")
    if cmd == "qom-get" and bid in backends(o):
        if args.get("property") == "size":
            return backends(o)[bid][0]
        if args.get("property") == "share":
            return backends(o)[bid][1]
        if args.get("property") == "dump":
            return o.dump[bid]
        if args.get("property") == "mem-path" and o.file:
            return o.file
    if cmd == "qom-set" and bid in backends(o) and args.get("property") == "dump":
        o.dump[bid] = bool(args.get("value"))
        o.maps[bid].madvise(mmap.MADV_DODUMP if o.dump[bid] else mmap.MADV_DONTDUMP)
        return {}
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
    ap.add_argument("--numa", action="store_true")
    ap.add_argument("--node1-share", default="on")
    ap.add_argument("--hang", action="store_true")
    o = ap.parse_args()
    o.mem = o.mem_mb << 20
    o.dump = {i: True for i in backends(o)}
    o.maps = {}
    fds = []
    for bid, (size, _) in backends(o).items():
        if o.file:
            fd = os.open(o.file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        else:
            fd = os.memfd_create("memory-backend-memfd", os.MFD_CLOEXEC)
        os.ftruncate(fd, size)
        # written, not fallocated: tmpfs reports fallocated but unwritten pages as holes
        block = b"\x5a" * (1 << 20)
        for off in range(0, size, len(block)):
            os.pwrite(fd, block, off)
        o.maps[bid] = mmap.mmap(fd, size, mmap.MAP_SHARED)	# QEMU maps its RAM
        fds.append(fd)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(o.qmp)
    s.listen(4)
    print(f"ready {os.getpid()} {' '.join(map(str, fds))}", flush=True)
    hung = []
    while True:
        conn, _ = s.accept()
        if o.hang:
            hung.append(conn)	# held open, never read or answered
            continue
        try:
            serve(conn, o)
        except OSError:
            pass
        conn.close()


if __name__ == "__main__":
    main()
