"""Shared by the benchmarks: a release `homegate serve` on SQLite in a
temporary folder, logged in as the provider admin, cleaned up afterwards
(also on failure)."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# HOMEGATE_BENCH_BINARY measures another build (e.g. before a change)
# instead of building the working tree.
BINARY = os.environ.get("HOMEGATE_BENCH_BINARY") or os.path.join(ROOT, "target", "release", "homegate")


def build():
    if not os.environ.get("HOMEGATE_BENCH_BINARY"):
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "homegate"], cwd=ROOT, check=True)
    return BINARY


def stop(process):
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


class Server:
    """`homegate serve` on a data folder; `netns` runs it (and the CLI) inside
    a network namespace. Can be stopped and started again on the same data."""

    def __init__(self, work, listen, serve_args=(), netns=None):
        self.work = work
        self.listen = listen
        self.serve_args = list(serve_args)
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self.env = dict(os.environ, HOMEGATE_CLI_CONFIG=os.path.join(work, "cli.toml"), RUST_LOG="warn")
        for name in ["HOMEGATE_SERVER", "HOMEGATE_TOKEN", "HOMEGATE_DATABASE", "HOMEGATE_LISTEN", "HOMEGATE_DATA_DIR"]:
            self.env.pop(name, None)
        self.process = None
        self.url = None

    def start(self, listen=None):
        """Starts serving; returns the one-time admin password on the first start."""
        first = not os.path.exists(os.path.join(self.work, "data"))
        listen = listen or self.listen
        self.log = os.path.join(self.work, f"serve-{listen.replace(':', '-')}.log")
        self.process = subprocess.Popen(
            [*self.prefix, BINARY, "serve", "--listen", listen,
             "--data-dir", os.path.join(self.work, "data"), *self.serve_args],
            stdout=subprocess.PIPE, stderr=open(self.log, "a"), text=True, env=self.env,
        )
        password = None
        while True:
            line = self.process.stdout.readline()
            if not line:
                sys.exit("the server stopped")
            if line.startswith("homegate control plane listening on "):
                self.url = "http://" + line.split()[-1]
            if line.strip().startswith("password: "):
                password = line.split(":", 1)[1].strip()
            if password or (not first and line.startswith("  Data:")):
                return password

    def stop(self):
        stop(self.process)
        self.process = None

    def log_in_as_admin(self, password):
        """Logs the CLI in with the first start's one-time password and
        replaces it, as an operator does."""
        self.cli("login", self.url, "--username", "admin", "--password-stdin", stdin=password + "\n")
        self.cli("password", "--stdin", stdin=f"{password}\nbenchmark admin password\n")

    def cli(self, *args, stdin=None):
        done = subprocess.run([*self.prefix, BINARY, *args], input=stdin, capture_output=True, text=True, env=self.env)
        if done.returncode != 0:
            sys.exit(f"homegate {' '.join(args)} failed: {done.stderr}")
        return done


@contextlib.contextmanager
def homegate_server(prefix, listen="127.0.0.1:0", serve_args=()):
    """Yields (work folder, control-plane URL, cli) where cli(*args,
    stdin=None) runs the homegate CLI against that server."""
    build()
    work = tempfile.mkdtemp(prefix=prefix)
    server = Server(work, listen, serve_args)
    try:
        server.log_in_as_admin(server.start())
        yield work, server.url, server.cli
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
