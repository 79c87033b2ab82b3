#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""vcmad's host reclaim against a real QEMU, one machine per device kind
(suite vm: it runs QEMU, take /work/vm.lock or run it alone).

QEMU runs its firmware (SeaBIOS, or OVMF from pflash) without a kernel: that
is what programs the PCI BARs, so video RAM shows up in the flat view exactly
as in a booted guest. reclaim-probe then prints what reclaim.c learnt: guest
RAM sections, backends, device memory left out. Checked per kind:
  - the guest RAM sections belong to the expected backends only and cover
    the guest's RAM; no device memory (vga.vram, qxl.vram, pflash, ROMs, an
    ivshmem backend) is a candidate, and the device RAM is named;
  - backends are punched or skipped as expected, with the reason;
  - in every punched backend one 2 MiB chunk is followed end to end: a
    marker written into the backing file the probe opened, at the offset the
    layout gives, is what QEMU's pmemsave reads at that guest-physical
    address; after the probe punches the chunk the file has a hole there and
    the guest reads zeros. With two memfds of one size this also proves
    which file is which node. The hugetlbfs node runs when the host has
    128 free 2 MiB huge pages (skipped otherwise).

Usage: qemu_layout.py PROBE [--record DIR] [KIND...]   (TAP; --record writes
each kind's QMP replies as unit fixtures: mtree.txt, memdev.json,
objects.json, devices.json)"""
import json
import mmap
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vcmatest import Tap  # noqa: E402

M = 1 << 20
G = 1 << 30
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def memfd(bid, size_mb, share="on"):
    return ["-object", f"memory-backend-memfd,id={bid},size={size_mb}M,share={share}"]


ONE = memfd("ram0", 1024) + ["-m", "1G", "-machine", "memory-backend=ram0"]

# kind: (QEMU arguments, flat-view text to wait for (the firmware ran),
#        {backend: punched?}, device memory that must be named, RAM MiB)
KINDS = {
    "vga": (ONE + ["-device", "VGA"], r"\): vga\.vram", {"ram0": True}, ["vga.vram"], 1024),
    "qxl": (ONE + ["-device", "qxl-vga"], r"\): qxl\.vram", {"ram0": True},
            ["vga.vram", "qxl.vram"], 1024),
    "virtio-vga": (ONE + ["-device", "virtio-vga"], r"\): vga\.vram", {"ram0": True},
                   ["vga.vram"], 1024),
    "virtio-gpu": (ONE + ["-device", "virtio-gpu-pci"], r"virtio-pci-common-virtio-gpu",
                   {"ram0": True}, [], 1024),
    "usb": (ONE + ["-device", "qemu-xhci", "-device", "usb-tablet", "-device", "piix3-usb-uhci"],
            r"usb3 port", {"ram0": True}, [], 1024),
    "ovmf": (ONE + ["-device", "VGA", "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                    "-drive", "if=pflash,format=raw,file=@VARS@"], r"\): system\.flash0",
             {"ram0": True}, [], 1024),
    "numa1": (memfd("node0", 1024) + ["-m", "1G", "-numa", "node,nodeid=0,memdev=node0",
                                      "-device", "VGA"], r"\): vga\.vram", {"node0": True},
              ["vga.vram"], 1024),
    # the node of share=off spans the PCI hole: below and above 4 GiB
    "numa2": (memfd("node0", 1536) + memfd("node1", 2560, "off") +
              ["-m", "4G", "-numa", "node,nodeid=0,memdev=node0",
               "-numa", "node,nodeid=1,memdev=node1", "-device", "VGA"], r"\): vga\.vram",
              {"node0": True, "node1": False}, ["vga.vram"], 4096),
    # two memfds of one size: alike in /proc/PID/fd
    "numa2-equal": (memfd("node0", 512) + memfd("node1", 512) +
                    ["-m", "1G", "-numa", "node,nodeid=0,memdev=node0",
                     "-numa", "node,nodeid=1,memdev=node1", "-device", "VGA"],
                    r"\): vga\.vram", {"node0": True, "node1": True}, ["vga.vram"], 1024),
    # a hugetlbfs node (2 MiB pages) beside a tmpfs one; needs 128 free 2 MiB huge pages
    "numa2-hugetlb": (["-object", "memory-backend-memfd,id=node0,size=256M,share=on,hugetlb=on,"
                       "hugetlbsize=2M"] + memfd("node1", 256) +
                      ["-m", "512M", "-numa", "node,nodeid=0,memdev=node0",
                       "-numa", "node,nodeid=1,memdev=node1", "-device", "VGA"],
                      r"\): vga\.vram", {"node0": True, "node1": True}, ["vga.vram"], 512),
    "default-ram": (["-m", "512M", "-device", "VGA"], r"\): vga\.vram", {"pc.ram": False},
                    ["vga.vram"], 512),
    "ivshmem": (memfd("ram0", 512) + memfd("shm0", 16) +
                ["-m", "512M", "-machine", "memory-backend=ram0",
                 "-device", "ivshmem-plain,memdev=shm0,id=shmdev"], r"\): shm0",
                {"ram0": True}, ["shm0 (memdev of ivshmem-plain)"], 512),
}
SKIP_WHY = {"node1": "share=off", "pc.ram": "anonymous memory"}


def free_hugepages():
    try:
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
            return int(f.read())
    except OSError:
        return 0


class Qmp:
    def __init__(self, path, timeout=20):
        until = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > until:
                    raise
                time.sleep(0.1)
        self.f = self.s.makefile("rwb")
        self.read()
        self.run("qmp_capabilities")

    def read(self):
        while True:
            o = json.loads(self.f.readline())
            if "event" not in o:
                return o

    def run(self, cmd, **args):
        self.f.write(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
        self.f.flush()
        r = self.read()
        if "error" in r:
            raise RuntimeError(f"{cmd}: {r['error'].get('desc')}")
        return r["return"]

    def mtree(self):
        return self.run("human-monitor-command", **{"command-line": "info mtree -f"})

    def devices(self):
        """As reclaim.c's list_devices: [{path, type, memdev?}]."""
        out = []
        for root in ("/machine/peripheral", "/machine/peripheral-anon"):
            for e in self.run("qom-list", path=root):
                if not e["type"].startswith("child<"):
                    continue
                d = {"path": f"{root}/{e['name']}", "type": e["type"][6:-1]}
                try:
                    d["memdev"] = self.run("qom-get", path=d["path"], property="memdev")
                except RuntimeError:
                    pass
                out.append(d)
        return out


