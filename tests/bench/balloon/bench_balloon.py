#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Balloon benchmark (suite bench): vcma's balloon vs virtio-balloon on the
same VM config in one run, once with anonymous RAM (THP, QEMU's default
-m memory), once with a shared memfd backend and once with the memfd and
the guest kernel's zeroing of allocated pages off (memfd-init0).

Per method and backing: inflate and deflate of BALLOON_MIB in MiB/s (from
the request until the guest reports the target; vcma: vcmad's elapsed_ms,
virtio-balloon: QMP `balloon` then polling `query-balloon`), and host memory
freed per MiB ballooned, measured from the host: QEMU's RssAnon (anonymous
RAM) or the memfd's allocated blocks (memfd), and QEMU's AnonHugePages (THP
split by 4 KiB balloon pages). Before each method the guest's memory is
fully backed on the host (the guest touched it at boot; for the memfd the
host also allocates every hole, as prealloc=on would), so both start equal.
Each boot runs ROUNDS rounds, the methods alternating which goes first, and
the speeds are the rounds' medians (the machine is shared and noisy); host
memory freed is the first round's.

Usage: bench_balloon.py VM_RUN IMAGE AGENT BALLOON_GUEST VCMAD VCMACTL
(IMAGE: the base image plus virtio_balloon, built by meson.build here)
Environment: VCMA_BENCH_BACKINGS="memfd" runs only the backings named
(default "anon-thp memfd memfd-init0")."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# memfd-init0: the memfd guest booted with init_on_alloc=0, where Debian's
# kernel (CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y) otherwise clears every page it
# allocates, balloon pages included: what the zeroing costs each balloon.
BACKINGS = ("anon-thp", "memfd", "memfd-init0")
ROUNDS = 3             # per boot, the methods alternating which goes first
GUEST_MIB = 1536
BALLOON_MIB = 512
M = 1 << 20


def log(msg):
    print(msg, flush=True)


class Qmp:
    """One command per connection: vcmad opens the same socket for its own queries."""

    def __init__(self, path):
        self.path = path

    def cmd(self, name, args=None):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.path)
        f = s.makefile("rwb")
        f.readline()
        for c in ({"execute": "qmp_capabilities"}, {"execute": name, "arguments": args or {}}):
            f.write(json.dumps(c).encode() + b"\n")
            f.flush()
            while True:
                r = json.loads(f.readline())
                if "return" in r or "error" in r:
                    break
        s.close()
        if "error" in r:
            raise RuntimeError(f"QMP {name}: {r['error'].get('desc')}")
        return r["return"]


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def anon_huge(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1]) * 1024
    return 0


def memfd_path(pid, size):
    for fd in os.listdir(f"/proc/{pid}/fd"):
        p = f"/proc/{pid}/fd/{fd}"
        try:
            if os.readlink(p).startswith("/memfd:") and os.stat(p).st_size == size:
                return p
        except OSError:
            pass
    return None


