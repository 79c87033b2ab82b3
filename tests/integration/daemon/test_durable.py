#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Integration tests of vcmad's durable state and its operations interface:
the real daemon, real unix sockets, the scripted guest (fakeguest) and, for
the balloon, the real vcma-agent on the mm model with fakeqemu.py's memfd.
Each scenario prints TAP. Usage: test_durable.py SCENARIO (see SCENARIOS)."""
import glob
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "balloon"))
from vcmatest import M, VCMAD, main  # noqa: E402

CHUNK = 2 * M
UID = 4242	# an unprivileged user for the permission tests (no passwd entry needed)


def state_file(env, key):
    return os.path.join(env.state, f"vm-{key}.json")


def read_state(env, key):
    with open(state_file(env, key)) as f:
        return json.load(f)


def as_user(uid, gid, groups):
    """setpriv prefix running a command as uid:gid with exactly these supplementary groups."""
    g = ["--groups=" + ",".join(str(x) for x in groups)] if groups else ["--clear-groups"]
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}"] + g + ["--"]


CLIENT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from vcmad_http import UnixHTTP
c = UnixHTTP(sys.argv[2], timeout=10)
body = sys.argv[5] if len(sys.argv) > 5 else None
c.request(sys.argv[3], sys.argv[4], body=body,
          headers={"Content-Type": "application/json"} if body else {})
r = c.getresponse()
text = r.read().decode()
try:
    err = json.loads(text).get("error", "")
except ValueError:
    err = ""
print(r.status, err)
"""


def api_as(env, prefix, method, path, body=None):
    """(status, error) of one REST request made by another user; (0, why) if it could not connect."""
    args = prefix + [sys.executable, "-c", CLIENT, HERE, env.sock, method, path]
    if body is not None:
        args.append(json.dumps(body))
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if p.returncode:
        return 0, p.stderr.strip().splitlines()[-1:] or [""]
    code, _, err = p.stdout.strip().partition(" ")
    return int(code), err


def wait_exit(p, timeout):
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


# ---- item 3: durable and exact state ----------------------------------------------

def t_lock(env, tap):
    _, paths = env.guests(["vm0"])
    tap.ok(env.start(paths) and env.ready("vm0"), "first vcmad serves vm0")
    pid = env.vcmad_proc.pid
    log = open(os.path.join(env.dir, "second.log"), "w+")
    p = subprocess.Popen([VCMAD, "--api-socket", os.path.join(env.dir, "second.sock"),
                          "--state-dir", env.state, "--no-fsync"], stdout=log, stderr=log)
    rc = wait_exit(p, 10)
    if rc is None:
        p.kill()
        p.wait()
    log.seek(0)
    text = log.read()
    tap.ok(rc == 3, "a second vcmad on the same state directory exits with status 3", rc)
    tap.ok("in use by another vcmad" in text and f"pid {pid}" in text,
           "it says another vcmad holds the directory, with its pid", text)
    tap.ok(not os.path.exists(os.path.join(env.dir, "second.sock")),
           "the second vcmad never opened its API socket")
    tap.ok(env.api_up() and env.vm("vm0")["state"] == "ready", "the first one keeps serving")
    env.stop()
    p = subprocess.Popen([VCMAD, "--api-socket", os.path.join(env.dir, "second.sock"),
                          "--state-dir", env.state, "--no-fsync"], stdout=log, stderr=log)
    up = env.wait(lambda: os.path.exists(os.path.join(env.dir, "second.sock")), 10)
    tap.ok(up, "once the first has exited the directory is free (the lock dies with it)")
    p.send_signal(signal.SIGTERM)
    tap.ok(wait_exit(p, 10) == 0, "and that vcmad exits 0")


