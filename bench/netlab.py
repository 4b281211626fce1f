"""Network namespaces for the data-plane benchmarks: a client, a gateway and
an application host joined by veth pairs (addresses in 198.18.0.0/15), the
processes started in them, and the cleanup of all of it — also when the
benchmark fails or is interrupted.

    client c (198.18.1.2) ── (198.18.1.1) gateway g (198.18.2.1) ── (198.18.2.10) app a

The control plane runs inside g on its loopback, so no traffic leaves the
namespaces.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time

CLIENT_ADDRESS = "198.18.1.2"
GATEWAY_ADDRESS = "198.18.1.1"
APP_ADDRESS = "198.18.2.10"
APP_NETWORK = "198.18.2.0/24"
WG_PORT = 51820
MTU = "1420"
WG_SOCKETS = "/var/run/wireguard"


def require(tools):
    if os.geteuid() != 0:
        sys.exit("this benchmark needs root (network namespaces, TUN)")
    missing = [t for t in tools if subprocess.run(["sh", "-c", f"command -v {t}"], capture_output=True).returncode]
    if missing:
        sys.exit(f"missing tools: {', '.join(missing)} (apt-get install iperf3 wireguard-go wireguard-tools iproute2)")


def genkey():
    """A WireGuard key pair (private, public) made with `wg`."""
    private = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()
    public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True, check=True).stdout.strip()
    base64.b64decode(public, validate=True)
    return private, public


class Lab:
    def __init__(self, work):
        self.id = f"hgb{os.getpid() % 0xFFFF:x}"
        self.work = work
        self.namespaces = []
        self.processes = []
        # Turn SIGTERM into an exception so `finally` blocks clean up.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))

    def ns(self, role):
        return f"{self.id}-{role}"

    def add(self, role):
        subprocess.run(["ip", "netns", "add", self.ns(role)], check=True)
        self.namespaces.append(self.ns(role))
        self.run(role, "ip", "link", "set", "lo", "up")

    def run(self, role, *args, check=True, input=None):
        done = subprocess.run(["ip", "netns", "exec", self.ns(role), *args], capture_output=True, text=True, input=input)
        if check and done.returncode != 0:
            raise RuntimeError(f"[{role}] {' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def spawn(self, role, *args, log=None, env=None):
        out = open(log, "w") if log else subprocess.DEVNULL
        process = subprocess.Popen(["ip", "netns", "exec", self.ns(role), *args], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
        self.processes.append(process)
        return process

    def stop(self, process, timeout=10):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.processes:
            self.processes.remove(process)

    def veth(self, a, a_if, b, b_if):
        self.run(a, "ip", "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", self.ns(b))
        self.run(a, "ip", "link", "set", a_if, "up")
        self.run(b, "ip", "link", "set", b_if, "up")

    def build(self):
        """Client, gateway and application host."""
        for role in ["c", "g", "a"]:
            self.add(role)
        self.veth("c", "eth0", "g", "eth0")
        self.veth("g", "app0", "a", "eth0")
        self.run("c", "ip", "addr", "add", f"{CLIENT_ADDRESS}/24", "dev", "eth0")
        self.run("g", "ip", "addr", "add", f"{GATEWAY_ADDRESS}/24", "dev", "eth0")
        self.run("g", "ip", "addr", "add", "198.18.2.1/24", "dev", "app0")
        self.run("a", "ip", "addr", "add", f"{APP_ADDRESS}/24", "dev", "eth0")
        self.run("a", "ip", "route", "add", "default", "via", "198.18.2.1")
        self.run("g", "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def wireguard_go(self, role, name):
        """Starts Debian's wireguard-go in `role`; returns (process, interface)."""
        interface = f"{self.id}{name}"
        assert len(interface) <= 15, interface
        env = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
        process = self.spawn(role, "wireguard-go", "-f", interface, env=env,
                             log=os.path.join(self.work, f"wireguard-go-{name}.log"))
        socket = os.path.join(WG_SOCKETS, f"{interface}.sock")
        wait_for(lambda: os.path.exists(socket), 10, f"wireguard-go {interface} did not start")
        return process, interface

    def write_key(self, name, private):
        path = os.path.join(self.work, f"{name}.key")
        with open(path, "w") as f:
            f.write(private + "\n")
        os.chmod(path, 0o600)
        return path

    def close(self):
        for process in list(self.processes):
            self.stop(process, timeout=5)
        for name in self.namespaces:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        if os.path.isdir(WG_SOCKETS):
            for entry in os.listdir(WG_SOCKETS):
                if entry.startswith(self.id):
                    os.remove(os.path.join(WG_SOCKETS, entry))


