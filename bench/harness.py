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


def stop(process):
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def homegate_server(prefix, listen="127.0.0.1:0", serve_args=()):
    """Yields (work folder, control-plane URL, cli) where cli(*args,
    stdin=None) runs the homegate CLI against that server."""
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "homegate"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "homegate")
    work = tempfile.mkdtemp(prefix=prefix)
    env = dict(os.environ, HOMEGATE_CLI_CONFIG=os.path.join(work, "cli.toml"), RUST_LOG="warn")
    for name in ["HOMEGATE_SERVER", "HOMEGATE_TOKEN", "HOMEGATE_DATABASE", "HOMEGATE_LISTEN", "HOMEGATE_DATA_DIR"]:
        env.pop(name, None)
    server = subprocess.Popen(
        [binary, "serve", "--listen", listen, "--data-dir", os.path.join(work, "data"), *serve_args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        url = password = None
        while password is None:
            line = server.stdout.readline()
            if not line:
                sys.exit("the server stopped")
            if line.startswith("homegate control plane listening on "):
                url = "http://" + line.split()[-1]
            if line.strip().startswith("password: "):
                password = line.split(":", 1)[1].strip()

        def cli(*args, stdin=None):
            done = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                sys.exit(f"homegate {' '.join(args)} failed: {done.stderr}")
            return done

        cli("login", url, "--username", "admin", "--password-stdin", stdin=password + "\n")
        cli("password", "--stdin", stdin=f"{password}\nbenchmark admin password\n")
        yield work, url, cli
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)
