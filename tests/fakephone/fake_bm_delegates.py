"""Delegates of the fake benchmark_model (BenchmarkTfLiteModel::Init's delegate lines): GPU and
NNAPI per phone setting (ok / partial / none / fail / absent), the default XNNPACK delegate, and the
legacy ``fail="delegate"`` switch. Failure chains follow public outputs (tensorflow/tensorflow#43793,
#60936 for the GPU; tests/data/benchmark_model/07 for NNAPI)."""
from __future__ import annotations

from typing import Any, Dict, List

import fake_op_profile as prof
from fake_bm_output import Log, fail

DELEGATE_NODE = {"gpu": "TfLiteGpuDelegateV2", "nnapi": "TfLiteNnapiDelegate"}
PARTIAL_UNSUPPORTED = ("PAD", "MEAN", "SOFTMAX")


def apply_delegates(cfg: Dict[str, Any], log: Log, values: Dict[str, Any], argv: List[str],
                    ops: List[Dict[str, Any]]):
    """The delegate lines of BenchmarkTfLiteModel::Init; returns (kind, profile node type, ops left on CPU)."""
    if cfg["fail"] == "delegate":  # the legacy switch: an NNAPI-style failure
        log.runtime("NN API returned error ANEURALNETWORKS_BAD_DATA at line 1068 while adding operation.", "ERROR")
        log.runtime("Restored original execution plan after delegate application failure.", "ERROR")
        fail(log, "Failed to apply NNAPI delegate.")
        return "failed", None, ()
    wanted = sorted((d for d in ("gpu", "nnapi") if values.get("use_" + d)),
                    key=lambda d: next(i for i, a in enumerate(argv) if a.startswith("--use_%s=" % d)))
    explicit_xnn = values.get("use_xnnpack") is True
    if len(wanted) + explicit_xnn >= 2:
        log.tool("Going to apply %d delegates one after another." % (len(wanted) + explicit_xnn))
    for name in wanted:
        status, label = cfg[name], name.upper() if name == "gpu" else "NNAPI"
        log.runtime("Created TensorFlow Lite delegate for %s." % label)
        log.tool("%s delegate created." % label)
        if status == "fail":
            if name == "gpu":  # as tensorflow/tensorflow#43793 and #60936 show it
                log.runtime('OpenCL library not loaded - dlopen failed: library "libOpenCL.so" not found', "ERROR")
                log.runtime("Falling back to OpenGL", "ERROR")
                log.runtime("TfLiteGpuDelegate Init: OpenGL-based API disabled", "ERROR")
                log.runtime("TfLiteGpuDelegate Prepare: delegate is not initialized", "ERROR")
                log.runtime("Node number %d (TfLiteGpuDelegateV2) failed to prepare." % len(ops), "ERROR")
            else:  # fixture 07
                log.runtime("NN API returned error ANEURALNETWORKS_BAD_DATA at line 1068 while adding operation.", "ERROR")
            log.runtime("Restored original execution plan after delegate application failure.", "ERROR")
            fail(log, "Failed to apply %s delegate." % label)
            return "failed", None, ()
        unsupported = PARTIAL_UNSUPPORTED if status == "partial" else ()
        taken, kernels = prof.delegated(ops, DELEGATE_NODE[name], unsupported)
        if status != "none" and taken:
            log.runtime("Replacing %d out of %d node(s) with delegate (%s) node, yielding %d partitions for subgraph 0."
                        % (taken, len(ops), DELEGATE_NODE[name], kernels))
            if name == "gpu":
                log.runtime("Initialized OpenCL-based API.")
                log.runtime("Created %d GPU delegate kernels." % kernels)
        if status == "none" or not taken:
            log.tool("Though %s delegate is explicitly applied, the model graph will not be executed by the "
                     "delegate." % label)
            continue
        if kernels == 1 and taken == len(ops):
            log.tool("Explicitly applied %s delegate, and the model graph will be completely executed by the "
                     "delegate." % label)
        else:
            log.tool("Explicitly applied %s delegate, and the model graph will be partially executed by the "
                     "delegate w/ %d delegate kernels." % (label, kernels))
        return name, DELEGATE_NODE[name], unsupported
    if values.get("use_xnnpack", True) is False:
        return "cpu", None, ()
    taken, kernels = prof.delegated(ops, "TfLiteXNNPackDelegate")
    if cfg["mode"] == "synthetic":  # the real LiteRT library prints this line itself
        log.runtime("Created TensorFlow Lite XNNPACK delegate for CPU.")
    if explicit_xnn:
        log.tool("Explicitly applied XNNPACK delegate, and the model graph will be %s executed by the delegate%s."
                 % (("completely", "") if kernels == 1 and taken == len(ops) else ("partially", " w/ %d delegate kernels" % kernels)))
    else:
        log.runtime("Replacing %d out of %d node(s) with delegate (TfLiteXNNPackDelegate) node, yielding %d "
                    "partitions for subgraph 0." % (taken, len(ops), kernels), "VERBOSE")
    return "cpu", "TfLiteXNNPackDelegate", ()
