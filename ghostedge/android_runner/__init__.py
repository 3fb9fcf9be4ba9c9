"""adb transport for on-phone benchmarks: devices, facts, affinity, deployment, benchmark_model runs
and output parsing. Needs only the standard library and the ``adb`` client binary."""
from __future__ import annotations

from ghostedge.android_runner.adb import Adb, AdbResult, find_adb
from ghostedge.android_runner.benchmark import (DELEGATE_FLAGS, DELEGATE_NAMES, benchmark_command,
                                                run_benchmark_model)
from ghostedge.android_runner.binary import BENCHMARK_URLS, cached_binary_path, find_benchmark_binary
from ghostedge.android_runner.deploy import DEFAULT_REMOTE_DIR, Deployment, describe_removed
from ghostedge.android_runner.devices import (DeviceChoice, DeviceEntry, list_devices, parse_devices_output,
                                              resolve_serial, resolve_serials)
from ghostedge.android_runner.errors import (
    AdbInterrupted, AdbMissingError, AdbTimeoutError, AmbiguousDeviceError, CellFailure, DeviceNotFoundError,
    DeviceOfflineError, DeviceUnauthorizedError, DeviceVanishedError)
from ghostedge.android_runner.facts import DeviceFacts, affinity_mask, read_device_facts, read_temperatures
from ghostedge.android_runner.op_profile import OpProfile, parse_op_profile
from ghostedge.android_runner.parse import (BenchmarkOutput, DelegateFailure, DelegateInfo, RunStats,
                                            parse_benchmark_output)
from ghostedge.android_runner.remote import frequency_verdict, kill_started, list_folder, running_from

__all__ = [
    "Adb", "AdbResult", "find_adb", "list_devices", "DeviceEntry", "parse_devices_output",
    "resolve_serial", "resolve_serials", "DeviceChoice", "DeviceFacts", "read_device_facts",
    "read_temperatures", "affinity_mask", "Deployment", "DEFAULT_REMOTE_DIR", "describe_removed",
    "find_benchmark_binary", "cached_binary_path", "BENCHMARK_URLS", "run_benchmark_model",
    "benchmark_command", "DELEGATE_FLAGS", "DELEGATE_NAMES", "parse_benchmark_output",
    "BenchmarkOutput", "RunStats", "DelegateInfo", "DelegateFailure", "OpProfile", "parse_op_profile",
    "kill_started", "running_from", "list_folder", "frequency_verdict", "AdbInterrupted",
    "AdbMissingError", "AdbTimeoutError", "AmbiguousDeviceError", "CellFailure", "DeviceNotFoundError",
    "DeviceOfflineError", "DeviceUnauthorizedError", "DeviceVanishedError",
]
