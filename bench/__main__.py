"""`make bench` → `python -m bench [module …]`: run the benchmarks, print one table, update docs/BENCHMARKS.md.

A benchmark is a module `bench/<name>.py` with a `run()` that returns a list of result dicts:

    {"name": "split recompute: wall time", "value": 4.1, "unit": "s",
     "baseline_name": "floor: one INSERT … SELECT", "baseline_value": 3.6, "ratio": 1.14,
     "target": "≤ 1.5× floor", "met": True}

Every figure sits beside a baseline measured in the same run (`baseline_name`,
`baseline_value`, `ratio`); rows without one are listed at the end of the run.
`target` and `met` may be None/empty. Helpers without `run` (bench/database.py:
the shared, seeded bench database) are not benchmarks.

Each module runs in a subprocess of its own — a fresh interpreter, Django and
database connection — with its progress streamed here. Results are kept per
module in docs/benchmarks.json, so running one module updates only its rows; the
generated part of docs/BENCHMARKS.md (between the markers) is re-rendered from
it as one table with the machine (cores, memory), the date and the duration of
each module's run. Text outside the markers is left alone.

Progress is printed as it goes: each module's start with the running total, its
duration when done. A run of every module (`make bench`, no names) also records
its whole wall time in the store (`whole_run`: date, run id, seconds, each
module's seconds; each module's entry has the run id and its own seconds too),
rendered as one line under the table against the target of `WHOLE_RUN_TARGET_MIN`
minutes; a run of some modules keeps the last whole-run figure and says which run
it came from and which modules were re-run since.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import subprocess
import sys
import time
from pathlib import Path

import bench

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
STORE = ROOT / "docs" / "benchmarks.json"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
MARKER = "@@bench-results "
FIELDS = ("name", "value", "unit", "baseline_name", "baseline_value", "ratio", "target", "met")
WHOLE_RUN_TARGET_MIN = 15

DOC_TEMPLATE = f"""# Benchmarks

`make bench` (`.venv/bin/python -m bench`) runs every benchmark in `bench/` on the
bench database — `DATABASE_URL` if it is PostgreSQL, else
`postgres://postgres@127.0.0.1:5432/portfolio_bench`, created and seeded once with
`seed_demo --initiatives 20000 --expenses 1000000 --months 24` — and rewrites the
table below. `python -m bench split` runs one module and updates only its rows.

{START}
{END}
"""


def discover() -> list[str]:
    """Names of the bench modules that define `run()`, in alphabetical order."""
    names = []
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "run", None)):
            names.append(info.name)
    return sorted(names)


def run_module(name: str) -> list[dict]:
    """Run bench.<name>.run() in a subprocess, streaming its output; returns its normalised results."""
    code = (
        "import json, sys\n"
        f"from bench import {name} as module\n"
        "results = module.run()\n"
        f"print({MARKER!r} + json.dumps(results, default=str), flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    payload = None
    for line in child.stdout:
        if line.startswith(MARKER):
            payload = json.loads(line[len(MARKER) :])
        else:
            print(f"   {line}", end="", flush=True)
    child.wait()
    if child.returncode != 0 or payload is None:
        return [failure(name, f"exited with status {child.returncode}")]
    return [normalise(name, result) for result in (payload if isinstance(payload, list) else [payload])]


def failure(module: str, reason: str) -> dict:
    return {**dict.fromkeys(FIELDS), "name": f"{module}: did not complete ({reason})", "met": False}


def normalise(module: str, result: dict) -> dict:
    """A result in the common shape; keys of other shapes are kept as a note rather than lost."""
    if "name" in result:
        return {**dict.fromkeys(FIELDS), **{key: result.get(key) for key in FIELDS}}
    note = ", ".join(f"{key}={value}" for key, value in result.items())
    return {**dict.fromkeys(FIELDS), "name": f"{module}: {note}"}


def has_baseline(result: dict) -> bool:
    """Whether a figure sits beside a baseline: its name, its value and the ratio to it."""
    return (
        bool(result.get("baseline_name"))
        and result.get("baseline_value") is not None
        and isinstance(result.get("ratio"), int | float)
    )


def machine() -> dict:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "cpu": cpu,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": postgresql_version(),
    }


def postgresql_version() -> str:
    try:
        from bench.database import connect

        with connect() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return cursor.fetchone()[0].split()[0]
    except Exception:  # no server: the figures say so by themselves
        return "unavailable"


def load_store() -> dict:
    if STORE.exists():
        return json.loads(STORE.read_text())
    return {"modules": {}}


def fmt(value, unit: str | None = "") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        text = f"{value:,.2f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit else text


def duration(seconds: float) -> str:
    """E.g. "45 s", "4 min 10 s"."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def whole_run_line(store: dict) -> str:
    """The wall time of the last run of every module, and which modules were re-run alone since."""
    target = f"target < {WHOLE_RUN_TARGET_MIN} min"
    whole = store.get("whole_run")
    if not whole:
        return f"Whole `make bench` run: not measured yet ({target}): run `make bench` with no module names."
    met = {True: " ✅", False: " ❌"}[whole["seconds"] < WHOLE_RUN_TARGET_MIN * 60]
    parts = ", ".join(f"`{name}` {duration(seconds)}" for name, seconds in whole["modules"].items())
    line = f"Whole `make bench` run: {duration(whole['seconds'])} ({target}){met}, on {whole['date']} ({parts})"
    if whole.get("failed"):
        line += f"; did not complete: {', '.join(whole['failed'])}"
    since = sorted(name for name, entry in store["modules"].items() if entry.get("run") != whole["run"])
    if since:
        line += f". Re-run alone since then: {', '.join(f'`{name}`' for name in since)} (dates above)"
    return line + "."