def memory_view(mtree):
    """The flat view of address space "memory" (the text block)."""
    for block in mtree.replace("\r", "").split("\n\n"):
        if '\n AS "memory",' in "\n" + block:
            return block
    return ""


def run_kind(tap, probe, kind, work, record):
    args, wait_re, want, device_ram, ram_mb = KINDS[kind]
    if kind == "numa2-hugetlb" and free_hugepages() < 128:
        tap.skip(f"{kind}: the host has {free_hugepages()} free 2 MiB huge pages, 128 needed "
                 "(scripts/check reserves them when it can)")
        return
    if kind == "ovmf" and not os.path.exists(OVMF_CODE):
        tap.ok(False, f"{kind}: {OVMF_CODE} present (Debian's ovmf package, scripts/deps)")
        return
    vars_copy = os.path.join(work, "vars.fd")
    if kind == "ovmf":
        shutil.copy(OVMF_VARS, vars_copy)
    args = [a.replace("@VARS@", vars_copy) for a in args]
    qmp_path = os.path.join(work, f"{kind}.qmp")
    probe_path = os.path.join(work, f"{kind}.probe")
    log = open(os.path.join(work, f"{kind}.log"), "w")
    qemu = subprocess.Popen(["qemu-system-x86_64", "-nodefaults", "-display", "none",
                             "-machine", "q35", "-accel", "tcg", "-smp", "1"] + args +
                            ["-qmp", f"unix:{qmp_path},server=on,wait=off",
                             "-qmp", f"unix:{probe_path},server=on,wait=off"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        q = Qmp(qmp_path)
        until = time.time() + 120
        view = ""
        while time.time() < until and not re.search(wait_re, view):
            time.sleep(0.5)
            view = memory_view(q.mtree())
        if not tap.ok(re.search(wait_re, view), f"{kind}: the firmware mapped the devices "
                      f"(flat view shows /{wait_re}/)", view):
            return
        if record:
            d = os.path.join(record, kind)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "mtree.txt"), "w") as f:
                f.write(q.mtree().replace("\r", ""))
            for name, val in (("memdev", q.run("query-memdev")),
                              ("objects", q.run("qom-list", path="/objects")),
                              ("devices", q.devices())):
                with open(os.path.join(d, f"{name}.json"), "w") as f:
                    json.dump(val, f, indent=1, sort_keys=True)
                    f.write("\n")
        p = subprocess.run([probe, probe_path], capture_output=True, text=True, timeout=60)
        if not tap.ok(p.returncode == 0, f"{kind}: reclaim-probe ran", p.stderr):
            return
        r = json.loads(p.stdout)
        print(f"# {kind}: {r['why']}")
        bes = {b["id"]: b for b in r["backends"]}
        if kind == "numa2-hugetlb":
            tap.ok(bes.get("node0", {}).get("kind") == "hugetlbfs" and
                   bes.get("node1", {}).get("kind") == "memfd",
                   f"{kind}: node0 punched as hugetlbfs, node1 as memfd", r)
        tap.ok({k: b["punched"] for k, b in bes.items()} == want,
               f"{kind}: guest RAM backends {sorted(want)}, punched {sorted(k for k in want if want[k])}",
               r)
        tap.ok(all(k in want for k in (s["backend"] for s in r["sections"])) and
               all(d in r["device_ram"] for d in device_ram),
               f"{kind}: no device memory among the chunks' sections"
               f"{', device RAM named: ' + ', '.join(device_ram) if device_ram else ''}", r)
        covered = sum(s["size"] for s in r["sections"])
        # the legacy VGA window and the BIOS shadow (< 1 MiB) are no guest RAM sections
        tap.ok(ram_mb * M - M <= covered <= ram_mb * M, f"{kind}: the sections cover the "
               f"guest's {ram_mb} MiB ({covered / M:.2f} MiB)", r["sections"])
        for bid, b in bes.items():
            if not b["punched"]:
                tap.ok(SKIP_WHY[bid] in b.get("reason", "") and bid in r["why"],
                       f"{kind}: {bid} skipped, saying {SKIP_WHY[bid]!r}", b)
        follow_chunks(tap, kind, q, qemu.pid, probe, probe_path, r, work)
    finally:
        qemu.terminate()
        qemu.wait(30)