def t_corrupt(env, tap):
    _, paths = env.guests(["vm0"])
    env.start(paths)
    env.ready("vm0")
    rc, out, err = env.ctl("reserve", "vm0", "16M", "--count", "2", "--wait", "--wait-timeout", "20")
    tap.ok(rc == 0, "two reservations granted", out + err)
    grants = sorted(r["grant_id"] for r in env.rsvs("vm0"))
    env.stop()
    path = state_file(env, "vm0")
    with open(path) as f:
        good = f.read()
    garbage = good[: len(good) // 2]	# a torn write, as a disk or an editor leaves it
    with open(path, "w") as f:
        f.write(garbage)
    tap.ok(env.restart(), "vcmad starts with a corrupt state file")
    v = env.vm("vm0")
    tap.ok(v and v["state"] == "unmanaged" and "kept as" in v.get("unmanaged_reason", ""),
           "the VM is shown unmanaged, with the reason", v)
    aside = glob.glob(path + ".corrupt-*")
    tap.ok(len(aside) == 1 and open(aside[0]).read() == garbage and not os.path.exists(path),
           "the file is kept aside as .corrupt-TIMESTAMP, unchanged", aside)
    tap.ok(env.metric("vcmad_vm_unmanaged", vm="vm0") == 1, "metric vcmad_vm_unmanaged 1")
    tap.ok(not v["connected"] and env.metric("vcmad_vm_connected", vm="vm0") == 0,
           "vcmad leaves the guest alone (not connected: nothing released or re-requested)")
    code, doc = env.api("POST", "/v1/vms/vm0/reservations", {"size": "8M"})
    tap.ok(code == 409 and doc.get("error") == "unmanaged", "changes are refused with 409", doc)
    time.sleep(0.5)
    tap.ok(not os.path.exists(path), "no empty state file was written in its place")
    tap.ok(env.restart() and env.vm("vm0")["state"] == "unmanaged",
           "still unmanaged after another restart (the copy set aside is still there)",
           env.vm("vm0"))
    with open(path, "w") as f:	# the operator puts the good state back
        f.write(good)
    env.vcmad_proc.send_signal(signal.SIGHUP)
    tap.ok(env.ready("vm0") and env.settled("vm0", 2), "after SIGHUP the VM is managed again")
    tap.ok(sorted(r["grant_id"] for r in env.rsvs("vm0")) == grants,
           "with the same grants, adopted from the guest", env.rsvs("vm0"))
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_savefail(env, tap):
    """vcmad as an unprivileged user, so that a read-only state directory really refuses writes."""
    run = os.path.join(env.dir, "run")
    os.mkdir(run)
    os.chown(run, UID, UID)
    os.chmod(env.dir, 0o755)
    env.sock = os.path.join(run, "api.sock")
    env.state = os.path.join(run, "state")
    _, paths = env.guests(["vm0"])
    for p in paths.values():
        os.chmod(p, 0o666)
    tap.ok(env.start(paths, prefix=as_user(UID, UID, [])) and env.ready("vm0"),
           "vcmad runs as uid 4242 and serves vm0")
    code, doc = env.api("POST", "/v1/vms/vm0/reservations", {"size": "8M"})
    tap.ok(code == 202, "with a writable state directory a reservation is 202", doc)
    tap.ok(env.metric("vcmad_store_save_errors_total") == 0, "no save errors yet")
    os.chmod(env.state, 0o500)
    code, doc = env.api("POST", "/v1/vms/vm0/reservations", {"size": "8M"})
    tap.ok(code == 500 and doc.get("error") == "state_not_saved" and
           "Permission denied" in doc.get("detail", ""),
           "read-only state directory: POST answers 500 state_not_saved with the reason", doc)
    code, doc = env.api("PUT", "/v1/vms/vm0/balloon", {"target": "0"})
    tap.ok(code >= 500, "PUT balloon also answers 5xx", (code, doc))
    errs = env.metric("vcmad_store_save_errors_total")
    tap.ok(errs and errs >= 2 and env.metric("vcmad_store_save_failing") == 1,
           "metrics count the failed writes and show the store failing", errs)
    tap.ok(env.log().count("cannot save the state of vm vm0") == 1,
           "the failure is logged once, not every tick")
    os.chmod(env.state, 0o700)
    tap.ok(env.wait(lambda: env.metric("vcmad_store_save_failing") == 0, 5),
           "writable again: the next tick saves and the gauge clears")
    tap.ok(len(read_state(env, "vm0")["reservations"]) == 2,
           "the change refused as not durable is on disk now")
    code, doc = env.api("POST", "/v1/vms/vm0/reservations", {"size": "8M"})
    tap.ok(code == 202, "and requests are 202 again", doc)
    tap.ok(env.stop() == 0, "vcmad exits 0")


UUID = "6f1a4d3e-0c8b-4d2a-9a51-2f7d1c0e9b11"
NODE = """<node>
  <domain type='test'>
    <name>vcma-d1</name>
    <uuid>{uuid}</uuid>
    <memory unit='MiB'>1024</memory>
    <currentMemory unit='MiB'>1024</currentMemory>
    <vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <metadata>
      <vcma:config xmlns:vcma='https://vcma.invalid/xmlns/vcma/1'>
        <vcma:reservation size='8M' count='2'/>
      </vcma:config>
    </metadata>
    <devices>
      <channel type='unix'>
        <source mode='bind' path='{channel}'/>
        <target type='virtio' name='org.vcma.0'/>
      </channel>
    </devices>
  </domain>
</node>
"""


def t_libvirt_state(env, tap):
    """A libvirt domain (the test driver, in vcmad) keyed by UUID; corrupt state served from metadata."""
    _, paths = env.guests(["vcma-d1"])
    node = os.path.join(env.dir, "node.xml")
    with open(node, "w") as f:
        f.write(NODE.format(uuid=UUID, channel=paths["vcma-d1"]))
    os.makedirs(env.state)
    legacy = {"format": 1, "vm": "vcma-d1", "next_id": 3, "balloon_target": 0, "reservations": [
        {"id": i, "size": 8 * M, "align": 0, "label": "", "state": "pending"} for i in (1, 2)]}
    with open(state_file(env, "vcma-d1"), "w") as f:
        json.dump(legacy, f)
    tap.ok(env.start({}, ["--connect", f"test://{node}"]) and env.ready("vcma-d1") and
           env.settled("vcma-d1", 2), "vcmad serves the test driver's domain from libvirt")
    v = env.vm("vcma-d1")
    tap.ok(v["uuid"] == UUID and v["source"] == "libvirt", "GET shows its libvirt UUID", v)
    tap.ok(not os.path.exists(state_file(env, "vcma-d1")) and
           read_state(env, UUID)["vm"] == "vcma-d1", "the name-keyed file of an older vcmad "
           "is now vm-UUID.json")
    tap.ok(sorted(r["id"] for r in env.rsvs("vcma-d1")) == [1, 2],
           "its reservations kept their ids (matched to the metadata by shape)", env.rsvs("vcma-d1"))
    env.stop()
    with open(state_file(env, UUID), "w") as f:
        f.write('{"format": 2, "reservations": [')
    tap.ok(env.restart() and env.ready("vcma-d1") and env.settled("vcma-d1", 2),
           "corrupt state file: the domain is still served, from its libvirt metadata")
    tap.ok(len(glob.glob(state_file(env, UUID) + ".corrupt-*")) == 1, "the file is set aside")
    tap.ok("serving the VM from its desired state in libvirt metadata" in env.log(),
           "the log says so")
    tap.ok(all(r["state"] == "granted" and r["size"] == 8 * M for r in env.rsvs("vcma-d1")),
           "the metadata's two 8 MiB reservations are granted", env.rsvs("vcma-d1"))
    tap.ok(env.wait(lambda: os.path.exists(state_file(env, UUID)) and
                    len(read_state(env, UUID)["reservations"]) == 2, 5),
           "and written to a new vm-UUID.json")
    tap.ok(env.stop() == 0, "vcmad exits 0")


# ---- the balloon's chunk set across restarts (real agent on the model, fakeqemu) ----------

def balloon(env, vm="g"):
    """GET .../balloon once vcmad's QMP inspection (on its thread) has answered."""
    def get():
        code, doc = env.api("GET", f"/v1/vms/{vm}/balloon")
        return doc if code == 200 else {}
    env.wait(lambda: not get().get("host", {}).get("reclaim_pending"), 10)
    return get()


def backing_offset(q, gpa):
    """fakeqemu's layout: guest-physical [0, half) at offset half, [half, size) at 0."""
    half = q.size // 2
    return gpa + half if gpa < half else gpa - half


def stored_chunks_are_holes(env, q, n, key="g"):
    """The chunks of the state file once it holds n (the tick saves), and those not punched."""
    def chunks():
        return read_state(env, key)["balloon"]["chunks"]
    env.wait(lambda: len(chunks()) == n, 5)
    c = chunks()
    return c, [x for x in c if not q.is_hole(backing_offset(q, x), CHUNK)]


def start_sim(env, tap, q, with_qmp=True):
    from test_balloon import serve_sim_guest  # noqa: E402
    return serve_sim_guest(env, tap, "512M", q if with_qmp else None)


def t_unpunched(env, tap):
    """Chunks given up while no backing was known are punched after a restart that knows it."""
    from test_balloon import FakeQemu  # noqa: E402
    q = FakeQemu(env, 512)
    if not start_sim(env, tap, q, with_qmp=False):
        return
    before = q.allocated()
    rc, out, err = env.ctl("balloon", "g", "--target", "64M", "--wait", timeout=60)
    b = balloon(env)
    tap.ok(rc == 0 and b["chunks"] == 32 and b["chunks_unpunched"] == 32 and
           b["host"]["chunks_punched"] == 0 and
           env.metric("vcmad_balloon_chunks_unpunched", vm="g") == 32,
           "64 MiB ballooned without a QMP socket: 32 chunks, none punched", b)
    env.wait(lambda: len(read_state(env, "g")["balloon"]["chunks"]) == 32, 5)	# the tick saves
    st = read_state(env, "g")["balloon"]
    tap.ok(len(st["chunks"]) == 32 and st["unpunched"] == st["chunks"],
           "the state file holds the 32 chunks, all unpunched", st)
    env.stop()
    tap.ok(q.allocated() == before, "the memfd is untouched so far")
    env.vcmad_args = [a for a in env.vcmad_args]
    i = env.vcmad_args.index("--vm")
    env.vcmad_args[i + 1] += f",qmp={q.qmp}"
    tap.ok(env.restart() and env.ready("g"), "vcmad restarted, now with the QMP socket")
    def settled():
        b = balloon(env)
        return b.get("chunks_unpunched") == 0 and b.get("chunks") == 32 and \
            b.get("chunk_set") == "exact" and b.get("state") == "done"
    tap.ok(env.wait(settled, 30), "the unpunched chunks get punched after the restart",
           balloon(env))
    tap.ok("were never punched" in env.log(), "not from the stored list (the guest may have "
           "taken chunks back since): the balloon is deflated and inflated again")
    b = balloon(env)
    tap.ok(b["chunks"] == 32 and b["actual_bytes"] == 64 * M and b["chunk_set"] == "exact" and
           b["host"]["punched_bytes"] == 64 * M, "counters right: 32 chunks, 64 MiB punched", b)
    tap.ok(before - q.allocated() == 64 * M,
           f"the memfd lost exactly 64 MiB ({(before - q.allocated()) / M:.1f} MiB measured)")
    chunks, missing = stored_chunks_are_holes(env, q, 32)
    tap.ok(len(chunks) == 32 and not missing, "every stored chunk is a hole at its offset", missing)
    tap.ok(env.metric("vcmad_vm_protocol_errors_total", vm="g") == 0, "no protocol errors")


def t_late_qmp(env, tap):
    """QEMU's QMP socket unreachable while the guest inflates: punched once it answers (same session)."""
    from test_balloon import FakeQemu, serve_sim_guest  # noqa: E402
    qmp = os.path.join(env.dir, "qmp.sock")	# where FakeQemu will listen, not yet

    class Later:
        pass
    later = Later()
    later.qmp = qmp
    if not serve_sim_guest(env, tap, "512M", later, "vcmad with a QMP socket nobody serves yet"):
        return
    rc, out, err = env.ctl("balloon", "g", "--target", "64M", "--wait", timeout=60)
    b = balloon(env)
    tap.ok(rc == 0 and b["chunks"] == 32 and b["chunks_unpunched"] == 32 and
           not b["host"]["reclaim_possible"], "64 MiB ballooned, nothing punched yet", b)
    q = FakeQemu(env, 512)
    before = q.allocated()
    t0 = time.monotonic()
    tap.ok(env.wait(lambda: balloon(env).get("chunks_unpunched") == 0, 60),
           "once QMP answers (vcmad asks again every 30 s) the pending chunks are punched",
           balloon(env))
    tap.diag(f"punched {(time.monotonic() - t0):.1f} s after QEMU's QMP came up")
    tap.ok(before - q.allocated() == 64 * M and balloon(env)["host"]["punched_bytes"] == 64 * M,
           f"the memfd lost exactly 64 MiB ({(before - q.allocated()) / M:.1f} MiB)")
    chunks, missing = stored_chunks_are_holes(env, q, 32)
    tap.ok(len(chunks) == 32 and not missing, "every chunk is a hole at its offset", missing)
    tap.ok("were never punched" not in env.log() and balloon(env)["chunk_set"] == "exact",
           "in the same session the live list is punched as it stands (no resync)")


def t_lost_reports(env, tap):
    """Reports the store missed (vcmad stopped between a report and its save): resynchronised."""
    from test_balloon import FakeQemu  # noqa: E402
    q = FakeQemu(env, 512)
    if not start_sim(env, tap, q):
        return
    before = q.allocated()
    rc, out, err = env.ctl("balloon", "g", "--target", "128M", "--wait", timeout=60)
    tap.ok(rc == 0 and balloon(env)["chunks"] == 64, "128 MiB ballooned, 64 chunks", out + err)
    env.stop()
    doc = read_state(env, "g")
    lost = doc["balloon"]["chunks"][-8:]
    doc["balloon"]["chunks"] = doc["balloon"]["chunks"][:-8]
    with open(state_file(env, "g"), "w") as f:
        json.dump(doc, f)
    t0 = time.monotonic()
    tap.ok(env.restart() and env.ready("g"), "vcmad restarted with 8 chunks missing from its store")
    tap.ok(env.wait(lambda: "deflating it to 0" in env.log(), 20),
           "the mismatch with the guest's balloon is seen and said")
    tap.ok(env.wait(lambda: balloon(env).get("chunk_set") == "exact" and
                    balloon(env).get("state") == "done", 60), "resynchronised", balloon(env))
    tap.diag(f"restart to an exact chunk set of 128 MiB: {(time.monotonic() - t0) * 1000:.0f} ms "
             "(deflate to 0 and inflate again, simulated guest)")
    b = balloon(env)
    tap.ok(b["actual_bytes"] == 128 * M and b["chunks"] == 64 and b["chunks_unpunched"] == 0,
           "counters right: 128 MiB in the balloon, 64 chunks known, none unpunched", b)
    chunks, missing = stored_chunks_are_holes(env, q, 64)
    tap.ok(len(chunks) == 64 and not missing, "every chunk the guest holds is punched", missing)
    tap.ok(before - q.allocated() >= 128 * M, "the memfd lost at least the 128 MiB ballooned",
           (before - q.allocated()) / M)
    tap.ok(env.metric("vcmad_vm_protocol_errors_total", vm="g") == 0, "no protocol errors")
    tap.diag(f"{len(lost)} chunks were dropped from the store")


def t_kill_balloon(env, tap):
    """kill -9 of vcmad in the middle of an inflate: afterwards the chunk set is the guest's."""
    from test_balloon import FakeQemu  # noqa: E402
    q = FakeQemu(env, 512)
    if not start_sim(env, tap, q):
        return
    code, _ = env.api("PUT", "/v1/vms/g/balloon", {"target": "192M"})
    tap.ok(code == 202, "192 MiB asked")
    # at once: the reports of the inflate arrive before the next tick would save them
    tap.ok(env.stop(signal.SIGKILL) is not None, "vcmad killed with SIGKILL right after")
    tap.ok(env.restart() and env.ready("g"), "vcmad restarted")
    tap.ok(env.wait(lambda: balloon(env).get("state") == "done" and
                    balloon(env).get("chunk_set") == "exact", 90), "the target is met",
           balloon(env))
    b = balloon(env)
    tap.ok(b["actual_bytes"] == 192 * M and b["chunks"] * CHUNK == b["actual_bytes"] and
           b["host"]["chunks_punched"] == 96 and
           env.metric("vcmad_balloon_chunks_unpunched", vm="g") == 0,
           "chunks known == chunks punched == the guest's balloon", b)
    chunks, missing = stored_chunks_are_holes(env, q, 96)
    tap.ok(len(chunks) == 96 and not missing, "all 96 stored chunks are punched", missing)
    tap.ok(env.metric("vcmad_vm_protocol_errors_total", vm="g") == 0, "no protocol errors")
    tap.diag("resynchronised: " + ("yes" if "deflating it to 0" in env.log() else
                                   "no (the store had every chunk)"))


# ---- item 4: operations --------------------------------------------------------------

def t_readonly(env, tap):
    _, paths = env.guests(["vm0"])
    os.chmod(env.dir, 0o755)
    tap.ok(env.start(paths, ["--api-group", "4300", "--api-read-group", "4301"]) and
           env.ready("vm0"), "vcmad with api_group 4300 and api_read_group 4301")
    tap.ok(stat.S_IMODE(os.stat(env.sock).st_mode) == 0o666 and os.stat(env.sock).st_gid == 4300,
           "socket 0666 group 4300 (every request is checked by credentials)")
    admin = as_user(4242, 4242, [4300])	# api_group only as a supplementary group
    reader = as_user(4243, 4243, [4301])
    stranger = as_user(4244, 4244, [])
    tap.ok(api_as(env, admin, "POST", "/v1/vms/vm0/reservations", {"size": "8M"})[0] == 202,
           "a supplementary member of api_group may POST")
    for method, path, body in [("GET", "/v1/vms", None), ("GET", "/v1/vms/vm0", None),
                               ("GET", "/metrics", None), ("GET", "/v1/vms/vm0/balloon", None)]:
        r = api_as(env, reader, method, path, body)
        tap.ok(r[0] == 200, f"read-only group: {method} {path} 200", r)
    for method, path, body in [("POST", "/v1/vms/vm0/reservations", {"size": "8M"}),
                               ("DELETE", "/v1/vms/vm0/reservations/1", None),
                               ("PUT", "/v1/vms/vm0/balloon", {"target": "0"})]:
        r = api_as(env, reader, method, path, body)
        tap.ok(r == (403, "read_only"), f"read-only group: {method} {path} 403 read_only", r)
    tap.ok(len(env.rsvs("vm0")) == 1, "nothing the read-only group asked for happened")
    r = api_as(env, stranger, "GET", "/v1/vms")
    tap.ok(r == (403, "forbidden"), "a user in neither group: 403", r)
    tap.ok(env.stop() == 0, "vcmad exits 0")


def write_conf(path, text):
    with open(path, "w") as f:
        f.write(text)


def t_sighup(env, tap):
    _, paths = env.guests(["vm0", "vm1"])
    conf = os.path.join(env.dir, "vcmad.conf")
    ghost = os.path.join(env.dir, "nobody-listens.sock")	# its retries log at debug level
    write_conf(conf, f"[daemon]\nlog_level = info\nstate_dir = {env.state}\n"
               f"[vm.vm0]\nchannel = {paths['vm0']}\n[vm.ghost]\nchannel = {ghost}\n")
    args = [VCMAD, "--config", conf, "--api-socket", env.sock, "--no-fsync"]
    env.vcmad_args = args
    env.vcmad_env = dict(os.environ)
    env.vcmad_log = open(env.logpath, "a")
    env.vcmad_proc = subprocess.Popen(args, stdout=env.vcmad_log, stderr=env.vcmad_log)
    tap.ok(env.wait(env.api_up, 10) and env.ready("vm0"), "vcmad from a config file serves vm0")
    tap.ok(" debug: " not in env.log(), "log level info: no debug lines")
    write_conf(conf, f"[daemon]\nlog_level = debug\napi_read_group = 4301\nstate_dir = {env.state}\n"
               f"[vm.vm0]\nchannel = {paths['vm0']}\n[vm.vm1]\nchannel = {paths['vm1']}\n"
               f"[vm.ghost]\nchannel = {ghost}\n")
    env.vcmad_proc.send_signal(signal.SIGHUP)
    tap.ok(env.ready("vm1"), "after SIGHUP the new [vm.vm1] is served")
    tap.ok(env.vm("vm0")["state"] == "ready", "vm0 kept its session")
    tap.ok(env.wait(lambda: " debug: " in env.log(), 10), "log_level = debug applied")
    tap.ok(stat.S_IMODE(os.stat(env.sock).st_mode) == 0o666, "api_read_group applied to the socket")
    tap.ok(env.metric("vcmad_config_reloads_total", result="ok") == 1, "one reload counted")
    write_conf(conf, "[daemon]\nlog_level = loud\n")
    env.vcmad_proc.send_signal(signal.SIGHUP)
    tap.ok(env.wait(lambda: env.metric("vcmad_config_reloads_total", result="error") == 1, 10),
           "a bad file: the reload fails and is counted")
    tap.ok(env.vcmad_proc.poll() is None and env.vm("vm1") and env.vm("vm1")["state"] == "ready",
           "vcmad keeps running with the previous configuration")
    tap.ok("bad value 'loud'" in env.log(), "the log says what is wrong")
    write_conf(conf, f"[daemon]\nlog_level = info\nstate_dir = /nonexistent\n"
               f"[vm.vm0]\nchannel = {paths['vm0']}\n")
    env.vcmad_proc.send_signal(signal.SIGHUP)
    tap.ok(env.wait(lambda: env.vm("vm1") is None, 10), "[vm.vm1] removed: vm1 is detached")
    tap.ok("state_dir changed; it takes effect at the next restart" in env.log(),
           "a key that needs a restart is named")
    tap.ok(env.api_up() and stat.S_IMODE(os.stat(env.sock).st_mode) == 0o660,
           "state_dir kept, api_read_group dropped")
    tap.ok(env.stop() == 0, "vcmad exits 0")


def t_notify(env, tap):
    path = os.path.join(env.dir, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(0.2)
    got = []

    def drain(until, pred=None):
        end = time.monotonic() + until
        while time.monotonic() < end:
            try:
                got.append((time.monotonic(), ns.recv(4096).decode()))
            except socket.timeout:
                pass
            if pred and pred():
                return True
        return pred() if pred else True

    def seen(s):
        return [m for _, m in got if s in m.split("\n")]

    _, paths = env.guests(["vm0"])
    tap.ok(env.start(paths, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}),
           "vcmad with NOTIFY_SOCKET and WATCHDOG_USEC=400000")
    tap.ok(drain(5, lambda: seen("READY=1")), "READY=1 arrives", got)
    ready = seen("READY=1")
    tap.ok(ready and f"MAINPID={env.vcmad_proc.pid}" in ready[0], "with MAINPID", ready)
    tap.ok(env.api_up(), "the API answers once READY=1 is sent")
    drain(3, lambda: any("STATUS=serving 1 VMs, 1 connected" in m for _, m in got))
    tap.ok(any("STATUS=serving 1 VMs, 1 connected" in m for _, m in got), "STATUS= follows the VMs",
           [m for _, m in got if "STATUS" in m])
    got.clear()
    drain(2)
    pings = [t for t, m in got if m == "WATCHDOG=1"]
    tap.ok(8 <= len(pings) <= 12, f"WATCHDOG=1 about every 200 ms ({len(pings)} in 2 s)", got)
    os.kill(env.vcmad_proc.pid, signal.SIGSTOP)
    drain(0.3)	# a ping sent just before the stop may still sit in the socket
    got.clear()
    drain(1)
    tap.ok(not any(m == "WATCHDOG=1" for _, m in got), "a stopped loop sends no WATCHDOG=1", got)
    os.kill(env.vcmad_proc.pid, signal.SIGCONT)
    got.clear()
    env.vcmad_proc.send_signal(signal.SIGHUP)
    drain(3, lambda: seen("RELOADING=1") and any(
        m.startswith("READY=1") for _, m in got if "RELOADING" not in m))
    tap.ok(seen("RELOADING=1") and seen("READY=1"), "SIGHUP: RELOADING=1 then READY=1",
           [m for _, m in got if m != "WATCHDOG=1"])
    got.clear()
    env.vcmad_proc.send_signal(signal.SIGTERM)
    drain(3, lambda: seen("STOPPING=1"))
    tap.ok(seen("STOPPING=1"), "SIGTERM: STOPPING=1")
    tap.ok(wait_exit(env.vcmad_proc, 10) == 0, "vcmad exits 0")
    env.vcmad_proc = None
    got.clear()
    tap.ok(env.start(paths, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000",
                                 "WATCHDOG_PID": "1"}), "vcmad with WATCHDOG_PID of another process")
    drain(1.5)
    tap.ok(seen("READY=1") and not seen("WATCHDOG=1"), "READY=1 but no watchdog pings",
           [m for _, m in got])
    ns.close()


