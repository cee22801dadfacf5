"""Reproducible installs: everything pyproject asks for, and everything that pulls in, is pinned in
constraints.txt at the version installed, `make` installs with it, and the README says how to update it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    found = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            found[canonicalize_name(name.split("[")[0])] = version.split(";")[0].strip()
    return found


def installed_closure() -> dict[str, str]:
    """name → installed version of every distribution pyproject's dependencies and test extra pull in."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    todo = [(Requirement(text), ()) for text in project["dependencies"] + project["optional-dependencies"]["test"]]
    seen: dict[str, str] = {}
    visited: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        requirement, extras = todo.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in (*extras, "")):
            continue
        name, wanted = canonicalize_name(requirement.name), tuple(sorted(requirement.extras))
        if (name, wanted) in visited:
            continue
        visited.add((name, wanted))
        distribution = metadata.distribution(requirement.name)
        seen[name] = distribution.version
        todo += [(Requirement(text), wanted) for text in distribution.requires or []]
    return seen


def test_every_installed_package_the_project_needs_is_pinned_at_its_installed_version():
    pinned, needed = pins(), installed_closure()
    assert len(needed) > 30
    missing = sorted(name for name in needed if name not in pinned)
    different = sorted(f"{name}: installed {version}, pinned {pinned[name]}"
                       for name, version in needed.items() if name in pinned and pinned[name] != version)
    assert missing == [] and different == []


def test_make_installs_with_the_constraints_file_and_the_readme_says_how_to_update_it():
    assert re.search(r"pip install .*-c constraints\.txt", (REPO / "Makefile").read_text())
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Updating dependencies", 1)[1].split("\n## ", 1)[0]
    assert "constraints.txt" in section and "pip freeze --all" in section and "make test" in section
