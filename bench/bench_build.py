"""Benchmark: govkit's own work against the site builder's, for an organisation of N agents.

Copies the example governance into a temporary directory, replaces its charters with N synthetic
ones (derived from the example charters, so they stay valid), then times

* govkit: load + validate (`load_governance`) and render + stage (`site.stage`), in-process;
* builder: the site builder (`mkdocs build` or `zensical build`) on the staged configuration,
  as the subprocess `govkit build` runs.

The target is govkit <= 25% of the builder's time at 1,000 agents. The script always exits 0 when
the benchmark itself ran; read the printed PASS/FAIL line.

Large organisations (see `build_scale.py`): `--full` times whole `govkit build` runs at 1,000 and
2,000 agents with each builder; `--serve` times an edited charter's page in `govkit serve` at
1,000 agents, from the edit to the page showing it (target: 2 s).

    python bench/bench_build.py                     # 1,000 agents, MkDocs Material
    python bench/bench_build.py --agents 100 --builder zensical
    python bench/bench_build.py --profile           # also cProfile govkit's part
    python bench/bench_build.py --full              # govkit build, 1,000 and 2,000 agents
    python bench/bench_build.py --serve             # govkit serve: edit to visible, 1,000 agents
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import build_scale as scale  # noqa: E402

from playbook.core.errors import ValidationFailed  # noqa: E402
from playbook.handbook.site import BUILDERS, builder_command, stage  # noqa: E402
from playbook.policy import load_governance  # noqa: E402

EXAMPLE_GOVERNANCE = REPO / "governance"
SITE_CONFIG = REPO / "mkdocs.yml"
TARGET_AGENTS = 1000
TARGET_RATIO = 0.25
TIERS = (0, 1, 2, 3)

FIRST_NAMES = (
    "Ada", "Bilal", "Carmen", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ines", "Jonas",
    "Keiko", "Luca", "Maya", "Nikos", "Olga", "Pedro", "Quinn", "Ravi", "Sofia", "Tariq",
)  # fmt: skip
LAST_NAMES = (
    "Abara", "Berg", "Costa", "Dubois", "Eriksen", "Fujita", "Garcia", "Haddad", "Ivanova",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Osei", "Petrov", "Rossi", "Silva",
    "Tanaka", "Weber", "Yilmaz",
)  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time govkit's own work (load + validate, render + stage) against the site builder "
            "for an organisation of N synthetic agents. Target: govkit <= 25% of the builder's "
            "time at 1,000 agents. Always exits 0 once the benchmark ran; read the PASS/FAIL line."
        ),
    )
    parser.add_argument(
        "--agents",
        type=int,
        default=TARGET_AGENTS,
        metavar="N",
        help="number of synthetic charters to generate (default: %(default)s)",
    )
    parser.add_argument(
        "--builder",
        choices=BUILDERS,
        default="mkdocs",
        help="site builder to time (default: %(default)s)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (governance, staging, site) and print its path",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=date.today(),
        metavar="YYYY-MM-DD",
        help="the date validation and rendering use (default: today)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="time whole `govkit build` runs at --sizes agents with each installed builder",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="time `govkit serve` from a charter edit to its page showing it (--agents, default "
        "1,000), with each installed builder",
    )
    parser.add_argument(
        "--sizes",
        default="1000,2000",
        help="organisation sizes for --full, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--builders",
        default=",".join(BUILDERS),
        help="builders for --full and --serve, comma-separated; those not installed are skipped "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--edits", type=int, default=5, help="edits timed by --serve (default: %(default)s)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run govkit's part once more under cProfile and print the top 15 by cumulative "
        "time (not included in the timings above)",
    )
    args = parser.parse_args(argv)
    if args.agents < 1:
        parser.error("--agents must be at least 1")
    return args


# --- synthetic governance ------------------------------------------------------------------------


def example_charters() -> dict[int, dict[str, Any]]:
    """One example charter per tier 0-3, read from the example governance."""
    by_tier: dict[int, dict[str, Any]] = {}
    for path in sorted((EXAMPLE_GOVERNANCE / "agents").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        by_tier.setdefault(data["tier"], data)
    missing = [tier for tier in TIERS if tier not in by_tier]
    if missing:
        raise SystemExit(f"bench: no example charter for tier(s) {missing} in {EXAMPLE_GOVERNANCE}")
    return by_tier


def operating_model_ids() -> list[str]:
    data = yaml.safe_load((EXAMPLE_GOVERNANCE / "operating-models.yaml").read_text("utf-8"))
    return [model["id"] for model in data["operating_models"]]


def person(number: int) -> dict[str, str]:
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return {"name": f"{first} {last}", "email": f"{first}.{last}{number}@northwind.example".lower()}


def synthetic_charter(
    number: int, templates: dict[int, dict[str, Any]], models: list[str]
) -> dict[str, Any]:
    """Charter `agent-<number>`: tier and operating model cycle so every pairing occurs."""
    tier = TIERS[number % len(TIERS)]
    charter = yaml.safe_load(yaml.safe_dump(templates[tier]))  # a deep copy
    agent_id = f"agent-{number:05d}"
    charter["id"] = agent_id
    charter["name"] = f"Agent {number:05d} ({templates[tier]['name']})"
    charter["operating_model"] = models[number % len(models)]
    owners = charter["owners"]
    for offset, role in enumerate(("agent_owner", "model_steward", "reviewer")):
        if role in owners:
            owners[role] = person(number * 3 + offset)
    return charter


def make_governance(root: Path, agents: int) -> Path:
    """Copy the example governance to `root/governance` with `agents` synthetic charters only."""
    governance = root / "governance"
    shutil.copytree(EXAMPLE_GOVERNANCE, governance)
    agent_dir = governance / "agents"
    shutil.rmtree(agent_dir)  # the examples go; exactly `agents` charters are counted
    for per_agent in ("evals", "incidents"):  # they name the example's agents
        shutil.rmtree(governance / per_agent, ignore_errors=True)
    agent_dir.mkdir()
    templates = example_charters()
    models = operating_model_ids()
    for number in range(1, agents + 1):
        charter = synthetic_charter(number, templates, models)
        (agent_dir / f"{charter['id']}.yaml").write_text(
            yaml.safe_dump(charter, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
    return governance


# --- timing --------------------------------------------------------------------------------------


def govkit_work(governance_dir: Path, staging: Path, site: Path, today: date) -> tuple[Path, int]:
    governance = load_governance(governance_dir, today=today)
    return stage(
        governance, config_path=SITE_CONFIG, staging_dir=staging, site_dir=site, today=today
    )


def run(args: argparse.Namespace, work: Path) -> None:
    print(f"generating {args.agents:,} charters in {work} ...", flush=True)
    governance_dir = make_governance(work, args.agents)
    staging = work / "staging"
    site = staging / "site"  # as `govkit build` does: Zensical wants the site inside the project

    started = time.perf_counter()
    try:
        governance = load_governance(governance_dir, today=args.today)
    except ValidationFailed as exc:
        print(f"bench: the synthetic governance did not validate:\n{exc}")
        raise SystemExit(1) from None
    loaded = time.perf_counter()
    staged_config, pages = stage(
        governance, config_path=SITE_CONFIG, staging_dir=staging, site_dir=site, today=args.today
    )
    staged = time.perf_counter()
    print(f"staged {pages:,} pages; running {args.builder} ...", flush=True)

    command = builder_command(args.builder, staged_config)
    try:
        subprocess.run(command, cwd=staging, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        tail = "\n".join((exc.stdout + exc.stderr).strip().splitlines()[-30:])
        print(f"bench: the {args.builder} build failed (exit {exc.returncode}):\n{tail}")
        raise SystemExit(1) from None
    built = time.perf_counter()
    if not (site / "index.html").is_file():
        print(f"bench: warning: {args.builder} wrote no {site / 'index.html'}")

    load_s = loaded - started
    stage_s = staged - loaded
    govkit_s = staged - started
    builder_s = built - staged
    ratio = govkit_s / builder_s if builder_s > 0 else float("inf")
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"

    rows = [
        ("agents", f"{len(governance.agents):,}"),
        ("pages rendered", f"{pages:,}"),
        ("govkit: load + validate", f"{load_s:8.3f} s"),
        ("govkit: render + stage", f"{stage_s:8.3f} s"),
        ("govkit: total", f"{govkit_s:8.3f} s"),
        (f"builder: {args.builder} build", f"{builder_s:8.3f} s"),
        ("govkit / builder", f"{ratio * 100:7.1f} %"),
    ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"  {label:<{width}}  {value:>12}")
    print()
    print(f"target: govkit <= 25% of builder time at 1,000 agents: {verdict}")
    if args.agents != TARGET_AGENTS:
        print(f"  (measured at {args.agents:,} agents; the target is defined at 1,000)")

    if args.profile:
        profile_govkit(governance_dir, work, args.today)


def profile_govkit(governance_dir: Path, work: Path, today: date) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    staging = work / "staging-profile"
    govkit_work(governance_dir, staging, staging / "site", today)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
    print("\ncProfile of govkit's part (load + stage), top 15 by cumulative time:")
    print(out.getvalue())


def installed_builders(args: argparse.Namespace) -> list[str]:
    wanted = [name.strip() for name in args.builders.split(",")]
    return [name for name in wanted if importlib.util.find_spec(name) is not None]


def run_full(args: argparse.Namespace, work: Path) -> None:
    rows = [("agents", "builder", "wall", "vs issue 14", "CPU")]
    for size in [int(text) for text in args.sizes.split(",")]:
        print(f"generating {size:,} charters ...", flush=True)
        governance = make_governance(work / f"org-{size}", size)
        for builder in installed_builders(args):
            print(f"  govkit build --builder {builder} ...", flush=True)
            timing = scale.full_build(governance, builder, work / f"site-{size}-{builder}")
            shown = f"{timing.seconds:8.1f} s" if timing.seconds is not None else "FAILED"
            cpu = f"{timing.cpu_seconds:8.1f} s" if timing.cpu_seconds is not None else ""
            ratio = scale.reference_ratio(size, builder, timing.seconds)
            rows.append((f"{size:,}", builder, shown, ratio, cpu))
            if timing.note:
                print(f"    {timing.note}")
    scale.print_table("Full builds (`govkit build`, validation to swapped-in site):", rows)


def run_serve(args: argparse.Namespace, work: Path) -> None:
    print(f"generating {args.agents:,} charters ...", flush=True)
    governance = make_governance(work / "org", args.agents)
    for builder in installed_builders(args):
        print(f"govkit serve --builder {builder} ...", flush=True)
        log = work / f"serve-{builder}.log"
        timings = scale.serve_latency(governance, builder, args.agents, args.edits, log)
        rows = [("", "seconds", f"vs target {scale.SERVE_TARGET_SECONDS:g} s")]
        for timing in timings:
            seconds = f"{timing.seconds:7.2f}" if timing.seconds is not None else "FAILED"
            ratio = ""
            if timing.seconds is not None and timing.label.startswith("edit"):
                ratio = f"{timing.seconds / scale.SERVE_TARGET_SECONDS:.2f}x"
            rows.append((timing.label, seconds, ratio or timing.note))
        edits = sorted(t.seconds for t in timings[1:] if t.seconds is not None)
        scale.print_table(f"govkit serve, {builder}, {args.agents:,} agents:", rows)
        if edits:
            median = edits[len(edits) // 2]
            verdict = "PASS" if median <= scale.SERVE_TARGET_SECONDS else "FAIL"
            print(f"  median edit to visible {median:.2f} s, worst {edits[-1]:.2f} s: {verdict}")
        print(f"  (server log: {log})" if args.keep else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="govkit-bench-"))
    try:
        if args.full:
            run_full(args, work)
        if args.serve:
            run_serve(args, work)
        if not (args.full or args.serve):
            run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
