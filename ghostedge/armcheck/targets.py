"""What ``ghostedge check`` emulates: the guest architectures (Debian arch, qemu binary, pinned
wheels) and the CPU cores (qemu ``-cpu`` model plus the ``/proc/cpuinfo`` identity the guest sees).

The fake ``/proc/cpuinfo`` matters: LiteRT's cpuinfo library picks kernels from the MIDR it reads
there (an A76 identity under ``-cpu cortex-a53`` enables dot-product kernels the core lacks and
dies with SIGILL), and a file without any ``key : value`` line crashes LiteRT's constructor.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

from ghostedge.armcheck.errors import ArmCheckError

DEBIAN_SUITE = "bookworm"
GUEST_PYTHON = "python3.11"

# aarch64 cp311 wheels, pinned as in constraints.txt, with the SHA-256 of each file on PyPI:
# pip runs in --require-hashes mode, so a changed or substituted file is refused.
ARM64_WHEELS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "ai-edge-litert": ("2.1.0", ("92b24d2507fccf5680c26e712c156266dcf64a892df3921dd42f4a7d26527462",)),
    "tflite-runtime": ("2.14.0", ("ce9fa5d770a9725c746dcbf6f59f3178233b3759f09982e8b2db8d2234c333b0",)),
    "numpy": ("1.26.4", ("7ab55401287bfec946ced39700c053796e7cc0e3acbef09993a9ad2adba6ca6e",)),
    "protobuf": ("4.25.5", ("919ad92d9b0310070f8356c24b855c98df2b8bd207ebc1c0c6fcc9ab1e007f3d",)),
    "flatbuffers": ("25.12.19", ("7634f50c427838bb021c2d66a3d1168e9d199b0607e6329399f04846d42e20b4",)),
    "tqdm": ("4.70.1", ("c293e525e6fef9c20e8728fd4612df02a0aa31bb5fe91ecd93e123b1b7bffa73",)),
    "typing_extensions": ("4.16.0", ("481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8",)),
    "backports.strenum": ("1.2.8", ("fc297cb26971f7d5e15a478a06a78575197f81daea47975771b1aae996dcccf4",)),
}
# armv7l: only tflite-runtime publishes a wheel; numpy comes from Debian (python3-numpy, armhf).
ARMV7_WHEELS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "tflite-runtime": ("2.14.0", ("c4e66a74165b18089c86788400af19fa551768ac782d231a9beae2f6434f7949",)),
}


@dataclass(frozen=True)
class ArchSpec:
    """One guest architecture."""

    name: str                      # "arm64" / "armv7"
    debian_arch: str               # "arm64" / "armhf"
    qemu_binary: str               # file name inside Debian's qemu-user-static package
    debs: Tuple[str, ...]          # Debian packages whose dependency closure forms the sysroot
    pip_platforms: Tuple[str, ...]
    wheels: Dict[str, Tuple[str, Tuple[str, ...]]]
    pip_no_deps: bool              # True: install the wheels alone (their deps come from Debian)
    runtimes: Tuple[str, ...]      # guest runtimes: "litert", "tflite-runtime"
    default_cores: Tuple[str, ...]
    # symlinks that Debian's maintainer scripts (update-alternatives) would create: (link, target)
    links: Tuple[Tuple[str, str], ...] = ()

    @property
    def version_key(self) -> str:
        """Cache folder name: changes whenever what the runtime holds would change."""
        short = {"ai-edge-litert": "litert", "tflite-runtime": "tflrt"}
        pins = "-".join(f"{short[k]}{v[0]}" for k, v in sorted(self.wheels.items()) if k in short)
        return f"{DEBIAN_SUITE}-{GUEST_PYTHON.replace('python', 'py')}-{pins}-r{LAYOUT_REVISION}"


LAYOUT_REVISION = 1  # bump when the runtime folder's layout or content recipe changes

ARCHES: Dict[str, ArchSpec] = {
    "arm64": ArchSpec(
        "arm64", "arm64", "qemu-aarch64-static", (GUEST_PYTHON, "libstdc++6"),
        ("manylinux2014_aarch64", "manylinux_2_27_aarch64", "manylinux_2_34_aarch64"),
        ARM64_WHEELS, False, ("litert", "tflite-runtime"), ("cortex-a76", "cortex-a53")),
    "armv7": ArchSpec(
        "armv7", "armhf", "qemu-arm-static", (GUEST_PYTHON, "libstdc++6", "python3-numpy"),
        ("manylinux_2_34_armv7l", "manylinux2014_armv7l", "linux_armv7l"),
        ARMV7_WHEELS, True, ("tflite-runtime",), ("cortex-a7",),
        (("usr/lib/arm-linux-gnueabihf/libblas.so.3", "blas/libblas.so.3"),
         ("usr/lib/arm-linux-gnueabihf/liblapack.so.3", "lapack/liblapack.so.3"))),
}


@dataclass(frozen=True)
class CoreSpec:
    """One emulated CPU core: qemu's ``-cpu`` model and the identity written to /proc/cpuinfo."""

    name: str
    arch: str
    qemu_cpu: str
    label: str                     # what a user reads in the table
    midr: Optional[Tuple[int, int, int, int]]  # implementer, variant, part, revision; None: no MIDR lines
    features: str
    hardware: str = ""
    fp16_arithmetic: bool = False  # ARMv8.2 FP16 (fphp/asimdhp): XNNPACK can run forced-FP16 kernels

    def cpuinfo(self, processors: int) -> str:
        """The /proc/cpuinfo text for ``processors`` CPUs (never empty)."""
        blocks = []
        for index in range(max(1, processors)):
            lines = [f"processor\t: {index}"]
            if self.arch == "armv7":
                lines.append("model name\t: ARMv7 Processor rev 5 (v7l)")
            lines += ["BogoMIPS\t: 38.40", f"Features\t: {self.features}"]
            if self.midr is not None:
                impl, variant, part, rev = self.midr
                lines += [f"CPU implementer\t: 0x{impl:02x}",
                          f"CPU architecture: {7 if self.arch == 'armv7' else 8}",
                          f"CPU variant\t: 0x{variant:x}", f"CPU part\t: 0x{part:03x}",
                          f"CPU revision\t: {rev}"]
            blocks.append("\n".join(lines) + "\n")
        text = "\n".join(blocks) + "\n"
        if self.hardware:
            text += f"Hardware\t: {self.hardware}\n"
        return text


