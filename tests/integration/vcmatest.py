# SPDX-License-Identifier: GPL-2.0-only
"""The scaffolding of vcmad's integration tests (daemon/test_vcmad.py,
balloon/test_balloon.py): TAP output, an Env that runs the real vcmad with
simulated guests in a temporary directory and talks to it, and the main()
that runs one named scenario. The programs come from the environment the
meson tests set (VCMAD, VCMACTL, FAKEGUEST, VCMA_AGENT)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "daemon"))
from vcmad_http import UnixHTTP  # noqa: E402

VCMAD = os.environ.get("VCMAD")
VCMACTL = os.environ.get("VCMACTL")
FAKEGUEST = os.environ.get("FAKEGUEST")
AGENT = os.environ.get("VCMA_AGENT")
M = 1 << 20


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=None):
        self.n += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {what}", flush=True)
        if not cond:
            self.failed += 1
            if detail is not None:
                for line in str(detail).splitlines()[-30:]:
                    print(f"# {line}")
        return cond

    def skip(self, what):
        self.n += 1
        print(f"ok {self.n} - {what} # SKIP", flush=True)

    def diag(self, msg):
        print(f"# {msg}", flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed or self.n == 0 else 0


class Env:
    def __init__(self, tap):
        self.tap = tap
        self.dir = tempfile.mkdtemp(prefix="vcmad-it-")
        self.sock = os.path.join(self.dir, "api.sock")
        self.state = os.path.join(self.dir, "state")
        self.logpath = os.path.join(self.dir, "vcmad.log")
        self.guest_procs = []
        self.vcmad_proc = None
        self.vcmad_args = None
        self.vcmad_env = None

    # -- processes ------------------------------------------------------
    def guests(self, names, evil=None, delay_ms=0, foreign=0, mem_mb=1024, no_status=False,
               claimed=None, release_delay_ms=0, addr_limit=False, stats=False):
        paths = {n: os.path.join(self.dir, n + ".sock") for n in names}
        args = [FAKEGUEST, "--mem", str(mem_mb)]
        for p in paths.values():
            args += ["--listen", p]
        if evil:
            args += ["--evil", evil]
        if delay_ms:
            args += ["--delay-ms", str(delay_ms)]
        if foreign:
            args += ["--foreign", str(foreign)]
        if no_status:
            args += ["--no-status"]
        if claimed:
            args += ["--claimed", claimed]
        if release_delay_ms:
            args += ["--release-delay-ms", str(release_delay_ms)]
        if addr_limit:
            args += ["--addr-limit"]
        if stats:
            args += ["--stats"]
        log = open(os.path.join(self.dir, "fakeguest.log"), "a")
        p = subprocess.Popen(args, stdout=log, stderr=log)
        self.guest_procs.append(p)
        self.wait(lambda: all(os.path.exists(x) for x in paths.values()), 10)
        return p, paths

    def agent(self, name, mem="4G"):
        path = os.path.join(self.dir, name + ".sock")
        log = open(os.path.join(self.dir, "agent-" + name + ".log"), "a")
        p = subprocess.Popen([AGENT, "--sim", "--sim-mem", mem, "--listen", path],
                             stdout=log, stderr=log)
        self.guest_procs.append(p)
        self.wait(lambda: os.path.exists(path), 15)
        return p, {name: path}

    def start(self, vms, extra=(), env=None, prefix=()):
        """vcmad serving vms ({name: channel}); env: more environment variables,
        prefix: a command vcmad runs under (setpriv ...)."""
        args = list(prefix) + [VCMAD, "--api-socket", self.sock, "--state-dir", self.state,
                               "--no-fsync", "--log-level", "debug"]
        for name, path in vms.items():
            args += ["--vm", f"{name}={path}"]
        args += list(extra)
        self.vcmad_args = args
        self.vcmad_env = dict(os.environ, **(env or {}))
        self.vcmad_log = open(self.logpath, "a")
        self.vcmad_proc = subprocess.Popen(args, stdout=self.vcmad_log, stderr=self.vcmad_log,
                                           env=self.vcmad_env)
        ok = self.wait(self.api_up, 10)
        if not ok:
            self.tap.diag("vcmad did not come up:\n" + self.log())
        return ok

    def restart(self):
        self.stop()
        self.vcmad_log = open(self.logpath, "a")
        self.vcmad_proc = subprocess.Popen(self.vcmad_args, stdout=self.vcmad_log,
                                           stderr=self.vcmad_log, env=self.vcmad_env)
        return self.wait(self.api_up, 10)

    def stop(self, sig=signal.SIGTERM):
        """Stop vcmad; returns its exit status (sanitizer findings make it non-zero)."""
        p, self.vcmad_proc = self.vcmad_proc, None
        if not p:
            return None
        p.send_signal(sig)
        try:
            return p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    def cleanup(self):
        rc = self.stop()
        for p in self.guest_procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    # -- talking to vcmad -------------------------------------------------
    def api_up(self):
        try:
            return self.api("GET", "/v1/vms")[0] == 200
        except OSError:
            return False

    def api(self, method, path, body=None, raw=None):
        c = UnixHTTP(self.sock, timeout=30)   # a DELETE may wait 10 s for the guest
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        try:
            doc = json.loads(text)
        except ValueError:
            doc = text
        return r.status, doc

    def ctl(self, *args, env_socket=True, timeout=60):
        env = dict(os.environ)
        if env_socket:
            env["VCMA_SOCKET"] = self.sock
        p = subprocess.run([VCMACTL] + list(args), capture_output=True, text=True, env=env,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def vm(self, name):
        code, doc = self.api("GET", "/v1/vms/" + name)
        return doc if code == 200 else None

    def ready(self, *names):
        def check():
            for n in names:
                v = self.vm(n)
                if not v or v["state"] != "ready":
                    return False
            return True
        return self.wait(check, 20)

    def rsvs(self, name):
        return self.vm(name)["reservations"]

    def settled(self, name, n):
        """n reservations, none pending or releasing."""
        def check():
            r = self.rsvs(name)
            return len(r) == n and all(x["state"] in ("granted", "failed") for x in r)
        return self.wait(check, 20)

    def metric(self, name, **labels):
        code, text = self.api("GET", "/metrics")
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in text.splitlines():
            if line.startswith(name + ("{" + want + "}" if want else " ")):
                return float(line.rsplit(" ", 1)[1])
        return None

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    @staticmethod
    def wait(pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return True
            time.sleep(0.05)
        return pred()


def prometheus_problems(text):
    """Lines of a text exposition that break the format (0.0.4)."""
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
                        r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (-?[0-9.e+]+|\+Inf|NaN)$')
    typed, bad = set(), []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            if kind not in ("gauge", "counter", "histogram"):
                bad.append(line)
            typed.add(name)
        elif line.startswith("# HELP "):
            continue
        else:
            m = sample.match(line)
            base = m and re.sub(r"_(bucket|sum|count)$", "", m.group(1))
            if not m or (m.group(1) not in typed and base not in typed):
                bad.append(line)
    return bad


def main(scenarios, vcmad_exit_is_checked=False):
    """Run the scenario named by argv[1] with a fresh Env; the exit status for
    sys.exit. With vcmad_exit_is_checked, vcmad's exit status at cleanup is one
    more test (for scenarios that leave vcmad running)."""
    if len(sys.argv) != 2 or sys.argv[1] not in scenarios:
        print(f"usage: {os.path.basename(sys.argv[0])} " + "|".join(scenarios), file=sys.stderr)
        return 2
    tap = Tap()
    env = Env(tap)
    try:
        scenarios[sys.argv[1]](env, tap)
    except Exception as e:  # a crash of the test is a failure, with the daemon's log
        tap.ok(False, f"scenario raised {type(e).__name__}: {e}", env.log()[-3000:]
               if os.path.exists(env.logpath) else "")
    finally:
        rc = env.cleanup()
        if vcmad_exit_is_checked:
            tap.ok(rc == 0, "vcmad exited cleanly", rc)
    return tap.done()
