#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A hung QEMU monitor against one vcmad: VM "h" (vcma-agent --sim, balloon)
has a QMP socket that accepts and never answers; VM "good" (fakeguest) is
asked GET /v1/vms/good and RESERVE in a loop while h's balloon is driven (its
QMP inspection hangs for its 2 s timeout). Prints p50/p99/max latency of the
good VM's GETs with and without the hung monitor (goal: p99 < 100 ms)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "integration", "daemon"))
from vcmad_http import UnixHTTP  # noqa: E402

VCMAD = os.environ["VCMAD"]
FAKEGUEST = os.environ["FAKEGUEST"]
AGENT = os.environ.get("VCMA_AGENT")
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))


def call(sock, method, path, body=None):
    c = UnixHTTP(sock, timeout=30)
    t0 = time.perf_counter()
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"} if body is not None else {})
    r = c.getresponse()
    r.read()
    dt = time.perf_counter() - t0
    c.close()
    return r.status, dt


def wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def ready(sock, name):
    c = UnixHTTP(sock, timeout=5)
    c.request("GET", "/v1/vms/" + name)
    r = c.getresponse()
    d = json.loads(r.read() or b"{}")
    c.close()
    return r.status == 200 and d.get("state") == "ready"


def run(hung):
    d = tempfile.mkdtemp(prefix="vcma-bench-qmp-")
    procs, conns = [], []
    try:
        gsock, hsock, qmp = (os.path.join(d, n) for n in ("good.sock", "h.sock", "qmp.sock"))
        log = open(os.path.join(d, "log"), "w")
        procs.append(subprocess.Popen([FAKEGUEST, "--mem", "4096", "--listen", gsock],
                                      stdout=log, stderr=log))
        procs.append(subprocess.Popen([AGENT, "--sim", "--sim-mem", "512M", "--listen", hsock],
                                      stdout=log, stderr=log))
        hv = f"h={hsock}"
        if hung:
            ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ls.bind(qmp)
            ls.listen(8)

            def accept():
                while True:
                    try:
                        conns.append(ls.accept()[0])	# kept open, never answered
                    except OSError:
                        return
            threading.Thread(target=accept, daemon=True).start()
            hv += f",qmp={qmp}"
        wait(lambda: os.path.exists(gsock) and os.path.exists(hsock), 10)
        api = os.path.join(d, "api.sock")
        procs.append(subprocess.Popen([VCMAD, "--api-socket", api, "--state-dir",
                                       os.path.join(d, "state"), "--no-fsync",
                                       "--vm", f"good={gsock}", "--vm", hv],
                                      stdout=log, stderr=log))
        if not wait(lambda: ready(api, "good") and ready(api, "h"), 20):
            raise RuntimeError("vcmad did not get both VMs ready")
        stop = time.monotonic() + SECONDS
        lat = []

        def drive_h():
            target = 0
            while time.monotonic() < stop:
                target = 64 - target
                call(api, "PUT", "/v1/vms/h/balloon", {"target": f"{target}M"})
                call(api, "GET", "/v1/vms/h/balloon")
                time.sleep(0.2)
        t = threading.Thread(target=drive_h)
        t.start()
        n = 0
        while time.monotonic() < stop:
            call(api, "POST", "/v1/vms/good/reservations", {"size": "2M"})
            _, dt = call(api, "GET", "/v1/vms/good")
            lat.append(dt * 1000)
            n += 1
        t.join()
        lat.sort()
        return {"gets": n, "p50": lat[len(lat) // 2], "p99": lat[max(0, int(len(lat) * 0.99) - 1)],
                "max": lat[-1], "qmp_conns": len(conns)}
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(d, ignore_errors=True)


def main():
    if not AGENT:
        print("vcma-agent --sim not built: nothing to measure")
        return 0
    res = {}
    for hung in (False, True):
        res[hung] = r = run(hung)
        print(f"{'with a hung QMP monitor' if hung else 'no QMP monitor         '}: "
              f"{r['gets']} GETs of the other VM in {SECONDS:.0f} s, p50 {r['p50']:.1f} ms, "
              f"p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms"
              + (f" ({r['qmp_conns']} QMP connections, none answered)" if hung else ""))
    ok = res[True]["p99"] < 100
    print(f"goal p99 < 100 ms with the hung monitor: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
