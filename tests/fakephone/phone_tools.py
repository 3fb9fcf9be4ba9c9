#!/usr/bin/env python3
"""Process tools of a fake phone, in toybox's forms: ``ps``, ``kill``, ``pidof``, ``pgrep``,
``pkill``, and a guarded ``rm``. ROOT/system/bin/NAME runs ``phone_tools.py NAME ARGS``.

They see only the phone's processes: the table in ROOT/.fakephone/procs (the shells fake_adbd
started for ``adb shell`` and every benchmark_model), plus init (1), kthreadd (2) and adbd (its
real pid), which cannot be killed ("Operation not permitted"). A pid outside the table answers
"No such process", so a wrong pid never reaches a host process. Supported forms:
  ps [-A|-e] [-f] [-o FIELD,...]... [-p PID,...] [PID|NAME...]
      fields: PID PPID USER NAME COMM ARGS CMD CMDLINE S VSZ RSS TIME ETIME; default columns
      USER PID PPID VSZ RSS WCHAN ADDR S NAME; without -A/-e only the shell user's processes.
  kill [-SIG|-s SIG|-n NUM] PID...      kill -l
  pidof NAME...        pgrep [-f] [-l] [-x] PATTERN        pkill [-SIG] [-f] [-x] PATTERN
  rm [-rf...] PATH...  refuses paths outside the phone's root, its /system and its .fakephone.
"""
from __future__ import annotations

import os
import re
import signal
import sys
import time
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import phone_state  # noqa: E402

ROOT = os.environ.get("FAKE_ADBD_ROOT", "")
SIGNALS = {"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12, "TERM": 15,
           "CONT": 18, "STOP": 19}
WIDTH = {"PID": 5, "PPID": 5, "USER": -12, "VSZ": 8, "RSS": 6, "S": -1, "WCHAN": -6, "ADDR": 1,
         "TIME": 8, "ETIME": 11, "NAME": 0, "COMM": 0, "ARGS": 0, "CMD": 0, "CMDLINE": 0}


def err(msg: str) -> None:
    sys.stderr.write(msg + "\n")


def table() -> List[Dict]:
    """The phone's processes: fixed system ones, adbd, and the registered ones."""
    procs = [{"pid": 1, "ppid": 0, "argv": ["/system/bin/init", "second_stage"], "name": "init",
              "user": "root", "system": True, "since": time.time() - 3600},
             {"pid": 2, "ppid": 0, "argv": ["[kthreadd]"], "name": "kthreadd", "user": "root",
              "system": True, "since": time.time() - 3600}]
    try:
        adbd = int(open(os.path.join(ROOT, ".fakephone", "adbd.pid")).read())
        procs.append({"pid": adbd, "ppid": 1, "argv": ["/apex/com.android.adbd/bin/adbd", "--root_seclabel=u:r:su:s0"],
                      "name": "adbd", "user": "shell", "system": True, "since": time.time() - 3000})
    except (OSError, ValueError):
        pass
    procs += phone_state.processes(ROOT)
    return procs


def field(proc: Dict, name: str, known: frozenset = frozenset()) -> str:
    argv = proc.get("argv") or ["?"]
    if name == "PID":
        return str(proc["pid"])
    if name == "PPID":  # the live parent; an orphan (its shell is gone) belongs to init, as on a phone
        live = phone_state.host_stat(proc["pid"]) if not proc.get("system") else None
        ppid = int(live[1]) if live else int(proc.get("ppid", 1))
        return str(ppid if proc.get("system") or ppid in known else 1)
    if name in ("USER", "UID"):
        return proc.get("user", "shell")
    if name in ("NAME", "COMM"):
        return proc.get("name") or os.path.basename(argv[0])
    if name in ("ARGS", "CMD", "CMDLINE"):
        return " ".join(argv)
    if name == "S":
        return "S" if proc.get("system") else "R"
    if name == "VSZ":
        return "120000" if proc.get("kind") == "benchmark" else "10000"
    if name == "RSS":
        return "40000" if proc.get("kind") == "benchmark" else "2000"
    if name in ("TIME", "ETIME"):
        secs = int(time.time() - float(proc.get("since", time.time())))
        return "%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60)
    if name == "WCHAN":
        return "0"
    return "-"


def ps(args: List[str]) -> int:
    """``ps``: list the phone's processes."""
    show_all, fields, pids, filters = False, [], [], []
    it = iter(args)
    for arg in it:
        if re.fullmatch(r"-[Aefw]+", arg):  # -A, -e, -f, -ef, -Af ...
            show_all = show_all or "A" in arg or "e" in arg
            fields += ["UID", "PID", "PPID", "TIME", "CMD"] if "f" in arg else []
        elif arg == "-o":
            fields += [f.strip().upper() for f in next(it, "").split(",") if f.strip()]
        elif arg.startswith("-o"):
            fields += [f.strip().upper() for f in arg[2:].split(",") if f.strip()]
        elif arg == "-p":
            pids += [p for p in next(it, "").split(",") if p]
        elif arg in ("-T", "-Z"):
            continue
        elif arg.startswith("-"):
            err("ps: Unknown option '%s' (see \"ps --help\")" % arg.lstrip("-")[:1])
            return 1
        else:
            filters.append(arg)
    unknown = [f for f in fields if f not in WIDTH and f != "UID"]
    if unknown:
        err("ps: bad -o %s" % unknown[0])
        return 1
    fields = fields or ["USER", "PID", "PPID", "VSZ", "RSS", "WCHAN", "ADDR", "S", "NAME"]
    self_entry = {"pid": os.getpid(), "ppid": os.getppid(), "argv": ["ps"] + args, "name": "ps",
                  "user": "shell", "since": time.time()}
    rows = [p for p in table() + [self_entry] if show_all or pids or filters or p.get("user") == "shell"]
    if pids:
        rows = [p for p in rows if str(p["pid"]) in pids]
    if filters:
        rows = [p for p in rows if str(p["pid"]) in filters or field(p, "NAME") in filters]
    widths = [WIDTH.get(f, -8) for f in fields]

    def fmt(values: List[str]) -> str:
        cells = []
        for value, width in zip(values, widths):
            cells.append(value.rjust(width) if width > 0 else value.ljust(-width) if width < 0 else value)
        return " ".join(cells).rstrip()
    known = frozenset(p["pid"] for p in rows)
    print(fmt(fields))
    for proc in rows:
        print(fmt([field(proc, f, known) for f in fields]))
    return 0 if rows else 1


