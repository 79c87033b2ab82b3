#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Integration tests of the balloon: the real vcmad with the real vcma-agent
on the mm model (--sim), a scripted hostile guest, and fakeqemu.py standing in
for QEMU's QMP socket and memfd RAM, so host reclaim punches a real memfd.
Prints TAP. Usage: test_balloon.py SCENARIO (see SCENARIOS)."""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vcmatest import M, main, prometheus_problems  # noqa: E402

FAKEQEMU = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakeqemu.py")
CHUNK = 2 * M


def balloon(env, vm):
    """GET .../balloon once vcmad's QMP inspection (on its thread) has answered."""
    def get():
        code, doc = env.api("GET", f"/v1/vms/{vm}/balloon")
        return doc if code == 200 else {}
    env.wait(lambda: not get().get("host", {}).get("reclaim_pending"), 10)
    return get()


def settle(env, vm, timeout=60):
    env.wait(lambda: balloon(env, vm).get("state") not in ("running", "disconnected", None),
             timeout)
    return balloon(env, vm)


def serve_sim_guest(env, tap, mem, qemu=None, what="vcmad serves the simulated guest"):
    """vcma-agent --sim with mem as VM "g" behind vcmad, with qemu's QMP socket
    (host reclaim) when given; one test. The agent's process, None if vcmad
    never got the guest ready."""
    p, vms = env.agent("g", mem=mem)
    if qemu:
        started = env.start({}, ["--vm", f"g={vms['g']},qmp={qemu.qmp}"])
    else:
        started = env.start(vms)
    return p if tap.ok(started and env.ready("g"), what) else None


class FakeQemu:
    """fakeqemu.py as a process; allocated() reads its memfd from the host side."""

    def __init__(self, env, mem_mb, *extra):
        self.qmp = os.path.join(env.dir, "qmp.sock")
        log = open(os.path.join(env.dir, "fakeqemu.log"), "a")
        self.p = subprocess.Popen([sys.executable, FAKEQEMU, "--qmp", self.qmp,
                                   "--mem-mb", str(mem_mb)] + list(extra),
                                  stdout=subprocess.PIPE, stderr=log, text=True)
        env.guest_procs.append(self.p)
        _, pid, *fds = self.p.stdout.readline().split()
        # with --numa: node0's and node1's memfds, each half the size
        self.paths = [f"/proc/{pid}/fd/{fd}" for fd in fds]
        self.path = self.paths[0]
        self.size = mem_mb * M

    def allocated(self, node=None):
        paths = self.paths if node is None else [self.paths[node]]
        return sum(os.stat(p).st_blocks * 512 for p in paths)

    def is_hole(self, off, length, node=0):
        """True if [off, off + length) of the memfd holds no data."""
        fd = os.open(self.paths[node], os.O_RDONLY)
        try:
            try:
                data = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                return True	# no data after off at all
            return data >= off + length
        finally:
            os.close(fd)


# ---- a hostile guest speaking the wire protocol --------------------------------

HDR = struct.Struct("<IBBHIIQ")
MAGIC = 0x414D4356
HELLO, STATUS, STATUS_RESULT, BSET, BREPORT, PING, PONG, ERROR = 1, 8, 9, 6, 7, 11, 12, 13


def frame(mtype, rid, payload, flags=0):
    return HDR.pack(MAGIC, 1, mtype, flags, len(payload), 0, rid) + payload


