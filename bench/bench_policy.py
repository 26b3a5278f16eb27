"""Benchmark: deciding policy cases at runtime.

In-process (`load_policy(...).decide(facts)`): p50 and p99 of one decision, each timed alone,
for a policy of 1 rule, the example policy (governance/policies/support-agent.yaml: two
escalation rules, three review conditions and the refund limit) and a generated policy of 100
review conditions (numbers, text lists, flags and compound conditions); then the example policy
with a decision log attached (sampled at its 0.15, and every decision written). The reference,
measured in the same run on the same facts, is `json.loads` of the case's JSON: the least any
caller that receives facts over the wire does per decision. Target (issue 17): p50 <= 0.05 ms.

    python bench/bench_policy.py                 # 20,000 decisions per measurement
    python bench/bench_policy.py --decisions 100000

The decision server (`govkit policy serve`, its own process; bench/policy_server_load.py): a
bounded open-loop load (default 1,000 requests/s for 10 s over 8 keep-alive connections) from an
asyncio client, p50/p99/max latency from when each request was due and the server's CPU per
request, then its closed-loop capacity; the reference is a standard-library HTTP server answering
a constant, loaded alike in the same run. `--no-server` skips it, `--no-in-process` runs only it.

Always exits 0 once the benchmark ran; read the met / NOT met lines.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from playbook.policy import DecisionLog, Policy, load_policy  # noqa: E402

EXAMPLE = REPO / "governance" / "policies" / "support-agent.yaml"
TARGET_P50_MS = 0.05
MAPS_TO = "maps_to: [iso42001-2023:A.9.2]\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=20_000, metavar="N",
                        help="decisions timed per measurement (default: %(default)s)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=17, help="facts generator seed")
    server = parser.add_argument_group("the decision server (govkit policy serve)")
    add = server.add_argument
    add("--no-server", action="store_true", help="skip the server section")
    add("--no-in-process", action="store_true", help="only the server section")
    add("--rate", type=float, default=1000, help="requests/s (default: %(default)s)")
    add("--seconds", type=float, default=10, help="load duration (default: %(default)s)")
    add("--connections", type=int, default=8, help="keep-alive connections (default: %(default)s)")
    add("--capacity-seconds", type=float, default=3, help="closed-loop capacity run per server")
    add("--no-server-log", action="store_true", help="skip the run with --decision-log")
    return parser.parse_args(argv)


def machine() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")  # fmt: skip
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"CPU:     {model}, {os.cpu_count()} cores ({usable} usable)",
        f"Python:  {platform.python_implementation()} {platform.python_version()} "
        f"on {platform.system()} {platform.release()}",
    ]


def timings_ms(call: Callable[[Any], Any], inputs: list[Any], count: int) -> list[float]:
    """Each call timed alone (perf_counter_ns, its own overhead included), after a warm-up."""
    for item in inputs[:200]:
        call(item)
    clock, found = time.perf_counter_ns, []
    gc.collect()
    for index in range(count):
        item = inputs[index % len(inputs)]
        start = clock()
        call(item)
        found.append(clock() - start)
    return [ns / 1e6 for ns in found]


def p50_p99(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[98]


# --- the policies -----------------------------------------------------------------------------


def one_rule_policy(directory: Path) -> Path:
    path = directory / "one-rule.yaml"
    path.write_text(
        "refunds:\n  auto_approve_max_usd: 200\n  require_human_if: [customer_tenure_months < 3]\n"
        "responses: {pii: {redact: true}}\nescalation: {}\n"
        f"logging: {{retention_days: 30, sample_rate: 0.15}}\n{MAPS_TO}",
        encoding="utf-8",
    )
    return path


def hundred_rule_policy(directory: Path) -> tuple[Path, list[str]]:
    """100 review conditions: 70 numeric thresholds, 15 text lists, 10 flags, 5 compound."""
    conditions, facts = [], ["action", "amount_usd", "sentiment", "topic"]
    for i in range(70):
        conditions.append(f"signal_{i} >= {0.9 + i / 1000:.3f}")
        facts.append(f"signal_{i}")
    for i in range(15):
        conditions.append(f"region_{i} in ['north', 'south', 'east']")
        facts.append(f"region_{i}")
    for i in range(10):
        conditions.append(f"flag_{i}")
        facts.append(f"flag_{i}")
    for i in range(5):
        conditions.append(f"(score_{i} > 0.5 and tier_{i} == 'gold') or not (score_{i} >= 0)")
        facts += [f"score_{i}", f"tier_{i}"]
    items = "".join(f"    - {json.dumps(text)}\n" for text in conditions)
    path = directory / "hundred-rules.yaml"
    path.write_text(
        f"refunds:\n  auto_approve_max_usd: 200\n  require_human_if:\n{items}"
        "responses: {pii: {redact: true}}\n"
        "escalation: {if_sentiment: angry, if_topic_in: [chargeback, legal, security]}\n"
        f"logging: {{retention_days: 30, sample_rate: 0.15}}\n{MAPS_TO}",
        encoding="utf-8",
    )
    return path, facts


def example_cases() -> list[dict[str, Any]]:
    from playbook.policy import load_cases, tests_path

    return [case.facts for case in load_cases(tests_path(EXAMPLE))]


def hundred_rule_cases(names: list[str], rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Cases where a rule fires now and then (about one case in five needs a human)."""
    cases = []
    for _ in range(count):
        case: dict[str, Any] = {"action": "refund", "amount_usd": rng.choice([50, 150, 250]),
                                "sentiment": "neutral", "topic": "billing"}  # fmt: skip
        for name in names[4:]:
            if name.startswith("signal_"):
                case[name] = rng.random() * 0.905
            elif name.startswith("region_"):
                case[name] = rng.choice(["west"] * 30 + ["north"])
            elif name.startswith("flag_"):
                case[name] = rng.random() < 0.002
            elif name.startswith("score_"):
                case[name] = rng.random()
            else:
                case[name] = rng.choice(["silver", "bronze"])
        cases.append(case)
    return cases


