"""The README's sending examples that run without a receiver of yours work as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(containing: str) -> str:
    blocks = re.findall(r"^```python\n(.*?)^```$", README.read_text(), re.S | re.M)
    (found,) = [b for b in blocks if containing in b]
    return found


def test_the_scripted_transport_example_runs() -> None:
    code = _block("ScriptedTransport(flaky)")
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(code, "README.md (ScriptedTransport)", "exec"), namespace)
    assert namespace["report"].ok  # type: ignore[attr-defined]
