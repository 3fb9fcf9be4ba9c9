"""Services of fake_adbd.py: shell (v1 raw and v2 with exit codes), exec, and sync v1
(STAT/LIST/SEND/RECV/QUIT) on the fake phone's device root. Stdlib only."""
from __future__ import annotations

import os
import signal
import stat as statmod
import struct
import subprocess
import threading
from typing import Any, Callable, Optional

import phone_state

SYNC_DATA_MAX = 64 * 1024
LOG = None


def log(*a: object) -> None:
    """Debug line on LOG (stderr with --verbose)."""
    if LOG:
        print("[fake_adbd]", *a, file=LOG, flush=True)


class Reader:
    """Byte buffer over a stream's incoming WRTE payloads."""

    def __init__(self, stream):
        self.s, self.buf, self.eof = stream, bytearray(), False

    def readexact(self, n):
        while len(self.buf) < n:
            d = self.s.read()
            if d is None:
                raise EOFError
            self.buf += d
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def run_service(handler: Callable, st: Any, dev: Any, service: str) -> None:
    """Run a service handler on its stream; the stream is closed whatever happens."""
    try:
        handler(st, dev, service)
    except (EOFError, ConnectionError, BrokenPipeError) as e:
        log("service", service, "ended:", e)
    except Exception as e:  # keep the daemon alive
        log("service", service, "crashed:", repr(e))
    finally:
        try:
            st.close()
        except OSError:
            pass


# --- shell -----------------------------------------------------------------

CHILDREN = set()  # running shell processes (each leads its own process group)
GROUPS = set()    # their process groups: a command's children may outlive it (see kill_on_close)
CHILDREN_LOCK = threading.Lock()


def spawn(dev: Any, cmd: str, merge_stderr: bool = False) -> subprocess.Popen:
    """Start a device command under /bin/sh; it is tracked so a stopped daemon can kill it.

    The phone's live files (temperatures, frequencies, loadavg, stat) are brought up to date first,
    and the shell is entered in the phone's process table as ``/system/bin/sh -c CMD``.
    """
    if not cmd.strip():
        cmd = "sh"  # interactive shell without a pty: good enough
    try:
        phone_state.refresh(dev.root)
    except Exception as e:  # the state must never stop a command
        log("state refresh failed:", repr(e))
    hostcmd = dev.rewrite_cmd(cmd)
    log("exec:", hostcmd)
    # v1 "shell:"/"exec:" on a modern adbd: raw mode, stdout+stderr share one fd
    proc = subprocess.Popen(["/bin/sh", "-c", hostcmd], cwd=dev.root, env=dev.env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                            start_new_session=True)
    with CHILDREN_LOCK:
        CHILDREN.add(proc)
        GROUPS.add(proc.pid)
    try:
        phone_state.register_process(dev.root, proc.pid, ["/system/bin/sh", "-c", cmd], "shell", ppid=os.getpid())
    except Exception as e:
        log("cannot register", proc.pid, repr(e))
    return proc


def reap(proc: subprocess.Popen, dev: Any = None) -> int:
    """Wait for a device command and forget it."""
    rc = proc.wait()
    with CHILDREN_LOCK:
        CHILDREN.discard(proc)
    if dev is not None:
        phone_state.unregister_process(dev.root, proc.pid)
    return rc


def stop_daemon(signum: int, _frame: Any) -> None:
    """SIGTERM/SIGINT: kill every running device command and what it started (like a phone losing
    power), then exit."""
    with CHILDREN_LOCK:
        for pgid in list(GROUPS):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    os._exit(128 + signum)


def pump(src: Any, fn: Callable[[bytes], None]) -> threading.Thread:
    """Copy a pipe to ``fn`` on a thread. When ``fn`` fails (the host closed the stream) the pipe is
    closed, so the writer's next write fails with EPIPE/SIGPIPE, as when adbd closes its end."""
    def run():
        while True:
            try:
                d = os.read(src.fileno(), 65536)
            except (OSError, ValueError):
                break
            if not d:
                break
            try:
                fn(d)
            except (ConnectionError, OSError):
                break
        try:
            src.close()
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def kill_on_close(st: Any, proc: subprocess.Popen, feed: Callable[[bytes], None]) -> None:
    """Feed host->device data to `feed`. When the host closes the stream (the adb client was
    killed or timed out), send SIGHUP to the shell only, as adbd does (``kill(pid_, SIGHUP)`` in its
    shell service): what the shell started (benchmark_model) keeps running on the phone until it
    ends or writes to its closed output."""
    def run():
        while True:
            d = st.read()
            if d is None:
                if proc.poll() is None:
                    try:
                        os.kill(proc.pid, signal.SIGHUP)
                    except ProcessLookupError:
                        pass
                return
            feed(d)
    threading.Thread(target=run, daemon=True).start()


