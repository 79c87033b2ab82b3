#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""vcmad under load: N scripted guests (fakeguest, one process) against one
vcmad. Reports REST request rate, per-request overhead p50/p99 (client side,
against a trivial GET as the in-run baseline), reservation round trips as
vcmad measures them, and vcmad's RSS idle and after the load."""
import json
import os
import shutil
import signal
import statistics
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
NVMS = int(os.environ.get("BENCH_VMS", "256"))
PER_VM = int(os.environ.get("BENCH_PER_VM", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))


def call(sock, method, path, body=None):
    c = UnixHTTP(sock)
    t0 = time.perf_counter()
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"} if body is not None else {})
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t0
    c.close()
    return r.status, data, dt


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def parallel(jobs, fn):
    """Run fn over jobs with THREADS threads; returns latencies and failures."""
    lat, bad = [], []
    lock = threading.Lock()
    it = iter(jobs)

    def worker():
        while True:
            with lock:
                job = next(it, None)
            if job is None:
                return
            code, data, dt = fn(job)
            with lock:
                lat.append(dt)
                if code >= 300:
                    bad.append((job, code, data[:200]))

    ts = [threading.Thread(target=worker) for _ in range(THREADS)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return lat, bad, time.perf_counter() - t0


def wait_all(sock, pred, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        code, data, _ = call(sock, "GET", "/v1/vms")
        vms = json.loads(data)["vms"]
        if pred(vms):
            return vms
        time.sleep(0.05)
    raise SystemExit("timed out waiting for vcmad")


def metrics(sock):
    _, data, _ = call(sock, "GET", "/metrics")
    out = {}
    for line in data.decode().splitlines():
        if line.startswith("#"):
            continue
        k, v = line.rsplit(" ", 1)
        out[k] = float(v)
    return out


def main():
    d = tempfile.mkdtemp(prefix="vcmad-bench-")
    sock = os.path.join(d, "api.sock")
    guests = subprocess.Popen([FAKEGUEST, "--dir", d, "--count", str(NVMS), "--mem", "1024"],
                              stdout=subprocess.DEVNULL)
    conf = os.path.join(d, "vcmad.conf")
    with open(conf, "w") as f:
        f.write(f"[daemon]\napi_socket = {sock}\nstate_dir = {d}/state\nfsync = false\n"
                "log_level = warn\n")
        for i in range(NVMS):
            f.write(f"[vm.vm{i}]\nchannel = {d}/vm{i}.sock\n")
    while not all(os.path.exists(f"{d}/vm{i}.sock") for i in range(NVMS)):
        time.sleep(0.05)
    vcmad = subprocess.Popen([VCMAD, "--config", conf], stderr=open(f"{d}/vcmad.log", "w"))
    rows = []
    try:
        t0 = time.perf_counter()
        while True:
            try:
                vms = wait_all(sock, lambda v: all(x["state"] == "ready" for x in v), 60)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.05)
        up = time.perf_counter() - t0
        rss_idle = rss_kib(vcmad.pid)

        base, bad, _ = parallel([f"vm{i % NVMS}" for i in range(NVMS * PER_VM)],
                                lambda vm: call(sock, "GET", f"/v1/vms/{vm}"))
        jobs = [f"vm{i % NVMS}" for i in range(NVMS * PER_VM)]
        t0 = time.perf_counter()
        post, bad1, post_wall = parallel(
            jobs, lambda vm: call(sock, "POST", f"/v1/vms/{vm}/reservations",
                                  {"size": "2M", "label": "bench"}))
        wait_all(sock, lambda v: sum(x["granted"] for x in v) == NVMS * PER_VM)
        grant_wall = time.perf_counter() - t0
        m = metrics(sock)
        rtt_sum = sum(v for k, v in m.items() if k.startswith("vcmad_vm_reserve_duration_seconds_sum"))
        rtt_n = sum(v for k, v in m.items() if k.startswith("vcmad_vm_reserve_duration_seconds_count"))

        ids = []
        for i in range(NVMS):
            _, data, _ = call(sock, "GET", f"/v1/vms/vm{i}/reservations")
            ids += [(f"vm{i}", r["id"]) for r in json.loads(data)["reservations"]]
        t0 = time.perf_counter()
        dele, bad2, del_wall = parallel(
            ids, lambda j: call(sock, "DELETE", f"/v1/vms/{j[0]}/reservations/{j[1]}"))
        wait_all(sock, lambda v: sum(x["granted"] + x["pending"] for x in v) == 0)
        release_wall = time.perf_counter() - t0
        rss_after = rss_kib(vcmad.pid)
        failures = len(bad) + len(bad1) + len(bad2)
        n = NVMS * PER_VM
        rows = [
            ("guests connected (ready)", f"{NVMS}", f"in {up:.2f} s"),
            ("vcmad RSS idle", f"{rss_idle / 1024:.1f} MiB", f"{rss_idle / NVMS:.1f} KiB per VM"),
            ("vcmad RSS after load", f"{rss_after / 1024:.1f} MiB", ""),
            ("GET /v1/vms/{vm} p50 / p99 (baseline)",
             f"{pct(base, 50) * 1e3:.2f} / {pct(base, 99) * 1e3:.2f} ms", "1.00x"),
            ("POST reservation p50 / p99",
             f"{pct(post, 50) * 1e3:.2f} / {pct(post, 99) * 1e3:.2f} ms",
             f"{pct(post, 50) / pct(base, 50):.2f}x baseline p50"),
            ("DELETE reservation p50 / p99",
             f"{pct(dele, 50) * 1e3:.2f} / {pct(dele, 99) * 1e3:.2f} ms",
             f"{pct(dele, 50) / pct(base, 50):.2f}x baseline p50"),
            ("POST rate", f"{n / post_wall:.0f} req/s", f"{THREADS} client threads"),
            ("reservations granted end to end", f"{n / grant_wall:.0f} /s",
             f"{n} over {NVMS} VMs"),
            ("RESERVE round trip (vcmad's clock), mean",
             f"{rtt_sum / max(rtt_n, 1) * 1e3:.2f} ms", f"{int(rtt_n)} requests"),
            ("releases end to end", f"{n / release_wall:.0f} /s", ""),
            ("failed HTTP requests", f"{failures}", ""),
        ]
        w = max(len(r[0]) for r in rows)
        print(f"vcmad benchmark: {NVMS} scripted guests, {PER_VM} x 2M reservations each")
        print(f"{'measure':<{w}}  {'value':>22}  note")
        print("-" * (w + 40))
        for r in rows:
            print(f"{r[0]:<{w}}  {r[1]:>22}  {r[2]}")
        if failures:
            print("failures:", (bad + bad1 + bad2)[:5])
            return 1
        return 0
    finally:
        vcmad.send_signal(signal.SIGTERM)
        try:
            vcmad.wait(20)
        except subprocess.TimeoutExpired:
            vcmad.kill()
        guests.terminate()
        guests.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
