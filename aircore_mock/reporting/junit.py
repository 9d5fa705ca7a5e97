"""Contract and fuzz reports as JUnit XML, for CI: one test case per clause and case, each
failure with what was sent, what came back, and the curl line that reproduces it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _failure_text(failure: Any, url: str, headers: Mapping[str, str]) -> str:
    return str(failure.explain(url, headers))


def contract(report: Any, headers: Mapping[str, str] | None = None) -> ET.ElementTree:
    """A ContractReport as a JUnit tree (suite `aircore-mock check`)."""
    headers = headers or {}
    suite = ET.Element(
        "testsuite",
        name="aircore-mock check",
        tests=str(len(report.results)),
        failures=str(sum(r.verdict == "failed" for r in report.results)),
        skipped=str(sum(r.verdict == "skipped" for r in report.results)),
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"), "property", name="seed", value=str(report.seed)
    )
    for result in report.results:
        case = ET.SubElement(
            suite, "testcase", classname=f"aircore-mock.{result.clause}", name=result.name
        )
        if result.verdict == "failed":
            element = ET.SubElement(case, "failure", message=result.reason[:500])
            element.text = "\n\n".join(
                _failure_text(f, report.target, headers) for f in result.failures[:20]
            )
        elif result.verdict == "skipped":
            ET.SubElement(case, "skipped", message=result.reason)
        elif result.verdict == "warned":
            out = ET.SubElement(case, "system-out")
            out.text = "warning: " + result.reason
    return ET.ElementTree(suite)


def fuzz(report: Any, headers: Mapping[str, str] | None = None) -> ET.ElementTree:
    """A FuzzReport as a JUnit tree: one test case per distinct failure (or one that passed)."""
    headers = headers or {}
    suite = ET.Element(
        "testsuite",
        name="aircore-mock fuzz",
        tests=str(max(len(report.failures), 1)),
        failures=str(len(report.failures)),
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"), "property", name="seed", value=str(report.seed)
    )
    if not report.failures:
        ET.SubElement(suite, "testcase", classname="aircore-mock.fuzz", name="fuzz")
    for clause, failure in zip(report.clauses, report.failures, strict=True):
        case = ET.SubElement(
            suite, "testcase", classname=f"aircore-mock.{clause}", name=f"{clause}: {failure.got}"
        )
        element = ET.SubElement(case, "failure", message=f"{failure.sent}: got {failure.got}")
        element.text = _failure_text(failure, report.target, headers)
    return ET.ElementTree(suite)


def write(tree: ET.ElementTree, path: str | Path) -> None:
    """Write a JUnit tree to `path` (UTF-8, with an XML declaration)."""
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
