# SPDX-License-Identifier: GPL-2.0-only
"""A frame-aware relay between vcmad and a guest channel, for the fault matrix.

vcmad connects to the relay's socket as it would to QEMU's chardev; the relay
connects on to the guest (fakeguest or vcma-agent --sim) and copies whole
frames both ways. A rule fires once on the first frame of a type in one
direction and decides what happens at that step (stop vcmad there, drop the
frame, drop the channel), so a kill lands exactly between two steps of the
protocol instead of after a guessed sleep. The relay also sees every
BALLOON_REPORT (the chunks the guest gave up: the only ones that may ever be
punched) and can ask the guest for its own STATUS (its list of grants)
without vcmad seeing the answer."""
import os
import signal
import socket
import struct
import threading

HDR = struct.Struct("<IBBHIIQ")
MAGIC = 0x414D4356
F_MORE = 1
HELLO, RESERVE, RESERVE_RESULT, RELEASE, RELEASE_RESULT = 1, 2, 3, 4, 5
BSET, BREPORT, STATUS, STATUS_RESULT, EVENT, PING, PONG, ERROR = 6, 7, 8, 9, 10, 11, 12, 13
H2G, G2H = "host->guest", "guest->host"
PROBE_ID = 0x7FFF000000000000


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise OSError("eof")
        b += x
    return b


def read_frame(s):
    h = recv_exact(s, HDR.size)
    magic, ver, mtype, flags, plen, _, rid = HDR.unpack(h)
    if magic != MAGIC or plen > 65536:
        raise OSError("not a vcma frame")
    return mtype, flags, rid, h + recv_exact(s, plen)


def frame(mtype, rid, payload=b"", flags=0):
    return HDR.pack(MAGIC, 1, mtype, flags, len(payload), 0, rid) + payload


def parse_report(fr):
    target, actual, status, order, direction, n = struct.unpack_from("<QQIBBH", fr, HDR.size)
    return direction, list(struct.unpack_from(f"<{n}Q", fr, HDR.size + 24))


def parse_status(frames):
    """(balloon_bytes, boot_id hex, [(grant_id, gpa, size, tag)]) of a STATUS_RESULT sequence."""
    grants, balloon, boot = [], 0, ""
    for fr in frames:
        p = fr[HDR.size:]
        f = struct.unpack_from("<QQQQQQQII16s", p)
        balloon, nr, boot = f[3], f[8], f[9].hex()
        if nr:
            size = (len(p) - 80) // nr
            for i in range(nr):
                grants.append(struct.unpack_from("<QQQQ", p, 80 + i * size))
    return balloon, boot, grants


def peer_pid(s):
    return struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]


class Relay:
    def __init__(self, path, guest_path):
        self.path, self.guest_path = path, guest_path
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(4)
        self.cv = threading.Condition()
        self.rules = []		# [dir, type, action, name]
        self.hits = {}		# rule name -> the frame it fired on
        self.session = None	# (host socket, guest socket, write lock of the guest side)
        self.host_pid = None
        self.probes = {}	# request id -> frames of the answer
        self.next_probe = PROBE_ID
        self.reported = set()	# every chunk ever reported inflated
        self.sessions = 0
        threading.Thread(target=self.accept_loop, daemon=True).start()

    # -- rules -----------------------------------------------------------------
    def at(self, direction, mtype, action, name):
        """action(relay, frame, host_sock, guest_sock) -> True to forward the frame."""
        with self.cv:
            self.rules.append([direction, mtype, action, name])

    def wait_hit(self, name, timeout=30):
        with self.cv:
            return self.cv.wait_for(lambda: name in self.hits, timeout)

    def stop_host(self):
        os.kill(self.host_pid, signal.SIGSTOP)

    # -- pumping ---------------------------------------------------------------
    def accept_loop(self):
        while True:
            try:
                h, _ = self.srv.accept()
            except OSError:
                return
            g = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                g.connect(self.guest_path)
            except OSError:
                h.close()	# no guest listening: vcmad retries, as with a dead chardev
                g.close()
                continue
            lock = threading.Lock()
            with self.cv:
                self.session = (h, g, lock)
                self.host_pid = peer_pid(h)
                self.sessions += 1
                self.cv.notify_all()
            threading.Thread(target=self.pump, args=(h, g, H2G, lock, h, g), daemon=True).start()
            threading.Thread(target=self.pump, args=(g, h, G2H, threading.Lock(), h, g),
                             daemon=True).start()

    def close(self, h, g):
        for s in (h, g):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self.cv:
            if self.session and self.session[0] is h:
                self.session = None
            self.cv.notify_all()

    def pump(self, src, dst, direction, lock, h, g):
        try:
            while True:
                mtype, flags, rid, fr = read_frame(src)
                if direction == G2H and rid in self.probes:
                    with self.cv:
                        self.probes[rid].append(fr)
                        if not flags & F_MORE:
                            self.probes[rid].append(None)
                        self.cv.notify_all()
                    continue
                if direction == G2H and mtype == BREPORT:
                    d, chunks = parse_report(fr)
                    if d == 1:
                        with self.cv:
                            self.reported.update(chunks)
                forward = True
                with self.cv:
                    rule = next((r for r in self.rules if r[0] == direction and r[1] == mtype and
                                 (mtype != BREPORT or parse_report(fr)[1])), None)
                    if rule:
                        self.rules.remove(rule)
                if rule:
                    forward = rule[2](self, fr, h, g)
                    with self.cv:
                        self.hits[rule[3]] = fr
                        self.cv.notify_all()
                if forward:
                    with lock:
                        dst.sendall(fr)
        except OSError:
            pass
        self.close(h, g)

    # -- the guest's own view --------------------------------------------------
    def guest_status(self, timeout=10):
        """(balloon_bytes, boot_id, grants) as the guest answers a STATUS of our own,
        through the open session, or on a connection of our own when vcmad has none."""
        with self.cv:
            self.cv.wait_for(lambda: self.session, 0.5)
            sess = self.session
            rid = self.next_probe
            self.next_probe += 1
            self.probes[rid] = []
        if sess:
            with sess[2]:
                sess[1].sendall(frame(STATUS, rid))
            with self.cv:
                ok = self.cv.wait_for(lambda: self.probes[rid][-1:] == [None], timeout)
                frames = self.probes.pop(rid)[:-1]
            if not ok:
                raise OSError("the guest did not answer STATUS")
            return parse_status(frames)
        self.probes.pop(rid)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.guest_path)
        try:
            hello = struct.pack("<HHBBBBQII16sQQQ32s", 1, 1, 1, 0, 0, 0, 0x0f, 0, 0,
                                bytes(16), 0, 0, 0, b"faults probe")
            s.sendall(frame(HELLO, 1, hello) + frame(STATUS, rid))
            frames = []
            while True:
                mtype, flags, r, fr = read_frame(s)
                if r == rid and mtype == STATUS_RESULT:
                    frames.append(fr)
                    if not flags & F_MORE:
                        return parse_status(frames)
        finally:
            s.close()
