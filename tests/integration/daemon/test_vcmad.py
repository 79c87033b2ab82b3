#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Integration tests of vcmad: the real daemon, real unix sockets, scripted
guests (fakeguest) and, when built, the real vcma-agent on the mm model.
Each scenario prints TAP. Usage: test_vcmad.py SCENARIO (see SCENARIOS)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vcmatest import AGENT, M, VCMACTL, main, prometheus_problems  # noqa: E402


def no_overlap(rsvs):
    spans = sorted((int(r["gpa"], 16), int(r["gpa"], 16) + r["granted_size"]) for r in rsvs)
    return all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


# ---- scenarios --------------------------------------------------------------

def t_basic(env, tap):
    _, paths = env.guests(["vm0"])
    tap.ok(env.start(paths), "vcmad starts with one VM")
    tap.ok(env.ready("vm0"), "guest session reaches ready")
    rc, out, err = env.ctl("reserve", "vm0", "64M", "--count", "4", "--label", "dma", "--wait",
                           "--wait-timeout", "30")
    tap.ok(rc == 0, "vcmactl reserve vm0 64M --count 4 --wait exits 0", out + err)
    rc, out, err = env.ctl("--json", "status", "vm0")
    doc = json.loads(out) if rc == 0 else {}
    rs = doc.get("reservations", [])
    tap.ok(len(rs) == 4 and all(r["state"] == "granted" for r in rs), "four granted", out)
    tap.ok(all(r["granted_size"] == 64 * M and r["label"] == "dma" for r in rs),
           "sizes and labels as requested")
    tap.ok(no_overlap(rs), "granted ranges do not overlap")
    tap.ok(len({r["grant_id"] for r in rs}) == 4, "four distinct grant ids")
    rc, out, err = env.ctl("status", "vm0")
    tap.ok(rc == 0 and out.count("granted") >= 4, "status table lists the grants", out)
    rid = rs[0]["id"]
    rc, out, err = env.ctl("release", "vm0", str(rid), "--wait", "--wait-timeout", "20")
    tap.ok(rc == 0, "vcmactl release --wait exits 0", out + err)
    tap.ok(env.settled("vm0", 3) and all(r["id"] != rid for r in env.rsvs("vm0")),
           "released reservation is gone")
    rc, out, err = env.ctl("--json", "vms")
    vms = json.loads(out)["vms"] if rc == 0 else []
    tap.ok(len(vms) == 1 and vms[0]["granted"] == 3 and vms[0]["grant_bytes"] == 192 * M,
           "vms --json shows 3 granted, 192 MiB", out)
    code, doc = env.api("GET", "/v1/host")
    tap.ok(code == 200 and "kvm" in doc and "transparent_hugepage" in doc, "GET /v1/host", doc)
    g = env.metric("vcmad_vm_grants", vm="vm0")
    tap.ok(g == 3, "metrics: vcmad_vm_grants{vm=vm0} 3", g)
    ok = env.metric("vcmad_vm_requests_total", vm="vm0", type="reserve", result="ok")
    tap.ok(ok == 4, "metrics: 4 reserve requests ok", ok)
    code, text = env.api("GET", "/metrics")
    tap.ok(code == 200 and prometheus_problems(text) == [], "metrics are valid Prometheus text",
           prometheus_problems(text)[:5])
    b = env.metric("vcmad_vm_reserve_duration_seconds_bucket", vm="vm0", le="+Inf")
    c = env.metric("vcmad_vm_reserve_duration_seconds_count", vm="vm0")
    tap.ok(b == c == 4, "latency histogram counts the 4 grants", (b, c))
    st = os.stat(env.sock)
    tap.ok(st.st_mode & 0o777 == 0o660, "API socket mode 0660", oct(st.st_mode))
    tap.ok(os.path.exists(os.path.join(env.state, "vm-vm0.json")), "state file written")
    tap.ok(env.stop() == 0, "vcmad exits 0 on SIGTERM")


