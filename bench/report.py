"""The load run's results: medians, ratios to the baseline, the issue's targets, the table.

Figures are medians over the rounds. A ratio to the baseline is the median of the
ratios taken round by round (each scenario beside the baseline run of the same round),
so drift of the machine between rounds cancels out. Targets are issue 9's, measured on
2 cores; a scenario with failed runs (mostly error answers, lost requests) is reported
as failed and never meets its target.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.scenarios import Download, Plan, Scenario
from bench.wrk import Run

BIG = 1_000_000


@dataclass
class Row:
    """A line of the table (and of the JSON's ``summary``)."""

    key: str
    scenario: str
    rate: float | None = None
    unit: str = "req/s"
    p50_ms: float | None = None
    p99_ms: float | None = None
    ratio: float | None = None
    of: str = ""
    target: str = ""
    met: bool | None = None
    failed: str = ""
    note: str = ""


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _failure(scenario: Scenario | Download) -> str:
    problems = list(scenario.problems)
    for run in scenario.runs:
        if isinstance(run, Run):
            problems.extend(run.problems)
    if not scenario.runs and not problems:
        problems.append("did not run")
    return "; ".join(dict.fromkeys(problems))


def _paired(a: Scenario, b: Scenario, f: Callable[[Run, Run], float]) -> float | None:
    """The median of ``f`` over the rounds, each run of ``a`` with ``b``'s of its round."""
    pairs = [(x, y) for x, y in zip(a.runs, b.runs, strict=False) if x.rps and y.rps]
    return median([f(x, y) for x, y in pairs]) if pairs else None


def _wrk_row(scenario: Scenario) -> Row:
    runs = scenario.runs
    return Row(
        key=scenario.key,
        scenario=scenario.label,
        rate=median([run.rps for run in runs]) if runs else None,
        p50_ms=median([run.p50_ms for run in runs]) if runs else None,
        p99_ms=median([run.p99_ms for run in runs]) if runs else None,
        failed=_failure(scenario),
    )


def _against(row: Row, scenario: Scenario, reference: Scenario | None, of: str) -> None:
    if reference is not None and not row.failed:
        row.ratio = _paired(scenario, reference, lambda x, y: x.rps / y.rps)
        row.of = of


def _target(row: Row, text: str, met: bool | None) -> None:
    row.target = text
    row.met = False if row.failed else met


def summary(plan: Plan, mail: dict[str, Any]) -> list[Row]:
    """The table: every scenario, its ratio, and the issue's target where it has one."""
    every = {scenario.key: scenario for scenario in plan.reads + plan.writes}
    hello, listing, insert = (
        every.get("baseline-hello"), every.get("baseline-list"), every.get("baseline-insert")
    )  # fmt: skip
    rows = [_wrk_row(s) for s in (hello, listing, insert) if s is not None]
    small = every.get("sign-300")
    if small is not None:
        row = _wrk_row(small)
        _against(row, small, insert, "insert")
        rows.append(row)
    sizes = sorted({s.size for s in every.values() if s.size and s.key != "sign-300"})
    for n in sizes:
        rows.extend(_letter_rows(every, n, hello, listing, insert, small))
    for download in plan.downloads:
        rows.append(_download_row(download))
    rows.append(_mail_row(mail))
    return rows


def _letter_rows(
    every: dict[str, Scenario],
    n: int,
    hello: Scenario | None,
    listing: Scenario | None,
    insert: Scenario | None,
    small: Scenario | None,
) -> list[Row]:
    """The rows of one letter size; a scenario left out of the run (``--only``) has none."""
    rows = []
    sign = every.get(f"sign-{n}")
    if sign is not None:
        row = _wrk_row(sign)
        _against(row, sign, insert, "insert")
        _target(row, "≥ 0.5", None if row.ratio is None else row.ratio >= 0.5)
        rows.append(row)
    if sign is not None and small is not None:
        cost = Row(f"sign-cost-{n}", f"sign cost, {n:,} vs 300 signatures", unit="")
        cost.failed = _failure(sign) or _failure(small)
        if not cost.failed:
            # The time a sign POST costs under the same load is 1 / its throughput.
            cost.ratio = _paired(small, sign, lambda x, y: x.rps / y.rps)
            cost.of = "300"
        if n >= BIG:
            _target(cost, "≤ 1.2", None if cost.ratio is None else cost.ratio <= 1.2)
        rows.append(cost)
    confirm = every.get(f"confirm-{n}")
    if confirm is not None:
        row = _wrk_row(confirm)
        _against(row, confirm, insert, "insert")
        rows.append(row)
    for key in ("letter", "list1"):
        scenario = every.get(f"{key}-{n}")
        if scenario is None:
            continue
        row = _wrk_row(scenario)
        _against(row, scenario, listing, "list")
        met = None
        if row.ratio is not None and row.p99_ms is not None:
            met = row.ratio >= 0.7 and row.p99_ms <= 100
        _target(row, "≥ 0.7, p99 ≤ 100 ms", met)
        rows.append(row)
    first, deep = every.get(f"list1org-{n}"), every.get(f"list500-{n}")
    for scenario in (first, deep):
        if scenario is not None:
            row = _wrk_row(scenario)
            _against(row, scenario, listing, "list")
            rows.append(row)
    if first is not None and deep is not None:
        cost = Row(f"deep-cost-{n}", f"{deep.label.split(',')[0]} vs page 1, cost", unit="")
        cost.failed = _failure(first) or _failure(deep)
        if not cost.failed:
            cost.ratio = _paired(first, deep, lambda x, y: x.rps / y.rps)
            cost.of = "page 1"
        _target(cost, "≤ 1.2", None if cost.ratio is None else cost.ratio <= 1.2)
        rows.append(cost)
    for key in ("country", "search", "api"):
        scenario = every.get(f"{key}-{n}")
        if scenario is not None:
            row = _wrk_row(scenario)
            _against(row, scenario, listing, "list")
            rows.append(row)
    live = every.get(f"live304-{n}")
    if live is not None:
        row = _wrk_row(live)
        _against(row, live, hello, "hello")
        _target(row, "≥ 0.6", None if row.ratio is None else row.ratio >= 0.6)
        rows.append(row)
    return rows


def _download_row(download: Download) -> Row:
    runs = download.runs
    row = Row(download.key, download.label, unit="rows/s", failed=_failure(download))
    if runs:
        row.rate = median([run.rows_per_second for run in runs])
        growth = max(run.growth_mb for run in runs)
        row.note = (
            f"{median([run.seconds for run in runs]):.1f} s, "
            f"{median([run.megabytes for run in runs]):.0f} MB, peak memory +{growth:.1f} MB "
            f"(idle {median([run.idle_mb for run in runs]):.0f} MB)"
        )
        if download.key.startswith("csv-"):
            met = row.rate >= 150_000 and growth <= 50
            _target(row, "≥ 150,000 rows/s, ≤ 50 MB", met)
    return row


def _mail_row(mail: dict[str, Any]) -> Row:
    runs = mail["runs"]
    failed = "; ".join(mail["problems"]) or ("" if runs else "did not run")
    row = Row("mail", f"mail worker, {mail['messages']:,} messages", unit="msg/s", failed=failed)
    if runs:
        row.rate = median([run["rate"] for run in runs])
        row.note = f"{median([run['rate_with_start'] for run in runs]):.1f}/s with start-up"
    _target(row, "≥ 200", None if row.rate is None else row.rate >= 200)
    return row


def results(meta: dict[str, Any], plan: Plan, mail: dict[str, Any]) -> dict[str, Any]:
    """Everything the run measured, as JSON-ready data."""
    scenarios = {
        s.key: {
            "label": s.label,
            "size": s.size,
            "path": s.path,
            "runs": [run.as_json() for run in s.runs],
            "problems": s.problems,
        }
        for s in plan.reads + plan.writes
    }
    downloads = {
        d.key: {
            "label": d.label,
            "size": d.size,
            "runs": [run.as_json() for run in d.runs],
            "problems": d.problems,
        }
        for d in plan.downloads
    }
    rows = [asdict(row) for row in summary(plan, mail)]
    return {
        "meta": meta,
        "summary": rows,
        "scenarios": scenarios,
        "downloads": downloads,
        "mail": mail,
    }


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def print_table(results: dict[str, Any], compare: dict[str, Any] | None = None) -> bool:
    """Print the summary; whether any scenario failed."""
    meta = results["meta"]
    print()
    print(
        f"signatory under load on {meta['database_server']}: {meta['wrk']}, {meta['gunicorn']}; "
        f"medians of {meta['runs']} run(s); {meta['seconds']:,} s in all"
    )
    print(
        f"load average before {meta['load_average_before'][0]:.2f}, after "
        f"{meta['load_average_after'][0]:.2f} on {meta['cpus']} CPUs (others' work skews "
        "absolute figures; ratios hold better)"
    )
    earlier = {row["key"]: row for row in (compare or {}).get("summary", [])}
    versus = compare["meta"]["database"] if compare else ""
    header = (
        f"{'scenario':<46} {'rate':>10} {'unit':<6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'ratio':>7} {'of':<7} {'target':<26} {'met':<4}"
    )
    if compare:
        header += f" {'vs ' + versus:>10}"
    print(header)
    print("-" * len(header))
    failed = False
    for row in results["summary"]:
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        if row["failed"]:
            failed = True
            met = "FAIL"
        line = (
            f"{row['scenario'][:46]:<46} {_number(row['rate']):>10} {row['unit']:<6} "
            f"{_number(row['p50_ms'], 0):>8} {_number(row['p99_ms'], 0):>8} "
            f"{_number(row['ratio'], 3):>7} {row['of']:<7} {row['target']:<26} {met:<4}"
        )
        if compare:
            before = earlier.get(row["key"], {})
            if row["rate"] and before.get("rate"):
                share = row["rate"] / before["rate"]
                line += f" {share:>9.2f}{'' if share >= 0.5 else '!'}"
        print(line)
        if row["note"]:
            print(f"{'':<48}{row['note']}")
        if row["failed"]:
            print(f"{'':<48}FAILED: {row['failed'][:300]}")
    if compare:
        print(
            f"\n'vs {versus}': this run's rate over the same scenario's in the earlier run "
            "(issue 9 on PostgreSQL: none below 0.5, marked '!')"
        )
    return failed