def parse_signal(text: str) -> Optional[int]:
    text = text.upper()
    if text.isdigit():
        return int(text)
    return SIGNALS.get(text[3:] if text.startswith("SIG") else text)


def send(pid_text: str, sig: int, tool: str = "kill") -> bool:
    """Signal one phone process by pid; False (with toybox's message) when it is not ours."""
    if not re.fullmatch(r"-?\d+", pid_text):
        err("%s: bad pid '%s'" % (tool, pid_text))
        return False
    pid = int(pid_text)
    proc = next((p for p in table() if p["pid"] == pid), None)
    if proc is None:
        err("%s: pid %d: No such process" % (tool, pid))
        return False
    if proc.get("system"):
        err("%s: pid %d: Operation not permitted" % (tool, pid))
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        err("%s: pid %d: No such process" % (tool, pid))
        return False
    return True


def kill(args: List[str]) -> int:
    """``kill [-SIG|-s SIG|-n NUM] PID...``, ``kill -l``."""
    if args[:1] == ["-l"]:
        print(" ".join(sorted(SIGNALS, key=SIGNALS.get)))
        return 0
    parsed: Optional[int] = signal.SIGTERM
    if args[:1] in (["-s"], ["-n"]):
        parsed = parse_signal(args[1]) if len(args) > 1 else None
        args = args[2:]
    elif args and args[0].startswith("-") and len(args[0]) > 1:
        parsed = parse_signal(args[0][1:])
        args = args[1:]
    if parsed is None:
        err("kill: unknown signal")
        return 1
    if not args:
        err("kill: Need 1 argument")
        return 1
    ok = [send(a, parsed) for a in args]
    return 0 if all(ok) else 1


def matching(pattern: str, full: bool, exact: bool) -> List[Dict]:
    out = []
    for proc in table():
        text = field(proc, "ARGS" if full else "NAME")
        if proc["pid"] == os.getpid():
            continue
        if (exact and text == pattern) or (not exact and re.search(pattern, text)):
            out.append(proc)
    return out


def pidof(args: List[str]) -> int:
    found = [str(p["pid"]) for name in args for p in sorted(table(), key=lambda p: -p["pid"])
             if field(p, "NAME") == name and p["pid"] != os.getpid()]
    if found:
        print(" ".join(found))
    return 0 if found else 1


def pgrep(args: List[str], kill_sig: Optional[int] = None) -> int:
    full = exact = listing = False
    pattern = None
    for arg in args:
        if arg == "-f":
            full = True
        elif arg == "-x":
            exact = True
        elif arg == "-l":
            listing = True
        elif arg.startswith("-") and kill_sig is not None and parse_signal(arg[1:]) is not None:
            kill_sig = parse_signal(arg[1:])
        elif arg.startswith("-"):
            err("%s: Unknown option '%s'" % ("pkill" if kill_sig else "pgrep", arg))
            return 2
        else:
            pattern = arg
    if pattern is None:
        err("Need 1 argument")
        return 2
    procs = [p for p in matching(pattern, full, exact) if p["pid"] != os.getppid()]
    if kill_sig is None:
        for proc in procs:
            print("%d %s" % (proc["pid"], field(proc, "NAME")) if listing else proc["pid"])
        return 0 if procs else 1
    ok = [send(str(p["pid"]), kill_sig, "pkill") for p in procs if not p.get("system")]
    return 0 if ok and all(ok) else 1


def rm(args: List[str]) -> int:
    """/bin/rm on paths inside the phone's root only (never /system, .fakephone or the root itself)."""
    root = os.path.realpath(ROOT)
    kept, rc = [], 0
    protected = [os.path.join(root, "system"), os.path.join(root, ".fakephone"), os.path.join(root, "proc"),
                 os.path.join(root, "sys")]
    for arg in args:
        if arg.startswith("-") and arg != "-":
            kept.append(arg)
            continue
        real = os.path.realpath(arg)
        if real == root or not real.startswith(root + os.sep) or any(
                real == p or real.startswith(p + os.sep) for p in protected):
            err("rm: %s: %s" % (arg, "Read-only file system" if "/system" in real else "Permission denied"))
            rc = 1
            continue
        kept.append(arg)
    if any(not a.startswith("-") for a in kept):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/rm", ["rm"] + kept)
        rc = max(rc, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    return rc


def main() -> int:
    tool, args = os.path.basename(sys.argv[1]), sys.argv[2:]
    if tool == "ps":
        return ps(args)
    if tool == "kill":
        return kill(args)
    if tool == "pidof":
        return pidof(args)
    if tool == "pgrep":
        return pgrep(args)
    if tool == "pkill":
        return pgrep(args, kill_sig=signal.SIGTERM)
    if tool == "rm":
        return rm(args)
    err("%s: not a fake phone tool" % tool)
    return 127


if __name__ == "__main__":
    sys.exit(main())