def render(store: dict, footer: str = "") -> str:
    lines = [
        "| Benchmark | Result | Baseline | Ratio | Target | Met |",
        "|---|---:|---|---:|---|:---:|",
    ]
    for _, entry in sorted(store["modules"].items()):
        for r in entry["results"]:
            baseline = ""
            if r.get("baseline_name"):
                baseline = f"{r['baseline_name']}: {fmt(r.get('baseline_value'), r.get('unit'))}".rstrip(": ")
            ratio = f"{r['ratio']:.2f}×" if isinstance(r.get("ratio"), int | float) else ""
            met = {True: "✅", False: "❌"}.get(r.get("met"), "")
            cells = [r["name"], fmt(r.get("value"), r.get("unit")), baseline, ratio, r.get("target") or "", met]
            lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |")
    lines.append("")
    for name, entry in sorted(store["modules"].items()):
        m = entry["machine"]
        took = f" (took {duration(entry['seconds'])})" if "seconds" in entry else ""
        lines.append(
            f"- `{name}`: {entry['date']}{took} — {m['cores']} cores, {m['memory_gb']} GB RAM"
            f"{', ' + m['cpu'] if m.get('cpu') else ''}; {m['system']}; Python {m['python']}; "
            f"PostgreSQL {m['postgresql']}"
        )
    if footer:
        lines += ["", footer]
    return "\n".join(lines)


def write_doc(store: dict) -> None:
    text = DOC.read_text() if DOC.exists() else DOC_TEMPLATE
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n## Latest results\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(f"{before}{START}\n{render(store, whole_run_line(store))}\n{END}{after}")


def main() -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="Run the benchmarks and update docs/BENCHMARKS.md.")
    parser.add_argument("modules", nargs="*", help="bench modules to run (default: all)")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    args = parser.parse_args()
    available = discover()
    unknown = sorted(set(args.modules) - set(available))
    if unknown:
        parser.error(f"unknown bench module(s) {', '.join(unknown)}; available: {', '.join(available)}")
    selected = args.modules or available
    whole = set(selected) == set(available)  # every module in one go, as `make bench` does
    print(f"bench: running {', '.join(selected)}", flush=True)

    about = machine()
    now = dt.datetime.now(dt.UTC)
    date, run_id = now.strftime("%Y-%m-%d %H:%M UTC"), now.isoformat(timespec="seconds")
    store = load_store()
    this_run = {"modules": {}}
    for number, name in enumerate(selected, 1):
        so_far = duration(time.perf_counter() - started)
        print(f"\n== bench {name} ({number} of {len(selected)}, {so_far} so far)", flush=True)
        module_started = time.perf_counter()
        results = run_module(name)
        seconds = time.perf_counter() - module_started
        print(f"-- {name} done in {duration(seconds)}", flush=True)
        entry = {"date": date, "run": run_id, "seconds": round(seconds, 1), "machine": about, "results": results}
        store["modules"][name] = this_run["modules"][name] = entry

    total = time.perf_counter() - started
    failed = [
        name
        for name, entry in this_run["modules"].items()
        if any("did not complete" in r["name"] for r in entry["results"])
    ]
    if whole:
        store["whole_run"] = {
            "date": date,
            "run": run_id,
            "seconds": round(total, 1),
            "modules": {name: entry["seconds"] for name, entry in this_run["modules"].items()},
            "failed": failed,
        }
        footer = whole_run_line(store)
    else:
        footer = f"This run ({', '.join(selected)} only): {duration(total)}. {whole_run_line(store)}"
    print("\n" + render(this_run, footer), flush=True)
    if not args.no_docs:
        STORE.parent.mkdir(parents=True, exist_ok=True)
        STORE.write_text(json.dumps(store, indent=2, ensure_ascii=False) + "\n")
        write_doc(store)
        print(f"\nbench: updated {DOC.relative_to(ROOT)}", flush=True)
    results = [r for entry in this_run["modules"].values() for r in entry["results"]]
    missed = [r["name"] for r in results if r.get("met") is False]
    if whole and total >= WHOLE_RUN_TARGET_MIN * 60:
        missed.append(f"whole `make bench` run: {duration(total)} (target < {WHOLE_RUN_TARGET_MIN} min)")
    print(f"bench: {'whole run' if whole else 'this run'} took {duration(total)}", flush=True)
    if missed:
        print("bench: targets missed or runs failed:\n  " + "\n  ".join(missed), flush=True)
    unpaired = [r["name"] for r in results if not has_baseline(r) and "did not complete" not in r["name"]]
    if unpaired:
        print("bench: figures without a baseline and ratio:\n  " + "\n  ".join(unpaired), flush=True)
    return 1 if any("did not complete" in name for name in missed) else 0


if __name__ == "__main__":
    sys.exit(main())
