"""Emulated cores and architectures: the fake /proc/cpuinfo identity matches -cpu and is never
empty; the guest wheels are pinned to constraints.txt's versions."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ghostedge.armcheck import ArmCheckError
from ghostedge.armcheck.targets import ARCHES, CORES, arch_spec, core_spec, host_processors

ROOT = Path(__file__).resolve().parents[2]


def _field(text: str, key: str) -> list:
    return re.findall(rf"^{key}\s*: (.*)$", text, flags=re.M)


def test_a76_has_the_snapdragon_855_gold_identity_and_a53_an_a53_midr():
    a76 = CORES["cortex-a76"].cpuinfo(2)
    assert CORES["cortex-a76"].qemu_cpu == "cortex-a76"
    assert _field(a76, "CPU implementer") == ["0x51", "0x51"]  # Qualcomm Kryo 485 Gold
    assert _field(a76, "CPU part") == ["0x804", "0x804"]
    assert "asimddp" in _field(a76, "Features")[0] and "asimdhp" in _field(a76, "Features")[0]
    a53 = CORES["cortex-a53"].cpuinfo(2)
    assert CORES["cortex-a53"].qemu_cpu == "cortex-a53"
    assert _field(a53, "CPU implementer") == ["0x41", "0x41"] and _field(a53, "CPU part") == ["0xd03", "0xd03"]
    # an A76 identity under -cpu cortex-a53 enables dot-product kernels: SIGILL
    assert "asimddp" not in a53 and "fphp" not in a53
    assert not CORES["cortex-a53"].fp16_arithmetic and CORES["cortex-a76"].fp16_arithmetic


@pytest.mark.parametrize("name", sorted(CORES))
def test_cpuinfo_is_never_empty_and_lists_every_processor(name):
    for n in (0, 1, 3, 8):
        text = CORES[name].cpuinfo(n)
        assert _field(text, "processor") == [str(i) for i in range(max(1, n))]
        # LiteRT segfaults on a cpuinfo without any "key : value" line
        assert all(":" in line for line in text.splitlines() if line.strip())


def test_host_processors_reads_sysfs(tmp_path):
    possible = tmp_path / "possible"
    possible.write_text("0-7\n")
    assert host_processors(possible) == 8
    possible.write_text("0,2-3\n")
    assert host_processors(possible) == 4
    assert host_processors(tmp_path / "missing") >= 1


def test_unknown_arch_and_core_are_clear_errors():
    with pytest.raises(ArmCheckError, match="Unknown --arch 'x86'.*arm64"):
        arch_spec("x86")
    with pytest.raises(ArmCheckError, match="Unknown core 'cortex-a7' for --arch arm64.*cortex-a76"):
        core_spec("cortex-a7", "arm64")
    assert core_spec("cortex-a7", "armv7").qemu_cpu == "cortex-a7"


def test_wheel_pins_match_constraints_txt():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-").replace(".", "-")] = version.strip()
    for arch in ARCHES.values():
        for name, (version, hashes) in arch.wheels.items():
            assert pins[name.lower().replace("_", "-").replace(".", "-")] == version, name
            assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    assert ARCHES["arm64"].version_key == "bookworm-py3.11-litert2.1.0-tflrt2.14.0-r1"
