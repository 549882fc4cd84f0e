"""The ready CI workflows: they parse, every harness command in them exists and takes those flags,
the nightly matrix is valid, and the image cache they rely on round-trips through a real engine."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from harness.cli import build_parser
from harness.matrix import cells_of, read_config
from harness.test import RunOptions, make_test

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
NIGHTLY = ROOT / ".github" / "nightly.toml"
CI_DOC = ROOT / "docs" / "ci.md"


def harness_commands(script: str) -> list[list[str]]:
    """The argument lists of every `harness ...` invocation in a shell script (also inside $(...))."""
    script = script.replace("\\\n", " ")
    substitutions = re.findall(r"\$\(([^()]*)\)", script)
    script = re.sub(r"\$\([^()]*\)", "SUBSTITUTED", script)
    found = []
    for line in [*substitutions, *script.splitlines()]:
        for part in re.split(r"\s(?:&&|\|\||\||;)\s|;", line):
            words = shlex.split(part.strip()) if part.strip() else []
            for i, word in enumerate(words):
                if word == "harness" or word.endswith("/harness"):
                    found.append(words[i + 1:])
                    break
    return found


def scripts_of(steps: list[dict]) -> list[str]:
    return [s["run"] for s in steps if "run" in s] + [line for s in steps for line in s.get("script", [])]


def assert_commands_parse(scripts: list[str]) -> int:
    parser = build_parser()
    commands = [argv for script in scripts for argv in harness_commands(script)]
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit as e:
            raise AssertionError(f"harness {' '.join(argv)} does not parse") from e
    return len(commands)


def test_github_workflow_parses_and_its_harness_commands_exist() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["test-all"]["steps"]
    assert {"schedule", "workflow_dispatch"} <= set(workflow[True])  # YAML 1.1 reads the key `on` as true
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert {"actions/cache", "actions/upload-artifact"} <= set(uses)
    commands = [c[:2] for script in scripts_of(steps) for c in harness_commands(script)]
    assert ["image", "key"] in commands and ["image", "load"] in commands and ["image", "save"] in commands
    assert ["test-all", "--config"] in commands
    assert assert_commands_parse(scripts_of(steps)) >= 4


def test_gitlab_example_parses_and_its_harness_commands_exist() -> None:
    block = re.search(r"```yaml\n(.*?)```", CI_DOC.read_text(), re.S)
    assert block is not None
    job = yaml.safe_load(block.group(1))["nightly"]
    assert job["artifacts"]["reports"]["junit"] == "results/junit.xml"
    assert assert_commands_parse(job["script"]) >= 3


def test_nightly_matrix_is_valid() -> None:
    blocks, top = read_config(NIGHTLY)
    cells = cells_of(blocks, list(range(top["test-count"])), str(NIGHTLY))
    assert len(cells) == (4 * 3 + 2) * 2
    for cell in cells:
        make_test(db=cell.db, workload=cell.workload, nemesis=cell.nemesis, options=RunOptions(seed=cell.seed))


@pytest.mark.docker
def test_image_cache_round_trip(docker_client, node_image, tmp_path: Path) -> None:
    from harness.image import load_images, save_images

    written = save_images(docker_client, [node_image], tmp_path)
    assert [p.suffix for p in written] == [".tar"] and written[0].stat().st_size > 10_000_000
    assert node_image in load_images(docker_client, tmp_path)