def t_errors(env, tap):
    _, paths = env.guests(["vm0"])
    vms = dict(paths)
    vms["ghost"] = os.path.join(env.dir, "nobody-listens.sock")
    env.start(vms)
    env.ready("vm0")
    rc, out, err = env.ctl("reserve", "nosuch", "64M")
    tap.ok(rc == 1 and "unknown_vm" in err, "unknown VM: exit 1, unknown_vm", err)
    rc, out, err = env.ctl("reserve", "vm0", "12345")
    tap.ok(rc == 2, "bad size: exit 2 (usage)", err)
    rc, out, err = env.ctl("reserve", "vm0")
    tap.ok(rc == 2, "missing size: exit 2", err)
    rc, out, err = env.ctl("frobnicate")
    tap.ok(rc == 2, "unknown command: exit 2", err)
    for cmd in ("vms", "status", "reserve", "release", "host"):
        rc, out, err = env.ctl(cmd, "--help")
        tap.ok(rc == 0 and "Usage" in out, f"vcmactl {cmd} --help", out + err)
    rc, out, err = env.ctl("--socket", os.path.join(env.dir, "none.sock"), "vms")
    tap.ok(rc == 3 and "cannot reach" in err, "no daemon: exit 3", err)
    rc, out, err = env.ctl("reserve", "ghost", "64M")
    tap.ok(rc == 1 and "guest_not_connected" in err, "disconnected guest: exit 1, 503", err)
    code, doc = env.api("POST", "/v1/vms/ghost/reservations", {"size": "64M"})
    tap.ok(code == 503 and doc.get("error") == "guest_not_connected", "REST: 503", doc)
    cases = [
        ('{"size": "64Q"}', "bad suffix"),
        ('{"size": 1000}', "not a page multiple"),
        ('{"size": "64M", "count": 0}', "count 0"),
        ('{"size": "64M", "count": 100000}', "count too large"),
        ('{"size": "64M", "align": 3000}', "align not a power of two"),
        ('{"size": "64M", "colour": "red"}', "unknown field"),
        ('{"size": "64M"', "truncated JSON"),
        ('[1,2]', "not an object"),
        ('{"size": "99999999999T"}', "overflowing size"),
        ('{"size": "64M", "label": "' + "x" * 40 + '"}', "label too long"),
        ('{"count": 2}', "size missing"),
    ]
    for body, what in cases:
        code, doc = env.api("POST", "/v1/vms/vm0/reservations", raw=body)
        tap.ok(code == 400 and doc.get("error") == "bad_request" and doc.get("detail"),
               f"REST 400 with detail: {what}", doc)
    code, doc = env.api("POST", "/v1/vms/vm0/reservations",
                        {"size": "8M", "count": 2, "wait_ms": 20000})
    tap.ok(code == 201 and [r["state"] for r in doc["reservations"]] == ["granted"] * 2,
           "POST with wait_ms: 201 once granted", doc)
    code, doc = env.api("DELETE", "/v1/vms/vm0/reservations/999")
    tap.ok(code == 404 and doc.get("error") == "unknown_reservation", "DELETE unknown id: 404")
    code, doc = env.api("GET", "/v1/nothing")
    tap.ok(code == 404, "unknown path: 404")
    code, doc = env.api("PUT", "/v1/vms")
    tap.ok(code == 405, "wrong method: 405", doc)
    code, doc = env.api("PUT", "/v1/vms/vm0/balloon", {"target": 4097})
    tap.ok(code == 400 and doc.get("error") == "bad_request", "balloon target not 4K-aligned: 400", doc)
    rc, out, err = env.ctl("release", "vm0", "abc")
    tap.ok(rc == 2, "release with a non-numeric id: exit 2", err)
    rc, out, err = env.ctl("--json", "host")
    tap.ok(rc == 0 and "transparent_hugepage" in json.loads(out), "host --json", out + err)
    # peer credentials: even with the socket opened up, strangers are refused
    setpriv = shutil.which("setpriv")
    if os.getuid() == 0 and setpriv:
        os.chmod(env.sock, 0o666)
        os.chmod(env.dir, 0o755)
        p = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            VCMACTL, "--socket", env.sock, "vms"],
                           capture_output=True, text=True, timeout=30)
        tap.ok(p.returncode == 1 and "forbidden" in p.stderr,
               "a user outside root/owner/group gets 403 (SO_PEERCRED)", p.stdout + p.stderr)
    else:
        tap.ok(True, "# SKIP peer credential check needs root and setpriv")
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_many(env, tap):
    names = [f"vm{i}" for i in range(32)]
    _, paths = env.guests(names, mem_mb=512)
    env.start(paths)
    tap.ok(env.ready(*names), "32 guests ready")
    codes = [env.api("POST", f"/v1/vms/{n}/reservations", {"size": "16M", "count": 2})[0]
             for n in names]
    tap.ok(all(c == 202 for c in codes), "32 POSTs accepted", codes)
    tap.ok(all(env.settled(n, 2) for n in names), "all settled")
    good = all(all(r["state"] == "granted" for r in env.rsvs(n)) for n in names)
    tap.ok(good, "64 reservations granted across 32 VMs")
    total = sum(env.metric("vcmad_vm_grant_bytes", vm=n) for n in names)
    tap.ok(total == 32 * 2 * 16 * M, "metrics: grant bytes add up", total)
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_restart(env, tap):
    _, paths = env.guests(["vm0"], foreign=2)
    env.start(paths)
    env.ready("vm0")
    rc, out, err = env.ctl("reserve", "vm0", "32M", "--count", "3", "--wait", "--wait-timeout", "20")
    tap.ok(rc == 0, "3 reservations granted", out + err)
    before = {r["id"]: r["grant_id"] for r in env.rsvs("vm0")}
    foreign = env.vm("vm0")["guest_grants"]
    tap.ok(len(foreign) == 2, "the guest's own grants (tag 0) are shown, not managed", foreign)
    tap.ok(env.stop(signal.SIGKILL) is not None, "vcmad killed with SIGKILL")
    tap.ok(env.restart(), "vcmad restarts on the same state directory")
    tap.ok(env.ready("vm0") and env.settled("vm0", 3), "re-synced with the guest")
    after = {r["id"]: r["grant_id"] for r in env.rsvs("vm0")}
    tap.ok(after == before, "same reservations, same grants (re-learned, not re-granted)",
           f"{before} vs {after}")
    tap.ok(len(env.vm("vm0")["guest_grants"]) == 2, "guest's own grants left alone")
    reserves = env.metric("vcmad_vm_requests_total", vm="vm0", type="reserve", result="ok")
    tap.ok(reserves == 0, "no RESERVE sent after restart", reserves)
    tap.ok("releasing grant" not in env.log(), "nothing released")
    rc, out, err = env.ctl("reserve", "vm0", "32M", "--wait", "--wait-timeout", "20")
    new = [r["id"] for r in env.rsvs("vm0") if r["id"] not in before]
    tap.ok(rc == 0 and len(new) == 1 and new[0] > max(before), "ids keep growing after restart",
           env.rsvs("vm0"))
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_reboot(env, tap):
    g, paths = env.guests(["vm0"])
    env.start(paths)
    env.ready("vm0")
    env.ctl("reserve", "vm0", "8M", "--count", "2", "--wait", "--wait-timeout", "20")
    before = env.vm("vm0")
    g.send_signal(signal.SIGUSR1)   # guest reboot: grants gone, new boot id
    tap.ok(env.wait(lambda: env.vm("vm0")["guest"]["boot_id"] != before["guest"]["boot_id"], 20),
           "new boot id seen")
    tap.ok(env.settled("vm0", 2), "desired reservations settled again")
    rs = env.rsvs("vm0")
    tap.ok(all(r["state"] == "granted" for r in rs), "re-requested and granted after reboot", rs)
    reboots = env.metric("vcmad_vm_guest_reboots_total", vm="vm0")
    tap.ok(reboots == 1, "metrics count one reboot", reboots)
    tap.ok("guest rebooted" in env.log(), "log says the guest rebooted")
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_retry(env, tap):
    # The guest grants at once but answers after 1.5 s; the channel drops in between.
    g, paths = env.guests(["vm0"], delay_ms=1500)
    env.start(paths)
    env.ready("vm0")
    code, doc = env.api("POST", "/v1/vms/vm0/reservations", {"size": "64M", "count": 2})
    tap.ok(code == 202, "POST accepted", doc)
    time.sleep(0.5)
    g.send_signal(signal.SIGUSR2)   # agent restart: answers lost, grants kept
    tap.ok(env.settled("vm0", 2), "reservations settle after reconnect")
    rs = env.rsvs("vm0")
    tap.ok(all(r["state"] == "granted" for r in rs), "granted", rs)
    tap.ok(len(env.vm("vm0")["guest_grants"]) == 0, "no extra grants in the guest")
    log = env.log()
    tap.ok("duplicate" not in log and "releasing grant" not in log, "nothing double-granted")
    sessions = env.metric("vcmad_vm_sessions_total", vm="vm0")
    tap.ok(sessions is not None and sessions >= 2, "a second session happened", sessions)
    tap.ok(env.stop() == 0, "vcmad exits 0")

    # Without STATUS vcmad cannot look: it re-sends RESERVE with the same tags
    # and the guest must hand back the grants it already made.
    g, paths = env.guests(["ns0"], delay_ms=1500, no_status=True)
    env.start(paths)
    env.ready("ns0")
    env.api("POST", "/v1/vms/ns0/reservations", {"size": "16M", "count": 3})
    time.sleep(0.5)
    g.send_signal(signal.SIGUSR2)
    tap.ok(env.settled("ns0", 3), "no-STATUS guest: settled after reconnect")
    rs = env.rsvs("ns0")
    attempts = [r["attempts"] for r in rs]
    tap.ok(all(r["state"] == "granted" for r in rs) and all(a >= 2 for a in attempts),
           "each RESERVE was sent again after the reconnect", rs)
    tap.ok(len({r["grant_id"] for r in rs}) == 3 and no_overlap(rs),
           "the re-sent RESERVEs got the original grants back (three distinct, no overlap)")
    g.send_signal(signal.SIGUSR2)
    tap.ok(env.wait(lambda: env.metric("vcmad_vm_sessions_total", vm="ns0") >= 3, 20) and
           env.settled("ns0", 3), "a third session re-confirms them")
    tap.ok({r["grant_id"] for r in env.rsvs("ns0")} == {r["grant_id"] for r in rs},
           "same grant ids after re-confirmation: nothing double-granted")
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_deadline(env, tap):
    _, paths = env.guests(["slow"], evil="silent-reserve")
    env.start(paths, ["--set", "limits.deadline_grace_ms=200"])
    env.ready("slow")
    t0 = time.monotonic()
    rc, out, err = env.ctl("reserve", "slow", "4M", "--deadline", "300", "--wait", "--wait-timeout", "20")
    took = time.monotonic() - t0
    tap.ok(rc == 1, "reserve against a guest that never answers fails (exit 1)", out + err)
    rs = env.rsvs("slow")
    tap.ok(rs and rs[0]["state"] == "failed" and rs[0]["cause"] == "deadline",
           "state failed, cause deadline", rs)
    tap.diag(f"failed after {took:.2f} s (deadline 0.3 s + grace 0.2 s)")
    rc, out, err = env.ctl("release", "slow", str(rs[0]["id"]))
    tap.ok(rc == 0 and env.rsvs("slow") == [], "a failed reservation is forgotten on release")
    to = env.metric("vcmad_vm_requests_total", vm="slow", type="reserve", result="timeout")
    tap.ok(to == 1, "metrics count the timeout", to)
    # a POST that waits: 504 when the guest's deadline passes
    code, doc = env.api("POST", "/v1/vms/slow/reservations",
                        {"size": "4M", "deadline_ms": 300, "wait_ms": 10000})
    tap.ok(code == 504 and doc.get("error") == "deadline" and
           doc["reservations"][0]["cause"] == "deadline", "POST with wait_ms: 504 deadline", doc)
    # ... and 504 when wait_ms runs out first (the reservation stays desired state)
    code, doc = env.api("POST", "/v1/vms/slow/reservations",
                        {"size": "4M", "deadline_ms": 60000, "wait_ms": 300})
    tap.ok(code == 504 and "wait_ms" in doc.get("detail", "") and
           doc["reservations"][0]["state"] == "pending", "wait_ms ran out: 504, still pending", doc)
    # a client that hangs up while its POST waits must not hurt vcmad
    s = socket.socket(socket.AF_UNIX)
    s.connect(env.sock)
    body = json.dumps({"size": "4M", "wait_ms": 5000})
    s.sendall(f"POST /v1/vms/slow/reservations HTTP/1.1\r\nHost: x\r\n"
              f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
    time.sleep(0.3)
    s.close()
    time.sleep(0.5)
    tap.ok(env.api("GET", "/v1/vms")[0] == 200, "vcmad fine after a waiting client hung up")
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_stale(env, tap):
    _, paths = env.guests(["vm0"])
    env.start(paths)
    env.ready("vm0")
    env.ctl("reserve", "vm0", "8M", "--count", "3", "--wait", "--wait-timeout", "20")
    env.stop()
    # The operator's store lost one reservation (e.g. restored from an older backup):
    # its grant in the guest is ours (tag issued by us) and must be released, not leaked.
    path = os.path.join(env.state, "vm-vm0.json")
    with open(path) as f:
        st = json.load(f)
    dropped = st["reservations"].pop(1)
    with open(path, "w") as f:
        json.dump(st, f)
    tap.ok(env.restart() and env.ready("vm0"), "restart with edited state")
    tap.ok(env.wait(lambda: env.metric("vcmad_vm_requests_total", vm="vm0", type="release",
                                       result="ok") == 1, 20), "the stale grant is released")
    tap.ok(f"releasing grant {dropped['grant_id']}" in env.log(), "log names the stale grant")
    tap.ok(env.settled("vm0", 2) and len(env.vm("vm0")["guest_grants"]) == 0,
           "two remain, nothing unaccounted")
    # a corrupt state file is refused loudly, the daemon keeps running
    env.stop()
    with open(path, "w") as f:
        f.write('{"reservations": "nope"')
    tap.ok(env.restart(), "vcmad starts despite a corrupt state file")
    tap.ok("state file unusable" in env.log(), "and says so")
    tap.ok(env.stop() == 0, "vcmad exits 0")


HOSTILE = ["oversized", "count", "unknown-type", "bogus-grant", "flood", "partial", "midframe",
           "absurd-hello", "garbage", "dead", "bad-gpa"]


def t_hostile(env, tap):
    vms = {}
    procs = {}
    _, good = env.guests(["good"])
    vms.update(good)
    for mode in HOSTILE:
        p, paths = env.guests([f"evil-{mode}"], evil=mode)
        procs[mode] = p
        vms.update(paths)
    env.start(vms, ["--set", "limits.keepalive_ms=300", "--set", "limits.keepalive_timeout_ms=1500",
                    "--set", "limits.frame_timeout_ms=700", "--set",
                    "limits.max_frames_per_sec=2000",
                    "--set", "daemon.reconnect_min_ms=200", "--set", "daemon.reconnect_max_ms=2000"])
    tap.ok(env.ready("good"), "the good guest is ready")
    code, doc = env.api("POST", "/v1/vms/evil-bad-gpa/reservations", {"size": "4M"})
    expect = {
        "oversized": "protocol violation",
        "count": "disconnecting guest",
        "unknown-type": "disconnecting guest",
        "bogus-grant": "disconnecting guest",
        "flood": "flood",
        "partial": "partial frame",
        "midframe": "incomplete frame discarded",
        "absurd-hello": "HELLO mem_total absurd",
        "garbage": "garbage",
        "dead": "keepalive timeout",
        "bad-gpa": "implausible",
    }
    for mode in HOSTILE:
        pat = f"vm evil-{mode}: "
        found = env.wait(lambda: any(pat in l and expect[mode] in l
                                     for l in env.log().splitlines()), 20)
        lines = [l for l in env.log().splitlines() if pat in l and
                 ("warn" in l or "error" in l)]
        tap.ok(found, f"{mode}: clear log line ({expect[mode]})",
               "\n".join(lines[-5:]) or env.log()[-2000:])
    # every misbehaving guest that had to go was disconnected
    for mode in ["count", "unknown-type", "bogus-grant", "flood", "partial", "absurd-hello",
                 "dead"]:
        tap.ok(f"vm evil-{mode}: disconnecting guest" in env.log(), f"{mode}: disconnected")
    rs = env.rsvs("evil-bad-gpa")
    tap.ok(rs and rs[0]["state"] == "failed" and "implausible" in rs[0]["detail"],
           "bad-gpa: the implausible grant is not believed", rs)
    # the good guest is served throughout
    rc, out, err = env.ctl("reserve", "good", "64M", "--count", "4", "--wait", "--wait-timeout", "30")
    tap.ok(rc == 0, "the good guest still gets its reservations", out + err)
    rss = env.metric("vcmad_resident_memory_bytes")
    tap.diag(f"vcmad RSS {rss / M:.1f} MiB after the hostile guests")
    tap.ok(rss is not None and rss < 128 * M, "vcmad RSS bounded (< 128 MiB)", rss)
    errs = env.metric("vcmad_vm_protocol_errors_total", vm="good")
    tap.ok(errs == 0, "the good guest has no protocol errors", errs)
    time.sleep(2)   # let the hostile guests reconnect and misbehave again
    tap.ok(env.api("GET", "/v1/vms")[0] == 200, "vcmad still answers")
    tap.ok(env.stop() == 0, "vcmad exits 0 (no leaks under sanitizers)")


def t_agent(env, tap):
    if not AGENT:
        print("1..0 # SKIP vcma-agent --sim not built")
        sys.exit(0)
    _, paths = env.agent("sim0")
    tap.ok(env.start(paths), "vcmad starts with vcma-agent --sim")
    tap.ok(env.ready("sim0"), "agent session ready", env.log()[-3000:])
    # How many 64M ranges the simulated guest can free depends on the model's
    # workload; the daemon's part is that every request settles consistently.
    rc, out, err = env.ctl("reserve", "sim0", "64M", "--count", "4", "--wait",
                           "--wait-timeout", "60")
    rs = env.rsvs("sim0")
    granted = [r for r in rs if r["state"] == "granted"]
    tap.ok(len(rs) == 4 and all(r["state"] in ("granted", "failed") for r in rs),
           "reserve sim0 64M --count 4 against the real agent settles", out + err)
    tap.ok(rc == (0 if len(granted) == 4 else 1), "exit code says whether all were granted",
           f"rc {rc}, {len(granted)} granted")
    tap.ok(len(granted) >= 1 and no_overlap(granted) and
           all(r["granted_size"] == 64 * M and int(r["gpa"], 16) % 4096 == 0 for r in granted),
           f"{len(granted)} plausible, non-overlapping grants", rs)
    tap.ok(all(r.get("cause") and r.get("detail") for r in rs if r["state"] == "failed"),
           "failures carry the guest's cause", rs)
    tap.diag(f"{len(granted)}/4 granted by the simulated guest")
    tap.ok(env.stop(signal.SIGKILL) is not None and env.restart() and env.ready("sim0") and
           env.settled("sim0", 4), "vcmad restarted: re-synced with the agent")
    again = {r["id"]: r.get("grant_id") for r in env.rsvs("sim0") if r["state"] == "granted"}
    tap.ok(again == {r["id"]: r["grant_id"] for r in granted},
           "the agent's STATUS gives back the same grants (tags = reservation ids)", again)
    for r in rs:
        env.ctl("release", "sim0", str(r["id"]), "--wait", "--wait-timeout", "30")
    tap.ok(env.settled("sim0", 0), "all released")
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_claimed(env, tap):
    owner = "edu-0000:00:03.0"
    g, paths = env.guests(["vm0"], claimed=owner)
    env.start(paths)
    env.ready("vm0")
    rc, out, err = env.ctl("reserve", "vm0", "16M", "--label", "claim-nic", "--wait",
                           "--wait-timeout", "20")
    rc2, out2, err2 = env.ctl("reserve", "vm0", "8M", "--label", "free", "--wait",
                              "--wait-timeout", "20")
    tap.ok(rc == 0 and rc2 == 0, "two reservations granted", out + err + out2 + err2)
    held = next(r for r in env.rsvs("vm0") if r["label"] == "claim-nic")
    free = next(r for r in env.rsvs("vm0") if r["label"] == "free")
    caps = env.vm("vm0")["guest"]["caps"]
    tap.ok("addr_limit" in caps, "bit 6 is common with a guest that has claims", caps)
    # an agent restart re-syncs: STATUS_RESULT says who holds what
    g.send_signal(signal.SIGUSR2)
    tap.ok(env.wait(lambda: env.vm("vm0")["stats"]["sessions"] >= 2 and
                    env.vm("vm0")["state"] == "ready", 20), "re-synced after an agent restart")
    code, doc = env.api("GET", f"/v1/vms/vm0/reservations/{held['id']}")
    tap.ok(code == 200 and doc.get("claimed_by") == owner and doc.get("held") == ["claimed"],
           "GET: claimed_by and held from the guest's STATUS", doc)
    code, doc = env.api("GET", f"/v1/vms/vm0/reservations/{free['id']}")
    tap.ok(code == 200 and "claimed_by" not in doc, "the free grant is not claimed", doc)

    code, doc = env.api("DELETE", f"/v1/vms/vm0/reservations/{held['id']}")
    tap.ok(code == 409 and doc.get("error") == "claimed" and doc.get("claimed_by") == owner,
           "DELETE of a claimed grant: 409 with claimed_by (after the guest answered)", doc)
    code, doc = env.api("GET", f"/v1/vms/vm0/reservations/{held['id']}")
    tap.ok(code == 200 and doc["state"] == "granted" and doc["grant_id"] == held["grant_id"] and
           "busy, claimed by " + owner in doc.get("detail", ""),
           "the grant is kept: still granted, same grant, detail says who", doc)
    rc, out, err = env.ctl("release", "vm0", str(held["id"]))
    tap.ok(rc == 1 and "busy: claimed by " + owner in err, "vcmactl release: busy: claimed by X, exit 1",
           out + err)
    rc, out, err = env.ctl("release", "vm0", str(held["id"]), "--wait", "--wait-timeout", "20")
    tap.ok(rc == 1 and "busy: claimed by " + owner in err, "vcmactl release --wait: exit 1 too",
           out + err)
    rc, out, err = env.ctl("status", "vm0")
    tap.ok(rc == 0 and "claimed by " + owner in out, "vcmactl status shows the holder", out)
    refused = env.metric("vcmad_vm_requests_total", vm="vm0", type="release", result="failed")
    tap.ok(refused == 3, "three refused releases counted, none repeated on its own", refused)
    tap.ok(env.stop(signal.SIGKILL) is not None and env.restart() and env.ready("vm0") and
           any(r["id"] == held["id"] and r["state"] == "granted" for r in env.rsvs("vm0")),
           "after a vcmad restart the claimed reservation is still there, granted")

    code, doc = env.api("DELETE", f"/v1/vms/vm0/reservations/{free['id']}")
    tap.ok(code == 200 and doc.get("state") == "released",
           "DELETE of an unclaimed grant: 200 released once the guest answered", doc)
    g.send_signal(signal.SIGHUP)    # the guest driver lets go
    time.sleep(0.3)
    rc, out, err = env.ctl("release", "vm0", str(held["id"]))
    tap.ok(rc == 0 and "released" in out, "released once the holder let go", out + err)
    tap.ok(env.rsvs("vm0") == [], "no reservations left", env.rsvs("vm0"))
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_claimed_slow(env, tap):
    """A guest slow to answer RELEASE: DELETE gives up waiting, the refusal still counts."""
    owner = "slowdrv"
    _, paths = env.guests(["vm0"], claimed=owner, release_delay_ms=12000)
    env.start(paths)
    env.ready("vm0")
    rc, out, err = env.ctl("reserve", "vm0", "8M", "--label", "claim-slow", "--wait",
                           "--wait-timeout", "20")
    tap.ok(rc == 0, "reservation granted", out + err)
    rid = env.rsvs("vm0")[0]["id"]
    t0 = time.monotonic()
    code, doc = env.api("DELETE", f"/v1/vms/vm0/reservations/{rid}")
    waited = time.monotonic() - t0
    tap.ok(code == 202 and doc.get("state") == "releasing" and 9 <= waited < 15,
           f"DELETE answers 202 releasing after waiting {waited:.1f} s for the guest", doc)
    code, doc = env.api("DELETE", f"/v1/vms/vm0/reservations/{rid}")
    tap.ok(code == 409 and doc.get("claimed_by") == owner,
           "a repeated DELETE waits for the same answer: 409 claimed", doc)

    def refused():
        r = env.rsvs("vm0")
        return len(r) == 1 and r[0]["state"] == "granted" and r[0].get("claimed_by") == owner
    tap.ok(env.wait(refused, 10), "the late E_CLAIMED puts it back to granted, claimed by the driver",
           env.rsvs("vm0"))
    rc, out, err = env.ctl("release", "vm0", str(rid), "--wait", "--wait-timeout", "30")
    tap.ok(rc == 1 and "busy: claimed by " + owner in err,
           "vcmactl release --wait follows the 202 to the refusal: busy, exit 1", out + err)
def t_below(env, tap):
    """Address-limited reservations: the wire form, the guest's refusal, and
    refusals for guests without capability bit 6 (never a grant without the limit)."""
    G = 1 << 30
    _, lim = env.guests(["lim"], addr_limit=True)
    _, old = env.guests(["old"])
    _, liar = env.guests(["liar"], addr_limit=True, evil="ignore-limit")
    env.start({**lim, **old, **liar})
    tap.ok(env.ready("lim") and env.ready("old") and env.ready("liar"), "three guests ready",
           env.log()[-2000:])
    tap.ok("addr_limit" in env.vm("lim")["guest"]["caps"] and
           "addr_limit" not in env.vm("old")["guest"]["caps"], "bit 6 common only where offered")

    # fakeguest RAM is [4G, 5G): 16M below 4G+256M lands under it
    rc, out, err = env.ctl("reserve", "lim", "16M", "--count", "2", "--label", "edu0",
                           "--below", "4352M", "--wait", "--wait-timeout", "20")
    rs = env.rsvs("lim")
    tap.ok(rc == 0 and len(rs) == 2 and all(r["state"] == "granted" for r in rs),
           "vcmactl reserve lim 16M --count 2 --below 4352M: granted", out + err)
    tap.ok(all(r.get("max_addr") == 4 * G + 256 * M and
               int(r["gpa"], 16) + r["granted_size"] <= 4 * G + 256 * M for r in rs),
           "both lie below the limit and show max_addr", rs)
    # REST: bytes or a size string
    code, doc = env.api("POST", "/v1/vms/lim/reservations",
                        {"size": "8M", "max_addr": 4 * G + 64 * M, "label": "rest"})
    tap.ok(code == 202 and doc["reservations"][0]["max_addr"] == 4 * G + 64 * M,
           "REST max_addr in bytes", doc)
    code, doc = env.api("POST", "/v1/vms/lim/reservations",
                        {"size": "8M", "max_addr": "4G", "label": "low", "wait_ms": 5000})
    tap.ok(code == 409 and doc["reservations"][0]["state"] == "failed" and
           doc["reservations"][0]["cause"] == "addr_limit",
           "a limit no window meets: failed, cause addr_limit (the guest's answer)", doc)

    # bad limits never reach a guest
    for body, what in (({"size": "16M", "max_addr": "8M"}, "below the size"),
                       ({"size": "16M", "max_addr": 4 * G + 1}, "not page aligned"),
                       ({"size": "16M", "max_addr": 0}, "zero"),
                       ({"size": "16M", "max_addr": "4Q"}, "garbage")):
        code, doc = env.api("POST", "/v1/vms/lim/reservations", body)
        tap.ok(code == 400 and "max_addr" in doc.get("detail", ""), f"REST max_addr {what}: 400",
               doc)
    rc, out, err = env.ctl("reserve", "lim", "16M", "--below", "8M")
    tap.ok(rc == 2 and "below the size" in err, "vcmactl --below under the size: exit 2", err)
    rc, out, err = env.ctl("reserve", "lim", "16M", "--below", "4097")
    tap.ok(rc == 2 and "--below" in err, "vcmactl --below not a 4K multiple: exit 2", err)

    # a guest without bit 6: refused with a clear error, nothing reserved
    rc, out, err = env.ctl("reserve", "old", "16M", "--below", "4352M", "--label", "edu0")
    tap.ok(rc != 0 and "address limit" in err and env.rsvs("old") == [],
           "vcmactl reserve --below on a guest without bit 6: refused, nothing desired", err)
    code, doc = env.api("POST", "/v1/vms/old/reservations", {"size": "16M", "max_addr": "4352M"})
    tap.ok(code == 409 and doc.get("error") == "unsupported", "REST: 409 unsupported", doc)
    rc, out, err = env.ctl("reserve", "old", "16M", "--wait", "--wait-timeout", "20")
    tap.ok(rc == 0, "the same guest still reserves without a limit", out + err)

    # a guest that ignores the limit is not believed: [4G, 4G+512M) taken first,
    # it grants the limited one above the limit
    rc, out, err = env.ctl("reserve", "liar", "512M", "--wait", "--wait-timeout", "20")
    rc, out, err = env.ctl("reserve", "liar", "16M", "--below", "4352M", "--wait",
                           "--wait-timeout", "20")
    rs = [r for r in env.rsvs("liar") if r.get("max_addr")]
    tap.ok(rc != 0 and len(rs) == 1 and rs[0]["state"] == "failed" and
           rs[0]["status"] == "E_PROTO", "a grant above the limit: failed as a protocol violation",
           rs)
    tap.ok(env.wait(lambda: "releasing grant 2: implausible grant" in env.log(), 10) and
           env.vm("liar")["stats"]["protocol_errors"] >= 1,
           "counted as a violation and the grant given back to the guest", env.log()[-1500:])

    # desired state keeps the limit: a vcmad restart re-reads it from the store
    tap.ok(env.stop(signal.SIGKILL) is not None and env.restart() and env.ready("lim"),
           "vcmad restarted")
    rs = [r for r in env.rsvs("lim") if r["label"] == "edu0"]
    tap.ok(len(rs) == 2 and all(r["state"] == "granted" and r.get("max_addr") == 4 * G + 256 * M
                                for r in rs), "the limit survives a restart", rs)
    rc, out, err = env.ctl("--json", "status", "lim")
    tap.ok(rc == 0 and '"max_addr"' in out, "vcmactl --json status shows max_addr", out)
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_stats(env, tap):
    """Balloon statistics: polling at the VM's interval (config key, then REST),
    the guest's counters over REST, vcmactl and /metrics, on-demand samples with
    polling off, a guest without capability bit 7, and the real agent's sample."""
    _, new = env.guests(["st0"], stats=True)
    _, old = env.guests(["old0"])
    conf = os.path.join(env.dir, "vcmad.conf")
    with open(conf, "w") as f:
        f.write(f"[vm.st0]\nchannel = {new['st0']}\nballoon_stats_interval_s = 1\n")
    tap.ok(env.start(old, ["--config", conf]) and env.ready("st0", "old0"),
           "vcmad serves a guest with balloon statistics and one without")
    stats = "/v1/vms/st0/balloon/statistics"

    def doc():
        code, d = env.api("GET", stats)
        return d if code == 200 else {}
    tap.ok(env.wait(lambda: doc().get("samples", 0) >= 3, 10),
           "[vm.st0] balloon_stats_interval_s = 1: vcmad polls on its own", doc())
    d = doc()
    g = d.get("guest") or {}
    tap.ok(d.get("interval_s") == 1 and d.get("available") is True and
           d.get("sample_age_ms") is not None and d["sample_age_ms"] < 2500,
           "a fresh sample, interval 1 s", d)
    tap.ok(g.get("mem_total_bytes") == 1024 * M and g.get("mem_free_bytes") == 512 * M and
           g.get("mem_available_bytes") == 768 * M and g.get("disk_caches_bytes") == 128 * M and
           g.get("swap_in_bytes") == 4096 and g.get("swap_out_bytes") == 8192 and
           g.get("oom_kills") == 1, "the guest's counters as it sent them", g)
    tap.ok("hugetlb_allocs" in g and g["hugetlb_allocs"] is None and g["hugetlb_failures"] is None,
           "counters the guest could not read are null, not 0", g)
    tap.ok(g.get("major_faults") == d.get("samples") and g.get("minor_faults") == 1000 + d["samples"],
           "every sample is a new answer of the guest (its counters move with each)", d)
    tap.ok(d.get("nodes") == [{"node": 0, "chunks": 0, "bytes": 0},
                              {"node": 1, "chunks": 0, "bytes": 0}] and
           d.get("target_bytes") == 0 and d.get("actual_bytes") == 0 and
           d.get("host", {}).get("freed_bytes") == 0 and
           d.get("pressure", {}).get("last", "missing") is None,
           "chunks by node, target/actual, host freed, no pressure deflate", d)
    time.sleep(2.2)
    n = doc().get("samples", 0)
    tap.ok(n >= d["samples"] + 1, f"polling goes on ({d['samples']} -> {n} samples in 2.2 s)")

    rc, out, err = env.ctl("balloon", "st0", "--stats")
    tap.ok(rc == 0 and "polling every 1 s" in out and "total 1G, free 512M, available 768M" in out
           and "hugetlb       allocations n/a, failures n/a" in out and
           "node 0: 0 chunks (0), node 1: 0 chunks (0)" in out and "OOM kills     1" in out,
           "vcmactl balloon st0 --stats prints the sample", out + err)
    rc, out, err = env.ctl("--json", "balloon", "st0", "--stats")
    j = json.loads(out) if rc == 0 else {}
    tap.ok(j.get("vm") == "st0" and (j.get("guest") or {}).get("mem_total_bytes") == 1024 * M,
           "vcmactl --json balloon st0 --stats is the REST document", out + err)

    rc, out, err = env.ctl("balloon", "st0", "--stats-interval", "0")
    tap.ok(rc == 0 and "polling off" in out, "vcmactl --stats-interval 0 stops polling", out + err)
    before = doc().get("samples", 0)	# with polling off, a GET asks the guest itself
    time.sleep(2.5)
    after = doc().get("samples", 0)
    tap.ok(after == before + 1, f"polling off: only the GETs ask ({before} -> {after})")
    code, d = env.api("PUT", stats, {"interval_s": 2})
    tap.ok(code == 200 and d.get("interval_s") == 2, "PUT {interval_s: 2}", (code, d))
    for body in ({"interval_s": -1}, {"interval_s": 86401}, {"interval_s": "5"},
                 {"interval": 5}, {}):
        code, d = env.api("PUT", stats, body)
        tap.ok(code == 400 and d.get("error") == "bad_request", f"PUT {body}: 400", (code, d))
    rc, out, err = env.ctl("balloon", "st0", "--stats-interval", "soon")
    tap.ok(rc == 2, "vcmactl --stats-interval soon: usage error", err)

    code, d = env.api("GET", "/v1/vms/old0/balloon/statistics")
    tap.ok(code == 409 and d.get("error") == "stats_unsupported" and "bit 7" in d.get("detail", ""),
           "a guest without capability bit 7: 409 stats_unsupported", (code, d))
    code, d = env.api("PUT", "/v1/vms/old0/balloon/statistics", {"interval_s": 5})
    tap.ok(code == 409 and d.get("error") == "stats_unsupported", "PUT to it: 409 too", (code, d))
    rc, out, err = env.ctl("balloon", "old0", "--stats")
    tap.ok(rc == 1 and "stats_unsupported" in err and "update vcma-agent" in err,
           "vcmactl says why and exits 1", err)
    code, d = env.api("GET", "/v1/vms/nosuch/balloon/statistics")
    tap.ok(code == 404, "unknown VM: 404", (code, d))
    code, d = env.api("DELETE", stats)
    tap.ok(code == 405, "DELETE: 405", (code, d))

    v = env.metric("vcmad_guest_mem_total_bytes", vm="st0")
    tap.ok(v == 1024 * M, "metrics: vcmad_guest_mem_total_bytes{vm=st0}", v)
    code, text = env.api("GET", "/metrics")
    tap.ok(code == 200 and prometheus_problems(text) == [] and 'vm="old0"' not in
           "".join(l for l in text.splitlines() if l.startswith("vcmad_guest_")),
           "metrics valid; no guest counters for the VM without statistics",
           prometheus_problems(text)[:5])

    if AGENT:
        _, sim = env.agent("sim0", mem="1G")
        conf2 = os.path.join(env.dir, "vcmad2.conf")
        with open(conf2, "w") as f:
            f.write(f"[balloon]\nstats_interval_s = 1\n")
        env.stop()
        tap.ok(env.start(sim, ["--config", conf2]) and env.ready("sim0"),
               "vcmad with [balloon] stats_interval_s = 1 serves vcma-agent --sim")
        rc, out, err = env.ctl("balloon", "sim0", "--target", "64M", "--wait", "--wait-timeout", "60")
        sd = {}

        def sim_doc():
            nonlocal sd
            code, sd = env.api("GET", "/v1/vms/sim0/balloon/statistics")
            return code == 200 and sd.get("actual_bytes") == 64 * M
        tap.ok(rc == 0 and env.wait(sim_doc, 10), "the agent's sample follows the balloon", sd)
        g = sd.get("guest") or {}
        nodes = sd.get("nodes") or []
        tap.ok(sd.get("interval_s") == 1 and sum(x["bytes"] for x in nodes) == 64 * M and
               sum(x["chunks"] for x in nodes) == 32,
               "the real agent places every chunk on a node: 32 x 2 MiB", sd)
        tap.ok(g.get("mem_total_bytes") and g["mem_total_bytes"] + 64 * M <= 1024 * M and
               g.get("mem_free_bytes") is not None and g["mem_free_bytes"] <= g["mem_total_bytes"] and
               g.get("major_faults") is None,
               "the simulated guest's memory from its model; no event counters (null)", g)
    else:
        tap.diag("vcma-agent --sim not built: the real agent's part is skipped")
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_logflood(env, tap):
    """A guest sending 20000 frames that are each a violation (allowed to stay
    connected): vcmad's log about it stays bounded by the per-VM token bucket,
    the rest is counted and summarised; the other VM is logged and served."""
    _, good = env.guests(["good"])
    _, evil = env.guests(["evil-pong-flood"], evil="pong-flood")
    vms = dict(good, **evil)
    t0 = time.monotonic()
    env.start(vms, ["--set", "limits.max_violations=1000000",
                    "--set", "limits.max_frames_per_sec=10000000",
                    "--set", "daemon.log_rate=20", "--set", "daemon.log_burst=100"])
    tap.ok(env.ready("good"), "the good guest is ready")
    pat = "vm evil-pong-flood: "
    done = env.wait(lambda: (env.metric("vcmad_vm_protocol_errors_total",
                                        vm="evil-pong-flood") or 0) >= 20000, 30)
    errs = env.metric("vcmad_vm_protocol_errors_total", vm="evil-pong-flood")
    tap.ok(done, "all 20000 violations are counted", errs)
    # the tick writes the summary once the bucket has a token again
    summary = env.wait(lambda: any(pat in l and "lines suppressed" in l
                                   for l in env.log().splitlines()), 5)
    elapsed = time.monotonic() - t0
    lines = [l for l in env.log().splitlines() if pat in l]
    tap.diag(f"{len(lines)} log lines about the flooding VM in {elapsed:.1f} s, "
             f"{errs:.0f} violations")
    tap.ok(summary, "a 'N lines suppressed' summary line",
           "\n".join(lines[-5:]))
    # burst 100 + 20/s since start, a few summaries
    bound = 100 + 20 * elapsed + 10
    tap.ok(len(lines) <= bound, f"the log about it stays bounded ({len(lines)} <= {bound:.0f})",
           len(lines))
    sup = env.metric("vcmad_log_suppressed_total", vm="evil-pong-flood")
    tap.ok(sup is not None and sup + len(lines) >= 20000,
           "vcmad_log_suppressed_total counts what was dropped", sup)
    tap.ok(env.metric("vcmad_log_suppressed_total", vm="good") == 0,
           "nothing of the good VM is suppressed")
    rc, out, err = env.ctl("reserve", "good", "64M", "--count", "2", "--wait",
                           "--wait-timeout", "30")
    tap.ok(rc == 0, "the good guest still gets its reservations", out + err)
    tap.ok(any("vm good: " in l and "connected to channel" in l for l in env.log().splitlines()),
           "the good VM's lines are still written")
    time.sleep(1)
    lines = [l for l in env.log().splitlines() if pat in l]
    bound = 100 + 20 * (time.monotonic() - t0) + 10
    tap.ok(len(lines) <= bound, f"still bounded a second later ({len(lines)} <= {bound:.0f})")
    tap.ok(env.stop() == 0, "vcmad exits 0")


SCENARIOS = {
    "basic": t_basic, "errors": t_errors, "many": t_many, "restart": t_restart,
    "reboot": t_reboot, "retry": t_retry, "deadline": t_deadline, "stale": t_stale,
    "hostile": t_hostile, "agent": t_agent, "claimed": t_claimed,
    "claimed-slow": t_claimed_slow, "below": t_below, "stats": t_stats, "logflood": t_logflood,
}


if __name__ == "__main__":
    sys.exit(main(SCENARIOS))