def wait_for(condition, seconds, message):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.05)


POOL = "10.20.0.0/16"
CONTROL_PLANE = "127.0.0.1:8080"


class Deployment:
    """homegate set up in the lab: the control plane in the gateway's
    namespace (`server`, a harness.Server), one tenant whose employee's
    device (the client, keys made here) may reach the application network
    (behind `other_applications` other rules, so the filter has something
    to look at), and one gateway registered with a key pair made here."""

    def __init__(self, lab, server, other_applications=0):
        self.lab = lab
        self.server = server
        server.log_in_as_admin(server.start())
        cli = server.cli
        cli("regions", "create", "bench")
        cli("tenants", "create", "--slug", "bench", "--name", "Benchmark", "--pool", POOL, "--region", "bench")
        cli("users", "create", "--tenant", "bench", "--username", "employee", "--role", "employee",
            "--password-stdin", stdin="employee password 1\n")
        cli("groups", "create", "--tenant", "bench", "staff")
        cli("groups", "add-member", "--tenant", "bench", "staff", "employee")
        applications = [(f"other{n}", f"198.19.{n}.0/24", ["--protocol", "tcp", "--ports", "443"])
                        for n in range(other_applications)]
        applications.append(("lab", APP_NETWORK, ["--protocol", "any"]))
        for name, cidr, rule in applications:
            cli("applications", "create", "--tenant", "bench", name, "--cidr", cidr, *rule)
            cli("access-rules", "create", "--tenant", "bench", "--group", "staff", "--application", name)
        self.client_private, self.client_public = genkey()
        device = json.loads(cli("devices", "create", "--tenant", "bench", "bench client", "--owner", "employee",
                                "--public-key", self.client_public, "-o", "json").stdout)
        self.client_address = device["tunnel_address"]
        created = json.loads(cli("gateways", "add", "gw1", "--region", "bench", "--endpoint",
                                 f"{GATEWAY_ADDRESS}:{WG_PORT}", "-o", "json").stdout)
        self.gateway_token = created["token"]
        # The same key for every gateway started here (also wireguard-go),
        # so the client needs no change.
        self.gateway_private, self.gateway_public = genkey()
        self.gateway_state = os.path.join(lab.work, "gateway-state")
        os.makedirs(self.gateway_state, mode=0o700)
        self.gateway_key_file = os.path.join(self.gateway_state, "private.key")
        with open(self.gateway_key_file, "w") as f:
            f.write(self.gateway_private)
        os.chmod(self.gateway_key_file, 0o600)

    def gateway_args(self, binary, *extra):
        return [binary, "gateway", "--control-plane", f"http://{CONTROL_PLANE}", "--token", self.gateway_token,
                "--listen-port", str(WG_PORT), "--interface", f"{self.lab.id}g", "--state-dir", self.gateway_state,
                *extra]

    def start_client(self):
        """The client: Debian's wireguard-go; returns once it reaches the
        application through the gateway."""
        lab = self.lab
        process, interface = lab.wireguard_go("c", "c")
        key = lab.write_key("client", self.client_private)
        lab.run("c", "wg", "set", interface, "private-key", key, "peer", self.gateway_public,
                "endpoint", f"{GATEWAY_ADDRESS}:{WG_PORT}", "allowed-ips", APP_NETWORK)
        lab.run("c", "ip", "addr", "add", f"{self.client_address}/32", "dev", interface)
        lab.run("c", "ip", "link", "set", interface, "mtu", MTU, "up")
        lab.run("c", "ip", "route", "replace", APP_NETWORK, "dev", interface)
        wait_for(lambda: lab.run("c", "ping", "-c", "1", "-W", "1", APP_ADDRESS, check=False).returncode == 0,
                 30, "the client cannot reach the application through the gateway")
        return process


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _status_mib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_memory_mib(pid):
    """Peak resident memory (VmHWM) of a process."""
    return _status_mib(pid, "VmHWM:")


def resident_mib(pid):
    return _status_mib(pid, "VmRSS:")
