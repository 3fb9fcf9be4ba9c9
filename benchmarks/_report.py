"""Write one benchmark's section of docs/benchmarks.md (other sections are kept)."""
from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = ("# ghostedge benchmarks\n\nEach section is rewritten by the script named in it; "
          "numbers are from one machine on one day: read them as ratios.\n")


def write_section(name: str, markdown: str) -> Path:
    """Replace (or append) the section delimited by ``<!-- begin:name -->``/``<!-- end:name -->``."""
    text = DOC.read_text() if DOC.exists() else HEADER
    block = f"<!-- begin:{name} -->\n{markdown.rstrip()}\n<!-- end:{name} -->"
    pattern = re.compile(rf"<!-- begin:{re.escape(name)} -->.*?<!-- end:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    tmp = DOC.with_suffix(".md.part")
    tmp.write_text(text)
    tmp.replace(DOC)
    return DOC
