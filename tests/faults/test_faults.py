#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The fault matrix (suite faults): one row per scenario, each against the
real vcmad. Reserve and release rows use the scripted guest (fakeguest, which
keeps its grants across a dropped channel as vcma.ko does across an agent
restart); balloon rows use the real vcma-agent on the mm model with
fakeqemu.py's memfd RAM and QMP socket. relay.py sits on the channel and
lands each fault exactly at its step: it SIGSTOPs vcmad (then the test
SIGKILLs it) or drops the agent's channel (or kill -9s vcma-agent) on the
first frame of that step, so nothing depends on a guessed sleep.

Every row ends with the same checks (check_grants / check_balloon):
  - no grant leaked or granted twice: the guest's own grant list (a STATUS the
    relay asks itself) is exactly vcmad's granted reservations, one per tag;
  - the desired state (reservations, balloon target) and the chunk set are
    what they were before the fault, the chunk set equal to the guest's;
  - no punch outside the chunks the guest reported: every hole in the memfd
    lies in a chunk some BALLOON_REPORT named, and every held chunk is a hole;
  - vcmad alive: its REST API answers.
Usage: test_faults.py ROW (see ROWS)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "balloon"))
from vcmatest import AGENT, M, main  # noqa: E402
from test_balloon import FakeQemu  # noqa: E402
import relay as R  # noqa: E402

CHUNK = 2 * M
QMP_TIMEOUT_MS = 2000	# daemon/balloon/balloon.c
QMP_RETRY_S = 5


def state_file(env, key="g"):
    return os.path.join(env.state, f"vm-{key}.json")


