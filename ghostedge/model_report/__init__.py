"""The one owner of a converted model's record: output naming (``naming``), the versioned
``ModelReport`` written beside each artifact as ``<name>.<kind>.report.json`` (``report``: load,
validate, dump, find) and a model's identity in tables (``identity``: display name, precision,
reference figures, class count).

``ghostedge convert`` builds one report per artifact and writes it once; ``predict``, ``eval``,
``bench``, ``inspect`` and ``check`` read it through :func:`find_report`. Reports written by
ghostedge 0.1 (``schema_version`` 1, no ``schema`` key) still load.
"""
from __future__ import annotations

from ghostedge.model_report.identity import (ModelIdentity, distinct_labels, identity_for,
                                             identity_from_filename, precision_of, report_identity,
                                             source_identity)
from ghostedge.model_report.naming import KINDS, ArtifactNames, report_candidates
from ghostedge.model_report.report import (SCHEMA, SCHEMA_VERSION, ModelReport, add_section,
                                           find_report, load_report)

__all__ = ["ArtifactNames", "KINDS", "ModelIdentity", "ModelReport", "SCHEMA", "SCHEMA_VERSION",
           "add_section", "distinct_labels", "find_report", "identity_for", "identity_from_filename",
           "load_report", "precision_of", "report_candidates", "report_identity", "source_identity"]