class Vm:
    def __init__(self, a, work, backing):
        self.work, self.backing = work, backing
        self.memfd = backing.startswith("memfd")
        self.qmp_path = os.path.join(work, "qmp.sock")
        self.chan = os.path.join(work, "vm.sock")
        self.console = os.path.join(work, "console.log")
        args = [a.vm_run, "--image", a.image, "--mem", str(GUEST_MIB), "--timeout", "1700",
                "--log", self.console, "--pidfile", os.path.join(work, "qemu.pid"),
                "--append", "movablecore=768M" +
                (" init_on_alloc=0" if backing == "memfd-init0" else ""),
                "--add", f"{a.agent}:/bin/vcma-agent", "--add", f"{a.bguest}:/bin/balloon-guest"]
        if self.memfd:
            args.append("--memfd")
        for q in ["-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                  "-device", "virtio-balloon-pci,id=balloon0",
                  "-device", "virtio-serial-pci",
                  "-chardev", f"socket,path={self.chan},server=on,wait=off,id=c0",
                  "-device", "virtserialport,chardev=c0,name=org.vcma.0"]:
            args += ["--qemu", q]
        args += ["--script", os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest.sh")]
        self.p = subprocess.Popen(args, stdout=open(os.path.join(work, "vmrun.out"), "w"),
                                  stderr=open(os.path.join(work, "vmrun.err"), "w"))
        self.vcmad = None
        self.a = a

    def guest_line(self, tag):
        try:
            with open(self.console, "rb") as f:
                for line in f.read().decode(errors="replace").splitlines():
                    if line.startswith("| " + tag) or line.startswith("| GUEST-FAIL"):
                        return line
        except OSError:
            pass
        return None

    def wait_ready(self, timeout=900):
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.p.poll() is None:
            line = self.guest_line("GUEST-READY")
            if line:
                if "FAIL" in line:
                    raise RuntimeError(line)
                return
            time.sleep(1)
        raise RuntimeError("guest never got ready")

    @property
    def pid(self):
        with open(os.path.join(self.work, "qemu.pid")) as f:
            return int(f.read())

    def start_vcmad(self):
        self.api = os.path.join(self.work, "api.sock")
        self.vcmad = subprocess.Popen(
            [self.a.vcmad, "--api-socket", self.api, "--state-dir",
             os.path.join(self.work, "state"), "--no-fsync",
             "--vm", f"vm={self.chan},qmp={self.qmp_path}"],
            stderr=open(os.path.join(self.work, "vcmad.log"), "w"))
        end = time.monotonic() + 300
        while time.monotonic() < end:
            r = self.ctl("--json", "vms", check=False)
            if r and r["vms"] and r["vms"][0]["connected"]:
                return
            time.sleep(1)
        raise RuntimeError("vcma-agent never connected")

    def ctl(self, *args, check=True):
        env = dict(os.environ, VCMA_SOCKET=self.api)
        p = subprocess.run([self.a.vcmactl] + list(args), capture_output=True, text=True,
                           env=env, timeout=1200)
        if check and p.returncode:
            raise RuntimeError(f"vcmactl {' '.join(args)}: {p.stderr.strip()}")
        try:
            return json.loads(p.stdout)
        except ValueError:
            return None

    def host_mem(self):
        """Bytes of guest RAM the host holds, by the measure that fits the backing."""
        if self.memfd:
            return os.stat(memfd_path(self.pid, GUEST_MIB * M)).st_blocks * 512
        return proc_status(self.pid, "RssAnon")

    def fill(self):
        """Back every page of the memfd (prealloc=on); anonymous RAM was touched by the guest."""
        if not self.memfd:
            return
        fd = os.open(memfd_path(self.pid, GUEST_MIB * M), os.O_RDWR)
        os.posix_fallocate(fd, 0, GUEST_MIB * M)
        os.close(fd)

    def stop(self):
        for p in (self.vcmad, self.p):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()


def run_vcma(vm):
    vm.fill()
    before, huge0 = vm.host_mem(), anon_huge(vm.pid)
    b = vm.ctl("--json", "balloon", "vm", "--target", f"{BALLOON_MIB}M", "--wait",
               "--wait-timeout", "1200")
    if b["actual_bytes"] != BALLOON_MIB * M:
        raise RuntimeError(f"vcma inflate stopped at {b['actual_bytes'] >> 20} MiB: {b['detail']}")
    t_in = b["elapsed_ms"] / 1000
    after, huge1 = vm.host_mem(), anon_huge(vm.pid)
    b2 = vm.ctl("--json", "balloon", "vm", "--target", "0", "--wait", "--wait-timeout", "1200")
    t_out = b2["elapsed_ms"] / 1000
    return {"in_s": t_in, "out_s": t_out, "freed": before - after, "huge_lost": huge0 - huge1,
            "reclaim": b["host"]["reclaim_possible"], "why": b["host"]["reason"]}


def run_virtio(vm):
    q = Qmp(vm.qmp_path)
    vm.fill()
    full = q.cmd("query-balloon")["actual"]
    target = full - BALLOON_MIB * M

    def move(to):
        t0 = time.monotonic()
        q.cmd("balloon", {"value": to})
        while q.cmd("query-balloon")["actual"] != to:
            if time.monotonic() - t0 > 1200:
                raise RuntimeError("virtio-balloon did not reach its target")
            time.sleep(0.05)
        return time.monotonic() - t0

    before, huge0 = vm.host_mem(), anon_huge(vm.pid)
    t_in = move(target)
    time.sleep(0.5)	# QEMU discards the pages the guest reported as it gets them
    after, huge1 = vm.host_mem(), anon_huge(vm.pid)
    t_out = move(full)
    return {"in_s": t_in, "out_s": t_out, "freed": before - after, "huge_lost": huge0 - huge1,
            "reclaim": True, "why": ""}


def main():
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    a = type("A", (), {})()
    a.vm_run, a.image, a.agent, a.bguest, a.vcmad, a.vcmactl = sys.argv[1:]
    backings = os.environ.get("VCMA_BENCH_BACKINGS", " ".join(BACKINGS)).split()
    bad = [b for b in backings if b not in BACKINGS]
    if bad or not backings:
        print(f"VCMA_BENCH_BACKINGS: unknown backing {' '.join(bad)!r} (known: "
              f"{' '.join(BACKINGS)})", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="vcma-bench-balloon.")
    rounds = {}
    load0 = os.getloadavg()[0]
    try:
        for backing in backings:
            d = os.path.join(work, backing)
            os.makedirs(os.path.join(d, "state"))
            vm = Vm(a, d, backing)
            try:
                vm.wait_ready()
                vm.start_vcmad()
                for i in range(ROUNDS):
                    order = [("vcma", run_vcma), ("virtio", run_virtio)]
                    for method, run in order if i % 2 == 0 else order[::-1]:
                        rounds.setdefault((backing, method), []).append(run(vm))
            finally:
                vm.stop()
    except Exception as e:
        log(f"bench failed: {e}")
        for f in ("console.log", "vcmad.log", "vmrun.err"):
            for backing in backings:
                p = os.path.join(work, backing, f)
                if os.path.exists(p):
                    log(f"----- {backing}/{f}")
                    with open(p, "rb") as fh:
                        log(fh.read().decode(errors="replace")[-3000:])
        shutil.rmtree(work, ignore_errors=True)
        return 1
    shutil.rmtree(work, ignore_errors=True)

    # Speeds: the median of the rounds. Host memory: the first round's, the
    # only one where anonymous RAM starts fully backed for both methods.
    results = {}
    for key, rs in rounds.items():
        r = dict(rs[0])
        r["in_s"] = statistics.median(x["in_s"] for x in rs)
        r["out_s"] = statistics.median(x["out_s"] for x in rs)
        results[key] = r
    log(f"balloon benchmark: {GUEST_MIB} MiB guest, balloon {BALLOON_MIB} MiB, one boot per "
        f"backing, both methods in the same boot, {ROUNDS} rounds each, alternating; speeds "
        "are medians, host memory the first round's")
    log(f"host load average (1 min) {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the "
        f"end, on {os.cpu_count()} CPUs: TCG guests share them with everything else")
    log(f"{'backing':11} {'method':7} {'inflate MiB/s':>13} {'deflate MiB/s':>13} "
        f"{'host freed MiB':>14} {'freed/MiB':>9} {'THP lost MiB':>12}")
    for (backing, method), r in results.items():
        log(f"{backing:11} {method:7} {BALLOON_MIB / r['in_s']:13.1f} "
            f"{BALLOON_MIB / r['out_s']:13.1f} {r['freed'] / M:14.1f} "
            f"{r['freed'] / (BALLOON_MIB * M):9.3f} {r['huge_lost'] / M:12.1f}"
            + (f"   (no host reclaim: {r['why']})" if not r["reclaim"] else ""))
    log("ratios vcma / virtio-balloon:")
    def ratio(x, y):
        return f"{x / y:.2f}" if y else "n/a (virtio 0)"

    def spread(backing, key):
        rs = [q[key] / v[key] for v, q in zip(rounds[(backing, "vcma")],
                                               rounds[(backing, "virtio")]) if v[key]]
        return f"{min(rs):.2f}-{max(rs):.2f}" if rs else "n/a"
    for backing in backings:
        v, q = results[(backing, "vcma")], results[(backing, "virtio")]
        log(f"  {backing:11} inflate speed {ratio(q['in_s'], v['in_s'])} (rounds "
            f"{spread(backing, 'in_s')}), deflate speed {ratio(q['out_s'], v['out_s'])} "
            f"(rounds {spread(backing, 'out_s')}), host memory freed "
            f"{ratio(v['freed'], q['freed'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