def t_journal(env, tap):
    # a state file that cannot be read gives an error line
    os.makedirs(env.state, exist_ok=True)
    with open(state_file(env, "vm0"), "w") as f:
        f.write("{")
    _, paths = env.guests(["vm0"])
    paths["ghost"] = os.path.join(env.dir, "nobody-listens.sock")	# debug lines: retries
    open(env.logpath, "a").close()
    st = os.stat(env.logpath)
    tap.ok(env.start(paths, env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}),
           "vcmad whose stderr is the stream named by JOURNAL_STREAM")
    env.wait(lambda: "<7>" in env.log(), 5)
    env.stop()
    lines = env.log().splitlines()
    tap.ok(lines and all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines),
           "every line carries a syslog priority prefix", lines[:5])
    tap.ok(any(line.startswith("<3>error: vm vm0: unmanaged") for line in lines),
           "an error is priority 3", [x for x in lines if "unmanaged" in x])
    tap.ok(any(line.startswith("<6>info: vcmad ") for line in lines), "info is 6")
    tap.ok(any(line.startswith("<7>debug: ") for line in lines), "debug is 7")
    tap.ok(not any("vcmad[" in line for line in lines), "no name[pid] of our own (journald adds it)")
    os.rename(env.logpath, env.logpath + ".journal")
    env.restart()
    env.stop()
    lines = env.log().splitlines()
    tap.ok(lines and all(line.startswith("vcmad[") for line in lines),
           "stderr redirected elsewhere (JOURNAL_STREAM no longer matches): plain lines", lines[:3])


SCENARIOS = {"lock": t_lock, "corrupt": t_corrupt, "savefail": t_savefail,
             "unpunched": t_unpunched, "late_qmp": t_late_qmp, "lost_reports": t_lost_reports,
             "kill_balloon": t_kill_balloon, "readonly": t_readonly, "sighup": t_sighup,
             "notify": t_notify, "journal": t_journal, "libvirt_state": t_libvirt_state}

if __name__ == "__main__":
    sys.exit(main(SCENARIOS))