def fd_by_ino(pid, ino):
    for fd in os.listdir(f"/proc/{pid}/fd"):
        p = f"/proc/{pid}/fd/{fd}"
        try:
            if os.stat(p).st_ino == ino:
                return p
        except OSError:
            pass
    return None


def follow_chunks(tap, kind, q, pid, probe, probe_path, r, work):
    """One chunk per punched backend: marker via the file -> seen by the guest -> punched."""
    chunks = []
    for b in r["backends"]:
        if not b["punched"]:
            continue
        secs = [s for s in r["sections"] if s["backend"] == b["id"]]
        s = max(secs, key=lambda s: s["gpa"])	# the highest: firmware leaves it alone
        gpa = (s["gpa"] + s["size"] // 2) & ~(2 * M - 1)
        off = s["offset"] + gpa - s["gpa"]
        path = fd_by_ino(pid, b["ino"])
        marker = f"vcma {kind} {b['id']} @{off:#x}".encode().ljust(4096, b".")
        # through a shared mapping: hugetlbfs has no write(2)
        fd = os.open(path, os.O_RDWR)
        try:
            with mmap.mmap(fd, 2 * M, mmap.MAP_SHARED, offset=off) as m:
                m[:len(marker)] = marker
        finally:
            os.close(fd)
        dump = os.path.join(work, "pmem")
        q.run("pmemsave", val=gpa, size=4096, filename=dump)
        with open(dump, "rb") as f:
            seen = f.read()
        tap.ok(seen == marker, f"{kind}: GPA {gpa:#x} is {b['id']} @{off:#x} (the guest reads "
               "the marker written into the file the probe opened)", seen[:64])
        chunks.append((gpa, off, path, b["id"], b["kind"], os.stat(path).st_blocks * 512))
    if not chunks:
        return
    p = subprocess.run([probe, probe_path] + [hex(c[0]) for c in chunks], capture_output=True,
                       text=True, timeout=60)
    res = json.loads(p.stdout)["punch"] if p.returncode == 0 else None
    tap.ok(res == [0] * len(chunks), f"{kind}: the probe punched {len(chunks)} chunk(s)",
           p.stdout + p.stderr)
    for gpa, off, path, bid, bkind, blocks in chunks:
        if bkind == "hugetlbfs":	# no SEEK_DATA there; the marker took one whole huge page
            hole = blocks - os.stat(path).st_blocks * 512 == 2 * M
        else:
            fd = os.open(path, os.O_RDONLY)
            try:
                hole = os.lseek(fd, off, os.SEEK_DATA) >= off + 2 * M
            except OSError:
                hole = True
            finally:
                os.close(fd)
        dump = os.path.join(work, "pmem")
        q.run("pmemsave", val=gpa, size=4096, filename=dump)
        with open(dump, "rb") as f:
            zero = f.read() == bytes(4096)
        tap.ok(hole and zero, f"{kind}: {bid}'s file has a 2 MiB hole at {off:#x} and the guest "
               f"reads zeros at {gpa:#x}")


def main():
    av = sys.argv[1:]
    if not av or av[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    probe, av = av[0], av[1:]
    record = None
    if av[:1] == ["--record"]:
        record, av = os.path.abspath(av[1]), av[2:]
    kinds = av or list(KINDS)
    if shutil.which("qemu-system-x86_64") is None:
        print("1..0 # SKIP qemu-system-x86_64 missing")
        return 0
    tap = Tap()
    work = tempfile.mkdtemp(prefix="vcma-layout-")
    try:
        for k in kinds:
            try:
                run_kind(tap, probe, k, work, record)
            except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                tap.ok(False, f"{k}: {e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