def read_state(env, key="g"):
    try:
        with open(state_file(env, key)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def balloon(env):
    """GET .../balloon once vcmad's QMP inspection (on its thread) has answered."""
    def get():
        code, doc = env.api("GET", "/v1/vms/g/balloon")
        return doc if code == 200 else {}
    env.wait(lambda: not get().get("host", {}).get("reclaim_pending"), 10)
    return get()


def alive(env, tap):
    t0 = time.monotonic()
    up = env.api_up()
    tap.ok(up and env.vcmad_proc.poll() is None,
           f"vcmad alive: GET /v1/vms answers ({(time.monotonic() - t0) * 1000:.1f} ms)")


def api_bg(env, method, path, body=None):
    """A request from a thread: vcmad may be stopped at the step before it answers.
    The result ({"code": ...}) and the thread."""
    res = {}

    def run():
        try:
            res["code"], res["doc"] = env.api(method, path, body)
        except OSError as e:
            res["code"] = str(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return res, t


def answered(tap, victim, res, t, what):
    """The request's answer: 202, or none at all when vcmad was stopped before it answered."""
    t.join(0 if victim == "vcmad" else 20)
    tap.ok(res.get("code") == 202 or (victim == "vcmad" and "code" not in res),
           f"{what}: " + ("202" if res.get("code") == 202 else "no answer before the kill"),
           res)


def poll_fast(pred, timeout):
    """pred() until true, without sleeping: the tick saves within 100 ms."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
    return pred()


def kill_vcmad(env, tap):
    tap.ok(env.stop(signal.SIGKILL) == -signal.SIGKILL, "vcmad killed with SIGKILL at the step")
    tap.ok(env.restart() and env.ready("g"), "vcmad restarted and the guest is ready again")


# ---- reserve and release: fakeguest --------------------------------------------------

def fake_setup(env, tap):
    _, paths = env.guests(["g"])
    r = R.Relay(os.path.join(env.dir, "relay.sock"), paths["g"])
    tap.ok(env.start({"g": r.path}) and env.ready("g"), "vcmad serves the guest through the relay")
    return r


def check_grants(env, tap, r, want):
    """want reservations of 16 MiB, all granted, exactly the guest's grants."""
    tap.ok(env.settled("g", want), f"{want} reservation(s), settled", env.rsvs("g"))
    rs = env.rsvs("g")
    host = sorted((x["grant_id"], x["id"]) for x in rs if x["state"] == "granted")
    _, _, grants = r.guest_status()
    guest = sorted((gid, tag) for gid, _, _, tag in grants)
    tap.ok(len(host) == want and all(x["size"] == 16 * M for x in rs),
           f"desired state restored: {want} x 16 MiB granted", rs)
    tap.ok(host == guest, "the guest's grants are exactly vcmad's (none leaked)", (host, guest))
    tags = [t for _, t in guest]
    tap.ok(len(tags) == len(set(tags)), "no reservation granted twice", guest)
    tap.ok(not env.vm("g").get("guest_grants"), "no foreign grant left in the guest",
           env.vm("g").get("guest_grants"))
    alive(env, tap)


def reserve_row(step, victim):
    """victim 'vcmad': SIGSTOP at the step, then SIGKILL and restart;
    'agent': the guest's channel dies at the step (the grants stay in the guest)."""
    def row(env, tap):
        r = fake_setup(env, tap)

        def stop_drop(rl, fr, h, g):
            rl.stop_host()
            return False

        def stop_fwd(rl, fr, h, g):
            rl.stop_host()
            return True

        def die(rl, fr, h, g):
            rl.close(h, g)
            return False
        if step == "sent":
            r.at(R.H2G, R.RESERVE, stop_drop if victim == "vcmad" else die, step)
        elif step == "granted":
            r.at(R.G2H, R.RESERVE_RESULT, stop_fwd if victim == "vcmad" else die, step)
        elif step == "received":
            r.at(R.G2H, R.RESERVE_RESULT, lambda *a: True, step)
        res, t = api_bg(env, "POST", "/v1/vms/g/reservations", {"size": "16M"})
        sessions = r.sessions
        if step == "stored":
            tap.ok(env.wait(lambda: any(x.get("grant_id") for x in
                                        (read_state(env) or {}).get("reservations", [])), 10),
                   "step reached: the grant is in the state file")
            if victim == "vcmad":
                r.stop_host()
            else:
                r.close(*r.session[:2])
        else:
            tap.ok(r.wait_hit(step), f"step reached: {step}")
        if step == "received":
            # vcmad took the answer (REST shows the grant); the next tick (100 ms) stores it
            tap.ok(poll_fast(lambda: env.rsvs("g")[0].get("grant_id"), 5) and r.stop_host() is None,
                   "vcmad shows the grant: stopped before the tick stores it")
        answered(tap, victim, res, t, "POST 16M")
        if step != "stored":
            if victim == "vcmad":
                st = read_state(env)
                tap.ok(st and len(st["reservations"]) == 1 and
                       not st["reservations"][0].get("grant_id"),
                       "at the kill the store holds the reservation, no grant", st)
        if victim == "vcmad":
            kill_vcmad(env, tap)
        else:
            tap.ok(env.wait(lambda: r.sessions > sessions and env.ready("g"), 20),
                   "the channel came back and vcmad serves the guest again")
        check_grants(env, tap, r, 1)
    return row


def release_row(step, victim):
    """As reserve_row; step 'received': vcmad took the answer, the store not yet."""
    def row(env, tap):
        r = fake_setup(env, tap)
        code, _ = env.api("POST", "/v1/vms/g/reservations", {"size": "16M"})
        tap.ok(code == 202 and env.settled("g", 1), "one reservation granted")
        check_grants(env, tap, r, 1)
        rid = env.rsvs("g")[0]["id"]

        def stop_drop(rl, fr, h, g):
            rl.stop_host()
            return False

        def stop_fwd(rl, fr, h, g):
            rl.stop_host()
            return True

        def die(rl, fr, h, g):
            rl.close(h, g)
            return False
        if step == "sent":
            r.at(R.H2G, R.RELEASE, stop_drop if victim == "vcmad" else die, step)
        elif step == "answered":
            r.at(R.G2H, R.RELEASE_RESULT, stop_fwd if victim == "vcmad" else die, step)
        else:
            r.at(R.G2H, R.RELEASE_RESULT, lambda *a: True, step)
        sessions = r.sessions
        # DELETE waits for the guest's answer: from a thread, it may never get one
        res = {}

        def delete():
            try:
                res["code"] = env.api("DELETE", f"/v1/vms/g/reservations/{rid}")[0]
            except OSError as e:
                res["code"] = str(e)
        t = threading.Thread(target=delete, daemon=True)
        t.start()
        tap.ok(r.wait_hit(step), f"step reached: release {step}")
        if step == "received":
            tap.ok(poll_fast(lambda: not env.rsvs("g"), 5) and r.stop_host() is None,
                   "vcmad dropped the reservation: stopped at once")
        if victim == "vcmad":
            st = read_state(env)
            tap.ok(st and [x["state"] for x in st["reservations"]] == ["releasing"],
                   "at the kill the store holds the reservation as releasing", st)
            kill_vcmad(env, tap)
        else:
            tap.ok(env.wait(lambda: r.sessions > sessions and env.ready("g"), 20),
                   "the channel came back and vcmad serves the guest again")
        t.join(15)
        tap.diag(f"the DELETE got {res.get('code')}")
        tap.ok(env.wait(lambda: not env.rsvs("g"), 20), "the release is carried out",
               env.rsvs("g"))
        check_grants(env, tap, r, 0)
    return row


# ---- the balloon: vcma-agent --sim, fakeqemu ---------------------------------------------

class Guest:
    """vcma-agent --sim behind a relay; restart() is a new agent on the same
    or a new boot id (a killed agent's simulated kernel dies with it)."""

    def __init__(self, env, mem="512M"):
        self.env, self.mem = env, mem
        self.path = os.path.join(env.dir, "agent.sock")
        self.boot = str(uuid.uuid4())
        self.p = None
        self.spawn()
        self.relay = R.Relay(os.path.join(env.dir, "relay.sock"), self.path)

    def spawn(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        log = open(os.path.join(self.env.dir, "agent.log"), "a")
        self.p = subprocess.Popen([AGENT, "--sim", "--sim-mem", self.mem, "--listen", self.path,
                                   "--boot-id", self.boot], stdout=log, stderr=log)
        self.env.guest_procs.append(self.p)
        self.env.wait(lambda: os.path.exists(self.path), 15)

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def restart(self, reboot=False):
        if reboot:
            self.boot = str(uuid.uuid4())
        self.spawn()


def balloon_setup(env, tap, q=None):
    q = q or FakeQemu(env, 512)
    g = Guest(env)
    tap.ok(env.start({}, ["--vm", f"g={g.relay.path},qmp={q.qmp}"]) and env.ready("g"),
           "vcmad serves vcma-agent --sim through the relay, fakeqemu's memfd behind it")
    return q, g


def backing_offset(q, gpa):
    """fakeqemu's layout: guest-physical [0, half) at offset half, [half, size) at 0
    (its own inverse)."""
    half = q.size // 2
    return gpa + half if gpa < half else gpa - half


def holes(q):
    """[(offset, length)] of the memfd's holes."""
    out, off = [], 0
    fd = os.open(q.path, os.O_RDONLY)
    try:
        while off < q.size:
            try:
                h = os.lseek(fd, off, os.SEEK_HOLE)
            except OSError:
                break
            if h >= q.size:
                break
            try:
                d = os.lseek(fd, h, os.SEEK_DATA)
            except OSError:
                d = q.size
            out.append((h, d - h))
            off = d
    finally:
        os.close(fd)
    return out


def punched_outside(q, reported):
    """2 MiB pieces of the memfd that are holes but no reported chunk."""
    bad = []
    for off, length in holes(q):
        for o in range(off - off % CHUNK, off + length, CHUNK):
            if backing_offset(q, o) not in reported:
                bad.append(hex(backing_offset(q, o)))
    return bad


def check_balloon(env, tap, q, g, target):
    def done():
        b = balloon(env)
        return b.get("state") == "done" and b.get("chunk_set") == "exact" and \
            b.get("actual_bytes") == target and b.get("chunks_unpunched") == 0
    tap.ok(env.wait(done, 90), f"desired balloon restored: {target // M} MiB, chunk set exact, "
           "all punched", balloon(env))
    b = balloon(env)
    gb, _, _ = g.relay.guest_status()
    tap.ok(b.get("target_bytes") == target and gb == target and
           b.get("chunks", 0) * CHUNK == target,
           f"vcmad's chunks == the guest's balloon ({gb // M} MiB in the guest)", b)

    def stored_chunks():
        return set((read_state(env) or {}).get("balloon", {}).get("chunks", []))
    # the next tick saves what the last reports brought (a stale set may have the same size)
    env.wait(lambda: len(stored_chunks()) == target // CHUNK and
             stored_chunks() <= g.relay.reported, 5)
    stored = stored_chunks()
    tap.ok(len(stored) == target // CHUNK and stored <= g.relay.reported,
           f"the stored chunk set has {target // CHUNK} chunks, all reported by the guest",
           len(stored))
    missing = [hex(c) for c in stored if not q.is_hole(backing_offset(q, c), CHUNK)]
    tap.ok(not missing, "every chunk held is a hole in the memfd", missing)
    bad = punched_outside(q, g.relay.reported)
    tap.ok(not bad, "no punch outside the chunks the guest reported", bad[:20])
    tap.ok(env.metric("vcmad_vm_protocol_errors_total", vm="g") == 0, "no protocol errors")
    alive(env, tap)


def balloon_row(step, victim):
    def row(env, tap):
        q, g = balloon_setup(env, tap)
        target = 128 * M
        rl = g.relay

        def at_step(rl, fr, h, gs):
            if victim == "vcmad":
                rl.stop_host()
                return step != "set_sent"
            g.kill()
            return False
        if step == "set_sent":
            rl.at(R.H2G, R.BSET, at_step, step)
        elif step == "reported":
            rl.at(R.G2H, R.BREPORT, at_step, step)
        else:
            rl.at(R.G2H, R.BREPORT, lambda *a: True, step)
        res, t = api_bg(env, "PUT", "/v1/vms/g/balloon", {"target": "128M"})
        tap.ok(rl.wait_hit(step), f"step reached: {step}")
        answered(tap, victim, res, t, "PUT balloon 128M")
        if step == "punched":
            _, chunks = R.parse_report(rl.hits[step])
            off = backing_offset(q, chunks[0])
            # no sleep: the next tick (100 ms) saves what the report brought
            end = time.monotonic() + 10
            while not q.is_hole(off, CHUNK) and time.monotonic() < end:
                pass
            hit = q.is_hole(off, CHUNK)
            if victim == "vcmad":
                rl.stop_host()
                st = (read_state(env) or {}).get("balloon", {}).get("chunks", [])
                tap.ok(hit and chunks[0] not in st,
                       "at the kill the chunk is punched and not yet in the store",
                       (hit, len(st)))
            else:
                g.kill()
                tap.ok(hit, "at the kill the chunk is punched")
        if victim == "vcmad":
            kill_vcmad(env, tap)
        else:
            g.restart()
            tap.ok(env.wait(lambda: env.ready("g"), 20), "a new agent (same boot id) is served")
        check_balloon(env, tap, q, g, target)
    return row


def t_kill_qemu(env, tap):
    """QEMU dies mid-balloon (kill -9 of fakeqemu); it comes back with the guest rebooted."""
    q, g = balloon_setup(env, tap)
    dead_ino = os.stat(q.path).st_ino

    def at_step(rl, fr, h, gs):
        q.p.send_signal(signal.SIGKILL)
        q.p.wait()
        return True
    g.relay.at(R.G2H, R.BREPORT, at_step, "qemu")
    code, _ = env.api("PUT", "/v1/vms/g/balloon", {"target": "128M"})
    tap.ok(code == 202 and g.relay.wait_hit("qemu"), "QEMU killed as the first report arrives")
    tap.ok(env.wait(lambda: balloon(env).get("state") not in ("running", None), 30),
           "the balloon settles without QEMU", balloon(env))
    b = balloon(env)
    tap.diag(f"without QEMU: actual {b.get('actual_bytes', 0) // M} MiB, "
             f"unpunched {b.get('chunks_unpunched')}, host: {b.get('host', {}).get('reason')}")
    alive(env, tap)
    # QEMU starts again: a new memfd, the guest boots afresh
    os.unlink(q.qmp)
    q2 = FakeQemu(env, 512)
    g.kill()
    g.relay.reported.clear()
    g.restart(reboot=True)
    tap.ok(env.wait(lambda: env.ready("g"), 20), "the rebooted guest is served again")
    check_balloon(env, tap, q2, g, 128 * M)
    held = []
    fdir = f"/proc/{env.vcmad_proc.pid}/fd"
    for fd in os.listdir(fdir):
        try:
            if os.stat(os.path.join(fdir, fd)).st_ino == dead_ino:
                held.append(fd)
        except OSError:
            pass
    tap.ok(not held, "vcmad holds no fd of the dead QEMU's RAM", held)


def t_reboot_balloon(env, tap):
    """The guest reboots (new boot id in HELLO) in the middle of an inflate."""
    q, g = balloon_setup(env, tap)
    rc, out, err = env.ctl("balloon", "g", "--target", "64M", "--wait", timeout=60)
    tap.ok(rc == 0, "64 MiB ballooned and punched", out + err)

    def at_step(rl, fr, h, gs):
        g.kill()
        return False
    g.relay.at(R.G2H, R.BREPORT, at_step, "reboot")
    code, _ = env.api("PUT", "/v1/vms/g/balloon", {"target": "128M"})
    tap.ok(code == 202 and g.relay.wait_hit("reboot"), "the guest dies at the first report of "
           "the inflate to 128M")
    old_boot = env.vm("g")["guest"]["boot_id"]
    g.restart(reboot=True)
    tap.ok(env.wait(lambda: env.ready("g") and env.vm("g")["guest"]["boot_id"] != old_boot, 20),
           "the guest is back with a new boot id")
    tap.ok(env.wait(lambda: "reboot" in env.log() or "boot id" in env.log(), 5),
           "vcmad saw the reboot")
    check_balloon(env, tap, q, g, 128 * M)


# ---- QMP, disk, store ---------------------------------------------------------------------

def t_hung_qmp(env, tap):
    """A QMP socket that accepts and never answers: the inflate is held in the guest, nothing
    is punched, vcmad keeps answering. GET /v1/vms is timed from vcmad's start on (its
    first QMP connection is made when the guest connects)."""
    q = FakeQemu(env, 512, "--hang")
    q_alloc = q.allocated()
    lat = []
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                env.api("GET", "/v1/vms")
                lat.append((time.monotonic() - t0) * 1000)
            except OSError:
                pass	# not listening yet
            time.sleep(0.02)
    t = threading.Thread(target=probe, daemon=True)
    t.start()
    _, g = balloon_setup(env, tap, q)
    code, _ = env.api("PUT", "/v1/vms/g/balloon", {"target": "64M"})
    tap.ok(code == 202, "balloon 64M asked")
    tap.ok(env.wait(lambda: balloon(env).get("actual_bytes") == 64 * M and
                    balloon(env).get("state") == "done", 60),
           "the guest's balloon reaches 64 MiB", balloon(env))
    time.sleep(QMP_RETRY_S + 1)	# one more QMP attempt, if vcmad retries
    stop.set()
    t.join()
    lat.sort()
    p99 = lat[int(len(lat) * 0.99) - 1]
    tap.diag(f"GET /v1/vms during the hung QMP: {len(lat)} requests, p50 "
             f"{lat[len(lat) // 2]:.1f} ms, p99 {p99:.1f} ms, max {lat[-1]:.1f} ms")
    tap.ok(p99 < 100 and lat[-1] < QMP_TIMEOUT_MS, "the loop does not wait for the monitor: "
           f"p99 under 100 ms, no GET as long as the QMP timeout ({QMP_TIMEOUT_MS} ms)", lat[-5:])
    b = balloon(env)
    tap.ok(b["chunks_unpunched"] == 32 and not b["host"]["reclaim_possible"] and
           "QMP" in b["host"]["reason"], "the chunks stay unpunched, with the reason", b["host"])
    tap.ok(q.allocated() == q_alloc and not holes(q), "nothing punched in the memfd")
    alive(env, tap)


def t_disk_full(env, tap):
    os.makedirs(env.state)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "faults",
                        env.state], capture_output=True, text=True)
    if p.returncode:
        print(f"1..0 # SKIP cannot mount a tmpfs: {p.stderr.strip()}")
        sys.exit(0)
    try:
        disk_full(env, tap)
    finally:
        env.stop()
        subprocess.run(["umount", "-l", env.state])


def disk_full(env, tap):
    r = fake_setup(env, tap)
    code, _ = env.api("POST", "/v1/vms/g/reservations", {"size": "16M"})
    tap.ok(code == 202 and env.settled("g", 1), "one reservation granted")
    filler = os.path.join(env.state, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    os.close(fd)
    code, doc = env.api("POST", "/v1/vms/g/reservations", {"size": "16M"})
    tap.ok(code == 507 and "No space" in json.dumps(doc),
           "disk full: a new reservation answers 507, No space left", (code, doc))
    tap.ok(env.metric("vcmad_store_save_failing") == 1, "metric: the store is failing")
    alive(env, tap)
    tap.ok(env.stop(signal.SIGKILL) == -signal.SIGKILL,
           "vcmad killed with SIGKILL, disk still full")
    tap.ok(env.restart() and env.ready("g"), "vcmad restarts on the full disk")
    tap.ok(read_state(env) is not None, "the state file survived intact")
    os.unlink(filler)
    tap.ok(env.wait(lambda: env.metric("vcmad_store_save_failing") == 0, 10),
           "space again: the store saves")
    # the refused request may or may not have reached the guest: either way one truth
    n = len(env.rsvs("g"))
    tap.diag(f"reservations after the restart: {n} (the refused one was "
             f"{'kept' if n == 2 else 'lost with the kill'})")
    check_grants(env, tap, r, n)


def t_corrupt_store(env, tap):
    """A torn state file after a kill: the VM is left unmanaged, the guest untouched."""
    q, g = balloon_setup(env, tap)
    code, _ = env.api("POST", "/v1/vms/g/reservations", {"size": "16M", "count": 2})
    rc, out, err = env.ctl("balloon", "g", "--target", "64M", "--wait", timeout=60)
    tap.ok(env.settled("g", 2) and rc == 0, "two reservations and a 64 MiB balloon", out + err)
    env.wait(lambda: len((read_state(env) or {}).get("balloon", {}).get("chunks", [])) == 32, 5)
    before = g.relay.guest_status()
    h_before = holes(q)
    tap.ok(env.stop(signal.SIGKILL) == -signal.SIGKILL, "vcmad killed with SIGKILL")
    with open(state_file(env)) as f:
        good = f.read()
    with open(state_file(env), "w") as f:
        f.write(good[: len(good) // 2])
    tap.ok(env.restart(), "vcmad starts on the torn file")
    v = env.vm("g")
    tap.ok(v and v["state"] == "unmanaged", "the VM is unmanaged, with the reason", v)
    time.sleep(1)
    after = g.relay.guest_status()
    tap.ok(after[0] == before[0] and sorted(after[2]) == sorted(before[2]),
           "the guest's grants and balloon are untouched", (before, after))
    tap.ok(holes(q) == h_before, "the memfd is untouched")
    alive(env, tap)
    with open(state_file(env), "w") as f:
        f.write(good)
    env.vcmad_proc.send_signal(signal.SIGHUP)
    tap.ok(env.ready("g"), "the good file back and SIGHUP: managed again")
    tap.ok(env.settled("g", 2) and sorted(x["grant_id"] for x in env.rsvs("g")) ==
           sorted(x[0] for x in before[2]), "with the guest's grants")
    check_balloon(env, tap, q, g, 64 * M)


ROWS = {}
for _v in ("vcmad", "agent"):
    for _s in ("sent", "granted", "stored"):
        ROWS[f"{_v}_reserve_{_s}"] = reserve_row(_s, _v)
    for _s in ("sent", "answered"):
        ROWS[f"{_v}_release_{_s}"] = release_row(_s, _v)
ROWS["vcmad_reserve_received"] = reserve_row("received", "vcmad")
ROWS["vcmad_release_received"] = release_row("received", "vcmad")
for _v in ("vcmad", "agent"):
    for _s in ("set_sent", "reported", "punched"):
        ROWS[f"{_v}_balloon_{_s}"] = balloon_row(_s, _v)
ROWS.update({"qemu_balloon": t_kill_qemu, "hung_qmp": t_hung_qmp, "disk_full": t_disk_full,
             "corrupt_store": t_corrupt_store, "reboot_balloon": t_reboot_balloon})

if __name__ == "__main__":
    sys.exit(main(ROWS))
