"""adb transport for on-phone benchmarks: devices, facts, affinity, deployment, benchmark_model runs
and output parsing. Needs only the standard library and the ``adb`` client binary."""
from __future__ import annotations

from ghostedge.android_runner.adb import Adb, AdbResult, find_adb
from ghostedge.android_runner.benchmark import benchmark_command, run_benchmark_model
from ghostedge.android_runner.binary import BENCHMARK_URLS, cached_binary_path, find_benchmark_binary
from ghostedge.android_runner.deploy import DEFAULT_REMOTE_DIR, Deployment
from ghostedge.android_runner.devices import DeviceEntry, list_devices, parse_devices_output, resolve_serial
from ghostedge.android_runner.errors import (
    AdbMissingError, AdbTimeoutError, AmbiguousDeviceError, DeviceNotFoundError, DeviceOfflineError,
    DeviceUnauthorizedError, DeviceVanishedError)
from ghostedge.android_runner.facts import DeviceFacts, affinity_mask, read_device_facts, read_temperatures
from ghostedge.android_runner.parse import BenchmarkOutput, RunStats, parse_benchmark_output

__all__ = [
    "Adb", "AdbResult", "find_adb", "list_devices", "DeviceEntry", "parse_devices_output",
    "resolve_serial", "DeviceFacts", "read_device_facts", "read_temperatures", "affinity_mask",
    "Deployment", "DEFAULT_REMOTE_DIR", "find_benchmark_binary", "cached_binary_path",
    "BENCHMARK_URLS", "run_benchmark_model", "benchmark_command", "parse_benchmark_output",
    "BenchmarkOutput", "RunStats", "AdbMissingError", "AdbTimeoutError", "AmbiguousDeviceError",
    "DeviceNotFoundError", "DeviceOfflineError", "DeviceUnauthorizedError", "DeviceVanishedError",
]
