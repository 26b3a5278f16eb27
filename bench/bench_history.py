"""Benchmark: `govkit history`, `govkit diff` and `govkit whois` (today and `--at`) on a long
governance history of a large organisation.

Builds a git repository with `git fast-import` (seconds, not minutes): the example organisation
with N synthetic charters (each with a prompt file and an eval suite of JUnit XML results), then
C commits by a rotating cast of authors, each changing one to three things (a guardrail, an
owner, a tool, a policy limit, a prompt, eval results, a tier's wording), with `Approved-by:`
trailers on most. Then times, as whole processes (CPU seconds, children and git included, and
wall time), against the floor `git log --stat -- governance` on the same repository:

* `govkit history` (every commit, semantic diffs, risk, approvals; text and JSON) and
  `govkit history AGENT` (its charter followed through renames, its prompt, evals, policies);
* `govkit diff` over the last 50 commits (a long-lived branch);
* `govkit whois AGENT`, today and `--at DATE` in the middle of the history.

Each is run three times; the median run is printed.

Targets (issue 15): the history of 1,000 commits under 5 s, `whois` under 1 s at 1,000 charters.

    python bench/bench_history.py                     # 1,000 agents, 1,000 commits
    python bench/bench_history.py --agents 200 --commits 5000 --keep
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_GOVERNANCE = REPO / "governance"
GOVKIT = Path(sys.executable).with_name("govkit")
START = 1_790_000_000  # 2026-09-21, the first commit's time; one commit an hour after it
AUTHORS = [
    ("Ada Lovelace", "ada"),
    ("Grace Hopper", "grace"),
    ("Henrik Lund", "henrik"),
    ("Oliver Brandt", "oliver"),
    ("Rosa Delgado", "rosa"),
    ("Aisha Bello", "aisha"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000, help="charters (default: %(default)s)")
    parser.add_argument("--commits", type=int, default=1000, help="commits (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep and print the repository")
    return parser.parse_args(argv)


def _blob(text: str) -> bytes:
    data = text.encode()
    return b"data %d\n" % len(data) + data + b"\n"


def _junit(passed: int, failed: int, stamp: str) -> str:
    return (
        f'<testsuites><testsuite name="regression" tests="{passed + failed}" '
        f'failures="{failed}" errors="0" skipped="0" timestamp="{stamp}">'
        '<testcase classname="c" name="one"/></testsuite></testsuites>\n'
    )


def _files(agents: int) -> dict[str, str]:
    """The initial tree: the example organisation, its charters replaced by `agents` copies (and
    its incidents, which name the example's agents, left out)."""
    per_agent = {"agents", "evals", "incidents"}
    files = {
        f"governance/{path.relative_to(EXAMPLE_GOVERNANCE).as_posix()}": path.read_text()
        for path in sorted(EXAMPLE_GOVERNANCE.rglob("*"))
        if path.is_file() and not per_agent & set(path.parts)
    }
    refunds = yaml.safe_load((EXAMPLE_GOVERNANCE / "agents/refunds.yaml").read_text())
    for number in range(agents):
        agent = f"agent-{number:04d}"
        charter = {**refunds, "id": agent, "name": f"Agent {number}"}
        charter["prompt"] = f"prompts/{agent}.md"
        charter["evals"] = [
            {"suite": f"{agent}-regression", "results": f"evals/{agent}/*.xml",
             "min_pass_rate": 0.9}
        ]  # fmt: skip
        files[f"governance/agents/{agent}.yaml"] = yaml.safe_dump(charter, sort_keys=False)
        files[f"governance/prompts/{agent}.md"] = "You prepare refunds.\n" * 20
        files[f"governance/evals/{agent}/0.xml"] = _junit(95, 5, "2026-09-20T00:00:00Z")
    return files


def _edit(files: dict[str, str], rng: random.Random, agents: int, step: int) -> list[str]:
    """One to three changes of one commit; returns the paths changed."""
    changed = []
    for _ in range(rng.randint(1, 3)):
        agent = f"agent-{rng.randrange(agents):04d}"
        kind = rng.choice(["guardrail", "owner", "tool", "prompt", "evals", "policy", "tier"])
        if kind in ("guardrail", "owner", "tool"):
            path = f"governance/agents/{agent}.yaml"
            data = yaml.safe_load(files[path])
            if kind == "guardrail":
                data["guardrails"][1]["max"] = round(rng.uniform(2, 6), 2)
            elif kind == "tool":
                data["work"]["tools"] = [*data["work"]["tools"][:3], f"tool-{step}"]
            else:
                name, user = rng.choice(AUTHORS)
                data["owners"]["agent_owner"] = {"name": name, "email": f"{user}@northwind.example"}
            files[path] = yaml.safe_dump(data, sort_keys=False)
        elif kind == "prompt":
            path = f"governance/prompts/{agent}.md"
            files[path] += f"Rule {step}: be careful.\n"
        elif kind == "evals":
            path = f"governance/evals/{agent}/{step}.xml"
            files[path] = _junit(90 + step % 10, 10 - step % 10, "2026-10-01T00:00:00Z")
        elif kind == "policy":  # the sample rate: the policy's test cases keep passing
            path = "governance/policies/support-agent.yaml"
            rate = files[path].split("sample_rate: ")[1].split("\n")[0]
            files[path] = files[path].replace(
                f"sample_rate: {rate}", f"sample_rate: 0.{step % 9 + 1}"
            )
        else:
            path = "governance/tiers.yaml"
            files[path] = (
                files[path].replace("Read-only", f"Read-only ({step})", 1)
                if step % 2
                else files[path].replace(f"Read-only ({step - 1})", "Read-only", 1)
            )
        changed.append(path)
    return changed


def build(root: Path, agents: int, commits: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    rng = random.Random(7)
    files = _files(agents)
    stream = bytearray()
    for step in range(commits):
        changed = list(files) if step == 0 else _edit(files, rng, agents, step)
        name, user = AUTHORS[step % len(AUTHORS)]
        approver = AUTHORS[(step + 1) % len(AUTHORS)]
        message = f"Change {step}" + (
            f"\n\nApproved-by: {approver[0]} <{approver[1]}@northwind.example>" if step % 4 else ""
        )
        when = START + step * 3600
        stream += b"commit refs/heads/main\n"
        stream += f"author {name} <{user}@northwind.example> {when} +0000\n".encode()
        stream += f"committer {name} <{user}@northwind.example> {when} +0000\n".encode()
        stream += _blob(message)
        for path in dict.fromkeys(changed):
            stream += f"M 100644 inline {path}\n".encode() + _blob(files[path])
        stream += b"\n"
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=bytes(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)


def _run_once(args: list[str], root: Path, label: str) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=root, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{label}: exit {done.returncode}: {done.stderr.decode()[:500]}")
    return cpu, wall, done.stdout.count(b"\n")


def timed(
    label: str, args: list[str], root: Path, target: float | None = None, runs: int = 3
) -> float:
    """Run one command `runs` times as a whole process; print the median CPU and wall seconds
    (the machine's other jobs make single runs noisy) and whether the target is met."""
    results = sorted((_run_once(args, root, label) for _ in range(runs)), key=lambda r: r[1])
    cpu, wall, lines = results[len(results) // 2]
    verdict = ""
    if target is not None:
        verdict = f"  target < {target:g} s: {'met' if wall < target else 'MISSED'}"
    print(f"{label:<46} {cpu:6.2f} s CPU {wall:6.2f} s wall ({lines:,} lines){verdict}")
    return wall


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="govkit-bench-history-"))
    govkit = [str(GOVKIT)]
    try:
        start = time.perf_counter()
        build(root, args.agents, args.commits)
        print(f"repository: {args.agents:,} agents, {args.commits:,} commits, built in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        floor = timed("floor: git log --stat -- governance",
                      ["git", "log", "--stat", "--", "governance"], root)  # fmt: skip
        full = timed("govkit history (every commit)", [*govkit, "history"], root, 5.0)
        timed("govkit history --format json", [*govkit, "history", "--format", "json"], root, 5.0)
        timed("govkit history agent-0007", [*govkit, "history", "agent-0007"], root, 5.0)
        timed("govkit diff HEAD~50 HEAD (50 commits)", [*govkit, "diff", "HEAD~50", "HEAD"], root)
        timed("govkit whois agent-0007", [*govkit, "whois", "agent-0007"], root, 1.0)
        middle = time.strftime("%Y-%m-%d", time.gmtime(START + args.commits * 1800))
        timed(f"govkit whois agent-0007 --at {middle}",
              [*govkit, "whois", "agent-0007", "--at", middle], root, 1.0)  # fmt: skip
        print(f"history / floor (wall): {full / max(floor, 1e-9):.1f}x")
    finally:
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