# --- the in-process section ------------------------------------------------------------------


HEADER = f"  {'':<34} {'p50 ms':>8} {'p99 ms':>8} {'reference p50 ms':>17} {'p50/ref':>8}"


def _row(label: str, values: list[float], reference_p50: float) -> float:
    p50, p99 = p50_p99(values)
    print(f"  {label:<34} {p50:8.4f} {p99:8.4f} {reference_p50:17.4f} "
          f"{p50 / reference_p50:7.1f}x")  # fmt: skip
    return p50


def bench_in_process(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    count = args.decisions
    with tempfile.TemporaryDirectory(prefix="bench-policy-") as temp:
        directory = Path(temp)
        hundred_path, names = hundred_rule_policy(directory)
        scenarios: list[tuple[str, Policy, list[dict[str, Any]]]] = [
            ("1 rule", load_policy(one_rule_policy(directory)),
             [{"customer_tenure_months": rng.choice([1, 12]), "action": "refund",
               "amount_usd": rng.choice([50, 250])} for _ in range(100)]),
            ("example policy, 6 rules", load_policy(EXAMPLE), example_cases()),
            ("100 rules", load_policy(hundred_path), hundred_rule_cases(names, rng, 200)),
        ]  # fmt: skip
        print(f"\nIn-process: policy.decide(facts), {count:,} decisions each, each timed alone;"
              "\nreference: json.loads of the same facts' JSON, timed alike")  # fmt: skip
        print(HEADER)
        verdicts = []
        for label, policy, cases in scenarios:
            texts = [json.dumps(case) for case in cases]
            reference = p50_p99(timings_ms(json.loads, texts, count))[0]
            p50 = _row(f"{label} ({len(cases[0])} facts)",
                       timings_ms(policy.decide, cases, count), reference)  # fmt: skip
            verdicts.append((label, p50))
        bench_decision_log(directory, count, rng)
    for label, p50 in verdicts:
        verdict = "met" if p50 <= TARGET_P50_MS else "NOT met"
        print(f"target p50 <= {TARGET_P50_MS} ms, {label}: {p50:.4f} ms: {verdict}")


def bench_decision_log(directory: Path, count: int, rng: random.Random) -> None:
    """The example policy with a decision log attached: sampled as the policy says, and every
    decision written (sample rate 1)."""
    cases = example_cases()
    texts = [json.dumps(case) for case in cases]
    reference = p50_p99(timings_ms(json.loads, texts, count))[0]
    always = sum(load_policy(EXAMPLE).decide(case).decision != "auto_approve" for case in cases)
    print(f"\nWith a decision log (example policy on its {len(cases)} test cases, {always} of them "
          "require_human or escalate: always written)")  # fmt: skip
    print(HEADER)
    every = directory / "support-agent.yaml"
    every.write_text(EXAMPLE.read_text(encoding="utf-8").replace("sample_rate: 0.15",
                     "sample_rate: 1.0"), encoding="utf-8")  # fmt: skip
    for label, path in (
        ("sampled at the policy's 0.15", EXAMPLE),
        ("every decision written", every),
    ):
        log_path = directory / f"decisions-{label[:5]}.jsonl"
        with DecisionLog(log_path, rng=random.Random(rng.random())) as log:
            policy = load_policy(path, decision_log=log)
            _row(label, timings_ms(policy.decide, cases, count), reference)
        size = sum(p.stat().st_size for p in directory.glob(f"{log_path.name}*"))
        print(f"  {'':<34} {size / (count + 200):8.0f} bytes of log per decision")


def bench_server(args: argparse.Namespace) -> None:
    """The decision server's section (bench/policy_server_load.py), on a copy of the example
    policy in a temporary directory (where the decision log of its logged run goes)."""
    import shutil

    from policy_server_load import bench_server as run_server_section

    with tempfile.TemporaryDirectory(prefix="bench-policy-server-") as temp:
        policies = Path(temp) / "governance" / "policies"
        policies.mkdir(parents=True)
        shutil.copy(EXAMPLE, policies / EXAMPLE.name)
        run_server_section(args, example_cases(), policies.parent)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print("govkit policy benchmark")
    print("\n".join(machine()))
    if not args.no_in_process:
        bench_in_process(args)
    if not args.no_server:
        bench_server(args)


if __name__ == "__main__":
    main()