def hello_payload(mem):
    fixed = struct.pack("<HHBBBBQII16sQQQ32s", 1, 1, 2, 9, 11, 0, 0x0f, 4096, 1,
                        b"hostile-guest-01", mem, mem // 2, 0, b"hostile guest")
    return fixed + struct.pack("<QQIB3x", 0, mem, 0, 2)


def report(target, actual, chunks, status=0, direction=1):
    return struct.pack("<QQIBBH", target, actual, status, 9, direction if chunks else 0,
                       len(chunks)) + b"".join(struct.pack("<Q", c) for c in chunks)


class HostileGuest(threading.Thread):
    """Answers each BALLOON_SET with the next scripted list of chunk GPAs."""

    def __init__(self, path, mem):
        super().__init__(daemon=True)
        self.path, self.mem = path, mem
        self.script = []
        self.balloon = 0
        self.sets = 0
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(2)

    def run(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            try:
                self.session(c)
            except (OSError, struct.error):
                pass
            c.close()

    def recv_exact(self, c, n):
        b = b""
        while len(b) < n:
            x = c.recv(n - len(b))
            if not x:
                raise OSError("eof")
            b += x
        return b

    def session(self, c):
        c.sendall(frame(HELLO, 0, hello_payload(self.mem)))
        while True:
            magic, ver, mtype, flags, plen, _, rid = HDR.unpack(self.recv_exact(c, HDR.size))
            payload = self.recv_exact(c, plen)
            if mtype == HELLO:
                c.sendall(frame(HELLO, rid, hello_payload(self.mem)))
            elif mtype == STATUS:
                c.sendall(frame(STATUS_RESULT, rid, struct.pack(
                    "<QQQQQQQII16s", self.mem, self.mem // 2, self.mem // 2, self.balloon,
                    0, 0, 0, 0, 0, b"hostile-guest-01")))
            elif mtype == PING:
                c.sendall(frame(PONG, rid, b""))
            elif mtype == BSET:
                target = struct.unpack("<Q", payload[:8])[0]
                self.sets += 1
                chunks, unsolicited = self.script.pop(0) if self.script else ([], False)
                actual = self.balloon + len(chunks) * CHUNK
                if unsolicited:
                    c.sendall(frame(BREPORT, 0, report(target, actual, chunks)))
                    c.sendall(frame(BREPORT, rid, report(target, self.balloon, [], 10)))
                else:
                    c.sendall(frame(BREPORT, rid, report(target, actual, chunks)))


# ---- scenarios ---------------------------------------------------------------------


def t_batches(env, tap):
    """768 chunks need two BALLOON_REPORT frames (<= 512 each); all arrive and deflate back."""
    if not serve_sim_guest(env, tap, "4G"):
        return
    b = balloon(env, "g")
    full = b["guest_mem_total_bytes"]
    tap.ok(b["state"] == "done" and b["target_bytes"] == 0, "no balloon at first", b)
    tap.ok(not b["host"]["reclaim_possible"] and "QMP" in b["host"]["reason"],
           "without a QMP socket host reclaim is off and says why", b["host"])
    rc, out, err = env.ctl("balloon", "g", "--target", "1536M", "--wait", timeout=120)
    b = balloon(env, "g")
    tap.ok(rc == 0 and b["actual_bytes"] == 1536 * M and b["chunks"] == 768,
           "1536 MiB in 768 chunks of 2 MiB", out + err)
    tap.ok("... balloon" in out, "vcmactl --wait prints progress", out)
    tap.ok(b["guest_mem_total_bytes"] == full - 1536 * M,
           "the guest's MemTotal shrank by the balloon", b)
    frames = env.metric("vcmad_vm_frames_received_total", vm="g")
    tap.ok(b["chunks_inflated"] == 768 and b["chunks_refused"] == 0, "no chunk refused", b)
    code, text = env.api("GET", "/metrics")
    tap.ok(env.metric("vcmad_balloon_actual_bytes", vm="g") == 1536 * M and
           env.metric("vcmad_balloon_chunks", vm="g") == 768 and
           not prometheus_problems(text), "balloon metrics", text[-800:])
    rc, out, err = env.ctl("resize", "g", str(full - 512 * M), "--wait", timeout=120)
    b = balloon(env, "g")
    tap.ok(rc == 0 and b["target_bytes"] == 512 * M and b["actual_bytes"] == 512 * M and
           b["chunks"] == 256, "resize to MemTotal+balloon-512M deflates to a 512 MiB balloon",
           out + err)
    rc, out, err = env.ctl("balloon", "g", "--target", "0", "--wait", timeout=120)
    b = balloon(env, "g")
    tap.ok(rc == 0 and b["actual_bytes"] == 0 and b["chunks"] == 0 and
           b["guest_mem_total_bytes"] == full, "target 0 gives everything back", b)
    tap.ok(env.metric("vcmad_vm_protocol_errors_total", vm="g") == 0 and frames,
           "no protocol violations")
    rc, out, err = env.ctl("balloon", "g", "--target", "3M")
    tap.ok(rc == 1 and "multiple" in err, "a target that is no multiple of 2 MiB: exit 1", err)
    rc, out, err = env.ctl("resize", "g", "100G")
    tap.ok(rc == 1 and "more than" in err, "a size above the guest's memory: exit 1", err)


def t_floor(env, tap):
    """A target above what the guest can spare stops at its floor: a status, not an OOM."""
    p = serve_sim_guest(env, tap, "1G")
    if not p:
        return
    rc, out, err = env.ctl("balloon", "g", "--target", "1000M", "--wait", timeout=120)
    b = balloon(env, "g")
    tap.ok(rc == 1 and b["state"] == "floor" and b["floor_hit"] and
           0 < b["actual_bytes"] < 1000 * M, "stopped at the floor, exit 1", out + err)
    tap.ok("floor" in b["detail"] and b["floor_short_bytes"] == 1000 * M - b["actual_bytes"],
           "the status says why and by how much", b)
    tap.ok(env.metric("vcmad_balloon_floor_hit", vm="g") == 1, "floor metric")
    tap.ok(p.poll() is None, "the guest agent is alive")
    tap.ok(env.wait(lambda: "FLOOR_HIT" in env.log(), 5),
           "the guest's FLOOR_HIT event reached vcmad", env.log()[-1500:])
    rc, out, err = env.ctl("balloon", "g", "--target", "64M", "--wait", timeout=60)
    b = balloon(env, "g")
    tap.ok(rc == 0 and b["actual_bytes"] == 64 * M and not b["floor_hit"],
           "a reachable target afterwards deflates and clears the floor", b)


def t_restart(env, tap):
    """The target is desired state: it survives vcmad restarts and guest reboots."""
    p = serve_sim_guest(env, tap, "1G")
    if not p:
        return
    rc, out, err = env.ctl("balloon", "g", "--target", "256M", "--wait", timeout=60)
    tap.ok(rc == 0, "256 MiB ballooned", out + err)
    tap.ok(env.restart() and env.ready("g"), "vcmad restarted")
    b = settle(env, "g")
    tap.ok(b["target_bytes"] == 256 * M and b["actual_bytes"] == 256 * M and
           b["state"] == "done", "after the restart the stored target is still met", b)
    env.stop()
    p.terminate()
    p.wait(10)
    env.guest_procs.remove(p)
    p, _ = env.agent("g", mem="1G")	# a new boot: the new guest has no balloon
    tap.ok(env.restart() and env.ready("g"), "vcmad and a rebooted guest")
    b = settle(env, "g")
    tap.ok(b["target_bytes"] == 256 * M and b["actual_bytes"] == 256 * M,
           "the rebooted guest got the target re-applied", b)
    # chunks inflated before vcmad's restart are unknown to it; deflating them is harmless
    rc, out, err = env.ctl("balloon", "g", "--target", "0", "--wait", timeout=60)
    b = balloon(env, "g")
    tap.ok(rc == 0 and b["actual_bytes"] == 0 and b["chunks"] == 0 and
           env.metric("vcmad_vm_protocol_errors_total", vm="g") == 0,
           "deflated to 0 without violations", b)


def t_reclaim(env, tap):
    """With a memfd backend behind QMP, inflated chunks are punched at their backing offsets."""
    q = FakeQemu(env, 512)
    if not serve_sim_guest(env, tap, "512M", q, "vcmad with --vm NAME=CHANNEL,qmp=PATH"):
        return
    b = balloon(env, "g")
    tap.ok(b["host"]["reclaim_possible"] and b["host"]["backend"] == "memfd",
           "host reclaim possible on the memfd", b["host"])
    before = q.allocated()
    rc, out, err = env.ctl("balloon", "g", "--target", "128M", "--wait", timeout=60)
    b = balloon(env, "g")
    after = q.allocated()
    tap.ok(rc == 0 and b["actual_bytes"] == 128 * M, "128 MiB ballooned", out + err)
    tap.ok(before - after == 128 * M, f"the memfd lost exactly 128 MiB of blocks "
           f"(measured {(before - after) / M:.1f} MiB)", b["host"])
    tap.ok(b["host"].get("backing_freed_bytes") == 128 * M and
           abs(b["host"].get("freed_per_mib_ballooned", 0) - 1.0) < 1e-9,
           "GET reports the measured host memory freed", b["host"])
    # every punched hole is a whole 2 MiB chunk (the layout's offsets are unit-tested)
    holes = [off for off in range(0, q.size, CHUNK) if q.is_hole(off, CHUNK)]
    tap.ok(len(holes) == 64, "64 holes of 2 MiB in the memfd", holes)
    tap.ok(env.metric("vcmad_balloon_punched_bytes_total", vm="g") == 128 * M,
           "punched bytes metric")
    rc, out, err = env.ctl("balloon", "g", "--target", "0", "--wait", timeout=60)
    tap.ok(rc == 0 and balloon(env, "g")["chunks"] == 0 and q.allocated() == after,
           "deflate hands chunks back without touching the backing", out + err)


def t_file(env, tap):
    """memory-backend-file (mem-path on tmpfs): punched through QEMU's fd of that file."""
    path = os.path.join("/dev/shm" if os.path.isdir("/dev/shm") else env.dir,
                        f"vcma-balloon-test-{os.getpid()}")
    q = FakeQemu(env, 256, "--file", path)
    try:
        if not serve_sim_guest(env, tap, "256M", q, "vcmad serves the guest"):
            return
        b = balloon(env, "g")
        tap.ok(b["host"]["reclaim_possible"] and b["host"]["backend"] in ("file", "hugetlbfs"),
               "host reclaim possible on the file", b["host"])
        before = q.allocated()
        rc, out, err = env.ctl("balloon", "g", "--target", "64M", "--wait", timeout=60)
        tap.ok(rc == 0 and before - q.allocated() == 64 * M and
               before - os.stat(path).st_blocks * 512 == 64 * M,
               "the file lost 64 MiB of blocks", out + err)
    finally:
        os.unlink(path)


def t_share_off(env, tap):
    """share=off: QEMU's RAM is a private copy; punching the file would free nothing."""
    q = FakeQemu(env, 128, "--share", "off")
    if not serve_sim_guest(env, tap, "128M", q, "vcmad serves the guest"):
        return
    b = balloon(env, "g")
    tap.ok(not b["host"]["reclaim_possible"] and "share=off" in b["host"]["reason"],
           "host reclaim off, saying share=off", b["host"])


def t_vfio(env, tap):
    """A VM with a VFIO device: the guest shrinks, the host backing is never punched."""
    q = FakeQemu(env, 256, "--vfio")
    if not serve_sim_guest(env, tap, "256M", q, "vcmad serves the guest"):
        return
    before = q.allocated()
    rc, out, err = env.ctl("balloon", "g", "--target", "64M", "--wait", timeout=60)
    b = balloon(env, "g")
    tap.ok(rc == 0 and b["actual_bytes"] == 64 * M, "the guest still shrinks", out + err)
    tap.ok(not b["host"]["reclaim_possible"] and "VFIO" in b["host"]["reason"],
           "host reclaim refused, naming the VFIO device", b["host"])
    tap.ok(q.allocated() == before and b["host"]["punched_bytes"] == 0, "nothing punched")


def t_hostile(env, tap):
    """Bogus chunk GPAs from a guest are refused and never punched."""
    mem = 64 * M
    q = FakeQemu(env, 64)
    path = os.path.join(env.dir, "evil.sock")
    g = HostileGuest(path, mem)
    g.start()
    if not tap.ok(env.start({}, ["--vm", f"evil={path},qmp={q.qmp}"]) and env.ready("evil"),
                  "vcmad serves the hostile guest"):
        return
    tap.ok(balloon(env, "evil")["host"]["reclaim_possible"], "reclaim set up")
    base = q.allocated()
    attacks = [	# (what, target asked, chunks the guest claims)
        ("misaligned chunk", 2 * M, [4 * M + 4096]),
        ("chunk outside the guest's memory map", 4 * M, [mem + 2 * M]),
        ("more chunks than asked for", 6 * M, [0, 2 * M, 4 * M, 6 * M]),
        ("the same chunk twice in a frame", 8 * M, [8 * M, 8 * M]),
    ]
    for what, target, chunks in attacks:
        g.script.append((chunks, False))
        refused = balloon(env, "evil").get("chunks_refused", 0)
        env.api("PUT", "/v1/vms/evil/balloon", {"target": target})
        env.wait(lambda: balloon(env, "evil").get("chunks_refused", 0) > refused, 10)
        b = balloon(env, "evil")
        tap.ok(b.get("chunks_refused", 0) == refused + len(chunks) and q.allocated() == base,
               f"{what}: refused, nothing punched", b)
    # an unsolicited inflate is not a request we made
    g.script.append(([10 * M], True))
    refused = balloon(env, "evil").get("chunks_refused", 0)
    env.api("PUT", "/v1/vms/evil/balloon", {"target": 10 * M})
    env.wait(lambda: balloon(env, "evil").get("chunks_refused", 0) > refused, 10)
    tap.ok(balloon(env, "evil").get("chunks_refused", 0) == refused + 1 and
           q.allocated() == base, "unsolicited inflate report: refused, nothing punched")
    tap.ok(env.metric("vcmad_vm_protocol_errors_total", vm="evil") == 5,
           "every bogus report counted as a protocol violation")
    # the detector can fail: a valid chunk is punched
    g.script.append(([12 * M], False))
    env.api("PUT", "/v1/vms/evil/balloon", {"target": 12 * M})
    # tmpfs frees a punched range in batches: wait for the whole punch, then
    # check that it was exactly one chunk
    env.wait(lambda: base - q.allocated() >= CHUNK, 10)
    tap.ok(base - q.allocated() == CHUNK, "a valid chunk from the same guest is punched",
           balloon(env, "evil"))
    # fakeqemu maps guest [0, half) to backend [half, size): GPA 12M is offset half + 12M
    tap.ok(q.is_hole(q.size // 2 + 12 * M, CHUNK) and not q.is_hole(12 * M, CHUNK),
           "punched at the backend offset QEMU's layout gives, not at the GPA")


def t_numa(env, tap):
    """Two NUMA nodes, one memfd each (alike but for their mappings), and VGA
    video RAM in the flat view: every chunk is punched in its node's memfd at
    its offset there; chunks in the video RAM are refused."""
    half = 128 * M
    q = FakeQemu(env, 256, "--numa")
    path = os.path.join(env.dir, "numa.sock")
    # the guest claims a map up to 4 GiB, over the VGA BAR: only QEMU's layout tells
    g = HostileGuest(path, 4 * 1024 * M)
    g.start()
    if not tap.ok(env.start({}, ["--vm", f"n={path},qmp={q.qmp}"]) and env.ready("n"),
                  "vcmad serves a two-node guest with VGA"):
        return
    b = balloon(env, "n")
    h = b["host"]
    tap.ok(h["reclaim_possible"] and [x["id"] for x in h["backends"]] == ["node1", "node0"] and
           all(x["punched"] for x in h["backends"]) and "vga.vram" in h["reason"],
           "host reclaim on both nodes' memfds; the video RAM is named as device memory", h)
    base0, base1 = q.allocated(0), q.allocated(1)
    # GPA 2M is node1 @2M; GPA half + 4M is node0 @4M (fakeqemu's crossed layout)
    g.script.append(([2 * M, half + 4 * M], False))
    env.api("PUT", "/v1/vms/n/balloon", {"target": 4 * M})
    env.wait(lambda: base0 - q.allocated(0) >= CHUNK and base1 - q.allocated(1) >= CHUNK, 10)
    tap.ok(base0 - q.allocated(0) == CHUNK and base1 - q.allocated(1) == CHUNK,
           "one chunk punched in each node's memfd",
           (base0 - q.allocated(0), base1 - q.allocated(1)))
    tap.ok(q.is_hole(2 * M, CHUNK, node=1) and q.is_hole(4 * M, CHUNK, node=0) and
           not q.is_hole(2 * M, CHUNK, node=0) and not q.is_hole(4 * M, CHUNK, node=1),
           "each at its offset in its own node's backend")
    h = balloon(env, "n")["host"]
    tap.ok([x["punched_bytes"] for x in h["backends"]] == [CHUNK, CHUNK] and
           h["punched_bytes"] == 2 * CHUNK, "GET shows the bytes punched per backend", h)
    refused = balloon(env, "n").get("chunks_refused", 0)
    g.script.append(([0xfd000000], False))
    env.api("PUT", "/v1/vms/n/balloon", {"target": 6 * M})
    env.wait(lambda: balloon(env, "n").get("chunks_refused", 0) > refused, 10)
    tap.ok(balloon(env, "n").get("chunks_refused", 0) == refused + 1 and
           q.allocated(0) == base0 - CHUNK and q.allocated(1) == base1 - CHUNK,
           "a chunk in the video RAM: refused, nothing punched", balloon(env, "n"))


def t_numa_mixed(env, tap):
    """A node whose backend has share=off is skipped with its reason; the
    other node's chunks are punched (the real agent on the model decides)."""
    q = FakeQemu(env, 512, "--numa", "--node1-share", "off")
    if not serve_sim_guest(env, tap, "512M", q, "vcmad serves a two-node guest"):
        return
    h = balloon(env, "g")["host"]
    be = {x["id"]: x for x in h["backends"]}
    tap.ok(h["reclaim_possible"] and be["node0"]["punched"] and not be["node1"]["punched"] and
           "share=off" in be["node1"]["reason"] and "node1" in h["reason"],
           "node0 punched, node1 skipped saying share=off", h)
    base0, base1 = q.allocated(0), q.allocated(1)
    rc, out, err = env.ctl("balloon", "g", "--target", "128M", "--wait", timeout=120)
    b = balloon(env, "g")
    be = {x["id"]: x for x in b["host"]["backends"]}
    tap.ok(rc == 0 and b["actual_bytes"] == 128 * M, "128 MiB ballooned over both nodes",
           out + err)
    freed0 = base0 - q.allocated(0)
    tap.ok(q.allocated(1) == base1 and be["node1"]["punched_bytes"] == 0 and
           be["node1"]["skipped_bytes"] > 0, "node1's memfd untouched, its chunks counted as "
           f"skipped ({be['node1']['skipped_bytes'] // M} MiB)", be)
    tap.ok(freed0 > 0 and freed0 == be["node0"]["punched_bytes"] and
           freed0 + be["node1"]["skipped_bytes"] == 128 * M,
           f"node0's memfd lost exactly what was punched there ({freed0 // M} MiB)", be)
    tap.ok(b["host"].get("backing_freed_bytes") == freed0 and b["host"]["punch_errors"] == 0,
           "GET reports the measured host memory freed on the punchable node", b["host"])


class HungMonitor(threading.Thread):
    """A QMP socket that accepts and never says a word (a hung QEMU monitor)."""
    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(8)
        self.conns = []

    def run(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns.append(c)	# kept open, never answered


def t_hung_qmp(env, tap):
    """One VM's QMP monitor accepts and never answers: vcmad asks it on a thread,
    so GETs of that VM answer "pending" at once, and another VM keeps getting
    its RESERVEs and GETs answered meanwhile. Functional only: the latency
    figure is printed, not asserted (tests/bench/daemon measures it)."""
    hung = HungMonitor(os.path.join(env.dir, "hung-qmp.sock"))
    hung.start()
    _, hpath = env.agent("h", mem="512M")
    _, good = env.guests(["good"])
    tap.ok(env.start(good, ["--vm", f"h={hpath['h']},qmp={hung.path}"]) and env.ready("h", "good"),
           "vcmad serves the VM with the hung monitor and another one")
    t0 = time.monotonic()
    code, b = env.api("GET", "/v1/vms/h/balloon")
    first_ms = (time.monotonic() - t0) * 1000
    h = b.get("host", {}) if code == 200 else {}
    tap.ok(code == 200 and h.get("reclaim_pending") is True and h.get("backend") == "pending" and
           "pending" in h.get("reason", ""), f"GET of its balloon answers at once: reclaim pending "
           f"({first_ms:.0f} ms)", b)
    code, _ = env.api("PUT", "/v1/vms/h/balloon", {"target": "64M"})
    tap.ok(code in (200, 202), "a balloon target for it is taken", code)
    lat, reserved, gets = [], 0, 0
    end = time.monotonic() + 2.5	# QMP_TIMEOUT_MS is 2 s: the inspection hangs all along
    while time.monotonic() < end:
        t = time.monotonic()
        code, doc = env.api("POST", "/v1/vms/good/reservations", {"size": "2M"})
        reserved += code in (200, 201, 202)
        for path in ("/v1/vms/good", "/v1/vms/h/balloon"):
            t = time.monotonic()
            code, _ = env.api("GET", path)
            lat.append((time.monotonic() - t) * 1000)
            gets += code == 200
    lat.sort()
    tap.diag(f"{gets} GETs, {reserved} reservations in 2.5 s with the monitor hung; "
             f"GET p99 {lat[int(len(lat) * 0.99) - 1] if lat else 0:.1f} ms, max {lat[-1] if lat else 0:.1f} ms")
    tap.ok(reserved >= 5 and gets >= 10, "the other VM's RESERVEs and GETs keep being answered",
           (reserved, gets))
    tap.ok(env.wait(lambda: env.settled("good", reserved), 20), "its reservations are granted",
           env.rsvs("good")[-3:])
    tap.ok(len(hung.conns) >= 1, "vcmad did connect to the hung monitor", len(hung.conns))
    # the inspection gives up after its timeout: refused with the reason, chunks kept unpunched
    done = env.wait(lambda: not balloon(env, "h").get("host", {}).get("reclaim_pending"), 10)
    b = settle(env, "h")
    tap.ok(done and not b["host"]["reclaim_possible"] and "QMP" in b["host"]["reason"],
           "after the timeout: host reclaim off, the reason says why", b.get("host"))
    tap.ok(b.get("actual_bytes") == 64 * M and b.get("chunks_unpunched") == b.get("chunks") == 32,
           "the guest's balloon inflated; its chunks recorded, none punched", b)


SCENARIOS = {"hung_qmp": t_hung_qmp, "numa": t_numa, "numa_mixed": t_numa_mixed, "batches": t_batches, "floor": t_floor, "restart": t_restart,
             "reclaim": t_reclaim, "file": t_file, "share_off": t_share_off, "vfio": t_vfio,
             "hostile": t_hostile}


if __name__ == "__main__":
    sys.exit(main(SCENARIOS, vcmad_exit_is_checked=True))
