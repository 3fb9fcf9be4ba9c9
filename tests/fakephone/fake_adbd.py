#!/usr/bin/env python3
"""fake_adbd.py - a minimal *device side* of the ADB protocol, for tests.

It listens on TCP (loopback) so that the real `adb` client/server can do
`adb connect 127.0.0.1:PORT` and then `adb -s 127.0.0.1:PORT shell/push/pull`.

Implemented (enough for a TFLite-benchmark tool):
  * transport: CNXN (no AUTH, like ro.adb.secure=0), OPEN/OKAY/WRTE/CLSE,
    per-stream flow control (one WRTE in flight, wait for OKAY)
  * services:
      shell:<cmd>                 v1 (raw bytes, no exit status)
      shell,v2,...:<cmd>          shell protocol v2 (stdout/stderr/exit code)
      exec:<cmd>                  raw stdout (adb exec-out)
      sync:                       STAT/LIST/SEND/RECV/QUIT (v1 sync protocol)
  * a virtual device filesystem rooted at --root: device path /X is host path
    ROOT/X (so /data/local/tmp -> ROOT/data/local/tmp, /proc/cpuinfo ->
    ROOT/proc/cpuinfo fixture, /sys/... -> ROOT/sys/... fixtures)
  * shell commands run with /bin/sh on the host, cwd=ROOT, with device paths in
    the command line rewritten to ROOT paths (and ROOT stripped back out of
    the output); PATH starts with ROOT/system/bin where fixture commands
    (getprop, taskset, dumpsys ...) live.
  * process tools: `ps`, `kill` (also rewritten from the sh builtin), `pidof`, `pgrep`, `pkill`
    and a guarded `rm` act on the phone's processes/files only (phone_tools.py); the live files
    (thermal zones, battery, scaling_cur_freq, /proc/loadavg, /proc/stat) are refreshed before every
    command and sync read (phone_state.py); adbd's pid is in ROOT/.fakephone/adbd.pid.
  * "exec shims": when a command runs a pushed file whose basename is listed in
    --shim NAME=HOSTCMD (e.g. benchmark_model=python3 fake_benchmark_model.py)
    the host command is run instead (the Android aarch64 binary cannot run on
    the CI host).  FAKE_ADBD_SHIM_TARGET holds the device path.

Not implemented: AUTH/TLS, stat_v2/ls_v2/sendrecv_v2, compression, pty,
port forwarding, jdwp, reverse, install.  Not a security boundary.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shlex
import signal
import socket
import struct
import sys
import threading
from typing import Dict, Optional

import fake_adbd_services as services
from fake_adbd_services import log, pick_service, run_service, stop_daemon

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453
A_VERSION = 0x01000001          # skip-checksum version, like modern adbd
MAX_PAYLOAD = 256 * 1024

NAMES = {A_SYNC: "SYNC", A_CNXN: "CNXN", A_AUTH: "AUTH", A_OPEN: "OPEN",
         A_OKAY: "OKAY", A_CLSE: "CLSE", A_WRTE: "WRTE", A_STLS: "STLS"}

# Features we admit to.  Keep this small: the host only uses what both sides
# list, so e.g. leaving out stat_v2 makes the client fall back to STAT v1.
FEATURES = ["shell_v2", "cmd", "fixed_push_mkdir"]

DEVICE_PREFIXES = ("/data", "/sdcard", "/storage", "/proc", "/sys", "/system",
                   "/vendor", "/odm", "/product", "/mnt", "/dev/null_fake")



class Device:
    """Configuration of the simulated phone."""

    def __init__(self, root: str, props: Dict[str, str], shims: Dict[str, str], state: str = "device") -> None:
        self.state = state
        self.root = os.path.abspath(root)
        self.props = props
        self.shims = shims  # basename -> host command (string)
        os.makedirs(os.path.join(self.root, "data/local/tmp"), exist_ok=True)

    # --- paths -------------------------------------------------------------
    def host_path(self, dev_path: str) -> str:
        """Host path of a device path (refuses paths outside the root)."""
        if not dev_path.startswith("/"):
            dev_path = "/data/local/tmp/" + dev_path
        norm = os.path.normpath(dev_path)
        p = os.path.normpath(os.path.join(self.root, norm.lstrip("/")))
        if p != self.root and not p.startswith(self.root + os.sep):
            raise PermissionError(dev_path)
        return p

    def rewrite_cmd(self, cmd: str) -> str:
        """Rewrite absolute device paths in a shell command to ROOT paths."""
        def repl(m):
            return m.group(1) + self.root + m.group(2)
        pat = r"(^|[\s=:'\"<>|;&(`])(" + "|".join(re.escape(p) for p in DEVICE_PREFIXES) + r")(?=[/\s'\";|&)<>`*]|$)"
        cmd = re.sub(pat, repl, cmd)
        # exec shims: replace a path to a shimmed executable by the host command,
        # but only if that file was pushed and made executable (else let sh fail
        # with "not found"/"Permission denied" like the phone would).
        for name, hostcmd in self.shims.items():
            # only in command position: start, after ; & | ( `, after VAR=x
            # assignments and after wrappers (taskset MASK, nice -n N, env, exec, time)
            spat = (r"((?:^|[;&|(`])\s*(?:\w+=\S*\s+)*"
                    r"(?:(?:taskset\s+(?:-\w+\s+)*[0-9a-fA-Fx,-]+|nice(?:\s+-n\s*-?\d+)?"
                    r"|env(?:\s+\w+=\S*)*|exec|time|timeout\s+\S+)\s+)*)"
                    r"((?:\S*/)?" + re.escape(name) + r")(?=\s|$|;|&|\|)")

            def shim(m, hostcmd=hostcmd):
                tok = m.group(2)
                if tok.startswith("/") and not os.access(tok, os.X_OK):
                    return m.group(0)
                return (m.group(1) + "env FAKE_ADBD_SHIM_TARGET=" +
                        shlex.quote(self.unroot(tok)) + " " + hostcmd)
            cmd = re.sub(spat, shim, cmd)
        # `kill` is a builtin of the host's sh: use the phone's (it signals only phone processes)
        kill = os.path.join(self.root, "system/bin/kill")
        if os.path.exists(kill):
            cmd = re.sub(r"((?:^|[;&|(`])\s*(?:exec\s+|command\s+)?)kill(?=\s|$)",
                         lambda m: m.group(1) + kill, cmd)
        return cmd

    def unroot(self, text: str) -> str:
        """Strip the root folder from host paths in command output."""
        return text.replace(self.root + "/", "/").replace(self.root, "/")

    def env(self) -> Dict[str, str]:
        """Environment of device commands: fixture commands first on PATH."""
        e = dict(os.environ)
        e["PATH"] = os.path.join(self.root, "system/bin") + ":" + e.get("PATH", "/usr/bin:/bin")
        e["FAKE_ADBD_ROOT"] = self.root
        e["ANDROID_DATA"] = "/data"
        e["TMPDIR"] = os.path.join(self.root, "data/local/tmp")
        return e

    def banner(self) -> bytes:
        """The CNXN banner (adb devices -l shows product/model/device from it)."""
        p = self.props
        fields = ["ro.product.name=" + p.get("ro.product.name", "fake"),
                  "ro.product.model=" + p.get("ro.product.model", "Fake"),
                  "ro.product.device=" + p.get("ro.product.device", "fake"),
                  "features=" + ",".join(FEATURES)]
        return ("device::" + ";".join(fields)).encode()


def pack(cmd: int, arg0: int, arg1: int, data: bytes = b"") -> bytes:
    """One adb packet: 24-byte header + payload."""
    return struct.pack("<6I", cmd, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF,
                       cmd ^ 0xFFFFFFFF) + data


class Stream:
    def __init__(self, conn: "Connection", local_id: int, remote_id: int) -> None:
        self.conn, self.local_id, self.remote_id = conn, local_id, remote_id
        self.inq = queue.Queue()
        self.can_send = threading.Event()
        self.can_send.set()
        self.closed = False

    # called from the transport reader thread
    def on_data(self, data):
        self.inq.put(data)

    def on_okay(self):
        self.can_send.set()

    def on_close(self):
        self.closed = True
        self.inq.put(None)
        self.can_send.set()

    # used by service threads
    def write(self, data: bytes) -> None:
        """Send ``data`` to the host in WRTE packets, one in flight at a time."""
        mv = memoryview(data)
        while len(mv):
            chunk = bytes(mv[: self.conn.max_payload])
            mv = mv[len(chunk):]
            self.can_send.wait()
            if self.closed:
                raise ConnectionError("stream closed by host")
            self.can_send.clear()
            self.conn.send(A_WRTE, self.local_id, self.remote_id, chunk)

    def read(self) -> Optional[bytes]:
        """Next WRTE payload from host, or None on close."""
        return self.inq.get()

    def close(self) -> None:
        """Close the stream (CLSE) after the last WRTE was acknowledged."""
        if not self.closed:
            self.closed = True
            # wait (briefly) for the last WRTE to be acknowledged
            self.can_send.wait(5)
            self.conn.send(A_CLSE, self.local_id, self.remote_id)
        self.conn.drop(self.local_id)


class Connection:
    def __init__(self, sock: socket.socket, device: Device) -> None:
        self.sock, self.dev = sock, device
        self.wlock = threading.Lock()
        self.streams = {}
        self.next_id = 1
        self.max_payload = MAX_PAYLOAD
        self.online = False

    def send(self, cmd: int, a0: int, a1: int, data: bytes = b"") -> None:
        """Send one packet (thread-safe)."""
        with self.wlock:
            self.sock.sendall(pack(cmd, a0, a1, data))

    def drop(self, local_id):
        self.streams.pop(local_id, None)

    def recvexact(self, n):
        b = bytearray()
        while len(b) < n:
            d = self.sock.recv(n - len(b))
            if not d:
                raise EOFError
            b += d
        return bytes(b)

    def run(self) -> None:
        """Read packets until the host disconnects."""
        try:
            while True:
                hdr = self.recvexact(24)
                cmd, a0, a1, ln, _chk, magic = struct.unpack("<6I", hdr)
                if magic != cmd ^ 0xFFFFFFFF:
                    log("bad magic, dropping connection")
                    return
                data = self.recvexact(ln) if ln else b""
                self.dispatch(cmd, a0, a1, data)
        except (EOFError, ConnectionError, OSError) as e:
            log("connection closed:", type(e).__name__)
        finally:
            for s in list(self.streams.values()):
                s.on_close()
            try:
                self.sock.close()
            except OSError:
                pass

    def dispatch(self, cmd: int, a0: int, a1: int, data: bytes) -> None:
        """Handle one packet from the host."""
        log("<<", NAMES.get(cmd, hex(cmd)), a0, a1, data[:80])
        if cmd == A_CNXN:
            self.max_payload = min(MAX_PAYLOAD, a1 or MAX_PAYLOAD)
            if self.dev.state == "offline":      # never answer: host shows "offline"
                return
            if self.dev.state == "unauthorized":  # ask for AUTH, never accept it
                self.send(A_AUTH, 1, 0, os.urandom(20))
                return
            self.send(A_CNXN, A_VERSION, MAX_PAYLOAD, self.dev.banner())
            self.online = True
        elif cmd == A_AUTH:
            if self.dev.state == "unauthorized":
                self.send(A_AUTH, 1, 0, os.urandom(20))
        elif cmd == A_OPEN:
            service = data.rstrip(b"\0").decode("utf-8", "replace")
            local_id = self.next_id
            self.next_id += 1
            st = Stream(self, local_id, a0)
            handler = pick_service(service)
            if handler is None:
                log("refusing service", service)
                self.send(A_CLSE, 0, a0)
                return
            self.streams[local_id] = st
            self.send(A_OKAY, local_id, a0)
            threading.Thread(target=run_service, args=(handler, st, self.dev, service),
                             daemon=True).start()
        elif cmd == A_WRTE:
            st = self.streams.get(a1)
            if st is None:
                self.send(A_CLSE, a1, a0)
                return
            st.on_data(data)
            self.send(A_OKAY, a1, a0)
        elif cmd == A_OKAY:
            st = self.streams.get(a1)
            if st:
                st.on_okay()
        elif cmd == A_CLSE:
            st = self.streams.pop(a1, None)
            if st:
                st.on_close()
                # adbd answers a host CLSE with its own CLSE (adb-shell waits for it)
                self.send(A_CLSE, a1, a0)
        else:
            log("ignoring", NAMES.get(cmd, hex(cmd)))


def main() -> None:
    """Parse arguments, listen, and serve connections forever (SIGTERM stops it)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=5555, help="0 = pick a free port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--root", required=True, help="directory standing for the device's /")
    ap.add_argument("--props", help="JSON file of properties for the CNXN banner "
                    "(default ROOT/props.json; getprop fixtures read the same file)")
    ap.add_argument("--shim", action="append", default=[], metavar="NAME=HOSTCMD")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--state", choices=["device", "unauthorized", "offline"], default="device",
                    help="how the device answers CNXN (to test the tool's error paths)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    services.LOG = sys.stderr if a.verbose else None
    props = {}
    props_file = a.props or os.path.join(a.root, "props.json")
    if os.path.exists(props_file):
        with open(props_file) as f:
            props = json.load(f)
    shims = dict(s.split("=", 1) for s in a.shim)
    dev = Device(a.root, props, shims, a.state)
    os.makedirs(os.path.join(dev.root, ".fakephone"), exist_ok=True)
    with open(os.path.join(dev.root, ".fakephone", "adbd.pid"), "w") as f:
        f.write(str(os.getpid()))
    signal.signal(signal.SIGTERM, stop_daemon)
    signal.signal(signal.SIGINT, stop_daemon)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.host, a.port))
    srv.listen(8)
    port = srv.getsockname()[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(a.port_file + ".tmp", a.port_file)
    print("fake_adbd listening on %s:%d root=%s" % (a.host, port, dev.root), flush=True)
    while True:
        c, addr = srv.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log("accepted", addr)
        threading.Thread(target=Connection(c, dev).run, daemon=True).start()


if __name__ == "__main__":
    main()