_A76_FEATURES = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
                 "lrcpc dcpop asimddp")
CORES: Dict[str, CoreSpec] = {
    # the seed's phone: Snapdragon 855 gold core (Kryo 485 Gold = Cortex-A76 class, MIDR 0x51/0x804)
    "cortex-a76": CoreSpec("cortex-a76", "arm64", "cortex-a76",
                           "Cortex-A76 (Snapdragon 855 Kryo 485 Gold identity)",
                           (0x51, 0xD, 0x804, 14), _A76_FEATURES,
                           "Qualcomm Technologies, Inc SM8150", fp16_arithmetic=True),
    # a plain ARMv8.0 core: no dot product, no FP16 arithmetic
    "cortex-a53": CoreSpec("cortex-a53", "arm64", "cortex-a53", "Cortex-A53 (ARMv8.0)",
                           (0x41, 0x0, 0xD03, 4), "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"),
    # everything qemu implements (SVE2, I8MM, BF16...); no MIDR, so no core-specific quirks
    "max": CoreSpec("max", "arm64", "max", "qemu max (all ARMv8/9 features, no MIDR)", None,
                    _A76_FEATURES + " sve sve2 i8mm bf16", fp16_arithmetic=True),
    "cortex-a7": CoreSpec("cortex-a7", "armv7", "cortex-a7", "Cortex-A7 (ARMv7 NEON, 32-bit)",
                          (0x41, 0x0, 0xC07, 5),
                          "half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae"),
}


def arch_spec(arch: str) -> ArchSpec:
    """The spec of ``arch`` ("arm64" or "armv7"), else ArmCheckError."""
    try:
        return ARCHES[arch]
    except KeyError:
        raise ArmCheckError(f"Unknown --arch {arch!r}", f"supported: {', '.join(ARCHES)}",
                            "Use --arch arm64 (64-bit phones) or --arch armv7 (32-bit)") from None


def core_spec(name: str, arch: str) -> CoreSpec:
    """The spec of core ``name`` for ``arch``, else ArmCheckError naming the cores there are."""
    core = CORES.get(name)
    if core is None or core.arch != arch:
        known = ", ".join(n for n, c in CORES.items() if c.arch == arch)
        raise ArmCheckError(f"Unknown core {name!r} for --arch {arch}", f"known: {known}",
                            f"Pass --cores with some of: {known}")
    return core


def host_processors(sysfs: Path = Path("/sys/devices/system/cpu/possible")) -> int:
    """How many CPUs the guest's cpuinfo should list: the host's possible CPUs (qemu-user shows
    the guest the host's /sys), so every CPU LiteRT enumerates has an identity."""
    import os

    try:
        text = sysfs.read_text().strip()
        last = max(int(part.split("-")[-1]) for part in text.split(",") if part)
        return min(last + 1, 1024)
    except (OSError, ValueError):
        return max(1, os.cpu_count() or 1)
