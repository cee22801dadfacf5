"""The module structure stays readable: no import cycles, no private names across modules, flows declared."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from tests.architecture.import_graph import REPO, ImportGraph, find_cycles, read_import_graph


def test_no_two_modules_import_each_other_even_through_a_function_level_import():
    cycles = find_cycles(read_import_graph(function_level=True))
    assert cycles == [], f"import cycles: {cycles}"


def test_no_module_imports_a_private_name_from_another_module():
    graph = read_import_graph(function_level=True)
    assert graph.private_imports == [], "private names crossing modules: " + "; ".join(graph.private_imports)


def test_the_cycle_finder_reports_a_cycle_and_a_private_import_when_there_is_one():
    graph = ImportGraph(modules={"a": Path("a.py"), "b": Path("b.py"), "c": Path("c.py")},
                        edges={"a": {"b"}, "b": {"c"}, "c": {"a"}})
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles(ImportGraph(modules=graph.modules, edges={"a": {"b"}, "b": {"c"}})) == []


def test_the_shell_never_imports_a_flow_module():
    graph = read_import_graph(function_level=True)
    arrows = sorted(f"{source} -> {target}" for source, targets in graph.edges.items() if source.startswith("closeout")
                    for target in targets if target.startswith("flows"))
    assert arrows == [], f"closeout/ names flows by entrypoint string, never by import: {arrows}"


def _flows_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any("flow" in ast.unparse(decorator).split("(")[0] for decorator in node.decorator_list)]


def test_every_flow_in_flows_is_a_deployment_of_prefect_yaml_so_prefect_deploy_all_deploys_it():
    declared = {entry["entrypoint"] for entry in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
    found = {f"flows/{path.name}:{name}" for path in sorted((REPO / "flows").glob("*.py")) for name in _flows_in(path)}
    assert found, "no flow found in flows/"
    assert found - declared == set(), f"flows with no deployment in prefect.yaml: {sorted(found - declared)}"
    assert declared - found == set(), f"deployments naming no flow: {sorted(declared - found)}"


def test_no_flow_is_defined_outside_flows():
    outside = [f"{path.relative_to(REPO)}:{name}" for package in ("closeout", "services", "workorders", "mappings", "connectors",
                                                                  "exceptions_queue", "storage", "sandbox")
               for path in sorted((REPO / package).rglob("*.py")) for name in _flows_in(path)]
    assert outside == []