def shell_v1(st: Any, dev: Any, service: str) -> None:
    """``shell:``/``exec:`` (raw bytes, no exit status)."""
    cmd = service.split(":", 1)[1] if ":" in service else ""
    is_exec = service.startswith("exec:")
    proc = spawn(dev, cmd, merge_stderr=not is_exec)
    lock = threading.Lock()

    def out(d):
        with lock:
            st.write(dev.unroot(d.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape"))

    def feed(d):
        try:
            proc.stdin.write(d)
            proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
    kill_on_close(st, proc, feed)
    threads = [pump(proc.stdout, out)]
    if is_exec:  # exec-out: stderr is not forwarded
        threads.append(pump(proc.stderr, lambda d: None))
    for t in threads:
        t.join()
    reap(proc, dev)


# shell protocol v2 packet ids
ID_STDIN, ID_STDOUT, ID_STDERR, ID_EXIT, ID_CLOSE_STDIN, ID_WINDOW = range(6)


def shell_v2(st: Any, dev: Any, service: str) -> None:
    """``shell,v2:`` packets: stdout, stderr, exit code."""
    cmd = service.split(":", 1)[1] if ":" in service else ""
    proc = spawn(dev, cmd)
    lock = threading.Lock()

    def packet(pid, d):
        with lock:
            st.write(struct.pack("<BI", pid, len(d)) + d)

    def out(pid):
        return lambda d: packet(pid, dev.unroot(d.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape"))

    buf = bytearray()

    def feed(d):
        buf.extend(d)
        while len(buf) >= 5:
            pid, n = struct.unpack("<BI", buf[:5])
            if len(buf) < 5 + n:
                break
            payload = bytes(buf[5:5 + n])
            del buf[:5 + n]
            try:
                if pid == ID_STDIN:
                    proc.stdin.write(payload)
                    proc.stdin.flush()
                elif pid == ID_CLOSE_STDIN:
                    proc.stdin.close()
            except (BrokenPipeError, ValueError, OSError):
                pass
    kill_on_close(st, proc, feed)
    t1, t2 = pump(proc.stdout, out(ID_STDOUT)), pump(proc.stderr, out(ID_STDERR))
    t1.join()
    t2.join()
    rc = reap(proc, dev)
    if rc < 0:
        rc = 128 - rc
    packet(ID_EXIT, bytes([rc & 0xFF]))


# --- sync ------------------------------------------------------------------

def sync_service(st: Any, dev: Any, service: str) -> None:
    """``sync:`` v1: STAT/LIST/SEND/RECV/QUIT on the device root."""
    r = Reader(st)
    while True:
        try:
            hdr = r.readexact(8)
        except EOFError:
            return
        cid, n = hdr[:4], struct.unpack("<I", hdr[4:])[0]
        if cid == b"QUIT":
            return
        arg = r.readexact(n)
        log("sync", cid, arg[:200])
        if cid in (b"STAT", b"RECV", b"LIST") and arg.startswith((b"/sys", b"/proc")):
            try:
                phone_state.refresh(dev.root)
            except Exception as e:
                log("state refresh failed:", repr(e))
        if cid == b"STAT":
            try:
                s = os.lstat(dev.host_path(arg.decode()))
                st.write(b"STAT" + struct.pack("<3I", s.st_mode & 0xFFFFFFFF,
                                               s.st_size & 0xFFFFFFFF, int(s.st_mtime)))
            except (OSError, PermissionError):
                st.write(b"STAT" + struct.pack("<3I", 0, 0, 0))
        elif cid == b"LIST":
            out = bytearray()
            try:
                hp = dev.host_path(arg.decode())
                for name in [".", ".."] + sorted(os.listdir(hp)):
                    try:
                        s = os.lstat(os.path.join(hp, name))
                    except OSError:
                        continue
                    nb = name.encode()
                    out += b"DENT" + struct.pack("<4I", s.st_mode, s.st_size & 0xFFFFFFFF,
                                                 int(s.st_mtime), len(nb)) + nb
            except OSError:
                pass
            out += b"DONE" + struct.pack("<4I", 0, 0, 0, 0)
            st.write(bytes(out))
        elif cid == b"SEND":
            spec = arg.decode()
            path, _, mode = spec.rpartition(",")
            if not path:
                path, mode = spec, "33188"
            mode = int(mode or "33188")
            err = None
            try:
                hp = dev.host_path(path)
                os.makedirs(os.path.dirname(hp), exist_ok=True)
                f = open(hp + ".fake_adbd_tmp", "wb")
            except OSError as e:
                err, f = str(e), None
            mtime = 0
            while True:
                h = r.readexact(8)
                kid, kn = h[:4], struct.unpack("<I", h[4:])[0]
                if kid == b"DATA":
                    d = r.readexact(kn)
                    if f:
                        f.write(d)
                elif kid == b"DONE":
                    mtime = kn
                    break
                else:
                    err = err or "unexpected id %r in SEND" % kid
                    break
            if f:
                f.close()
                if not err:
                    os.replace(hp + ".fake_adbd_tmp", hp)
                    os.chmod(hp, statmod.S_IMODE(mode) or 0o644)
                    if mtime:
                        os.utime(hp, (mtime, mtime))
            if err:
                msg = ("couldn't create file: " + err).encode()
                st.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)
            else:
                st.write(b"OKAY" + struct.pack("<I", 0))
        elif cid == b"RECV":
            try:
                with open(dev.host_path(arg.decode()), "rb") as f:
                    while True:
                        d = f.read(SYNC_DATA_MAX)
                        if not d:
                            break
                        st.write(b"DATA" + struct.pack("<I", len(d)) + d)
                st.write(b"DONE" + struct.pack("<I", 0))
            except OSError as e:
                msg = e.strerror.encode() if e.strerror else b"error"
                st.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)
        else:
            msg = ("unknown sync command %r" % cid).encode()
            st.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)
            return


def pick_service(service: str) -> Optional[Callable]:
    """The handler for an OPEN service string, or None to refuse it."""
    if service.startswith("shell,") or service.startswith("shell,v2"):
        opts = service.split(":", 1)[0].split(",")
        return shell_v2 if "v2" in opts else shell_v1
    if service.startswith("shell:") or service == "shell" or service.startswith("exec:"):
        return shell_v1
    if service.startswith("sync:"):
        return sync_service
    return None


