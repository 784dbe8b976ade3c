"""`make bench` → `python -m bench [module …]`: run the benchmarks, print one table, update docs/BENCHMARKS.md.

A benchmark is a module `bench/<name>.py` with a `run()` that returns a list of result dicts:

    {"name": "split recompute: wall time", "value": 4.1, "unit": "s",
     "baseline_name": "floor: one INSERT … SELECT", "baseline_value": 3.6, "ratio": 1.14,
     "target": "≤ 1.5× floor", "met": True}

(`baseline_*`, `ratio`, `target` and `met` may be None/empty.) Helpers without `run`
(bench/database.py: the shared, seeded bench database) are not benchmarks.

Each module runs in a subprocess of its own — a fresh interpreter, Django and
database connection — with its progress streamed here. Results are kept per
module in docs/benchmarks.json, so running one module updates only its rows; the
generated part of docs/BENCHMARKS.md (between the markers) is re-rendered from
it as one table with the machine (cores, memory) and the date of each run. Text
outside the markers is left alone.
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
from pathlib import Path

import bench

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
STORE = ROOT / "docs" / "benchmarks.json"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
MARKER = "@@bench-results "
FIELDS = ("name", "value", "unit", "baseline_name", "baseline_value", "ratio", "target", "met")

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
    print(f"\n== bench {name}", flush=True)
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


def render(store: dict) -> str:
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
        lines.append(
            f"- `{name}`: {entry['date']} — {m['cores']} cores, {m['memory_gb']} GB RAM"
            f"{', ' + m['cpu'] if m.get('cpu') else ''}; {m['system']}; Python {m['python']}; "
            f"PostgreSQL {m['postgresql']}"
        )
    return "\n".join(lines)


def write_doc(store: dict) -> None:
    text = DOC.read_text() if DOC.exists() else DOC_TEMPLATE
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n## Latest results\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(f"{before}{START}\n{render(store)}\n{END}{after}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks and update docs/BENCHMARKS.md.")
    parser.add_argument("modules", nargs="*", help="bench modules to run (default: all)")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    args = parser.parse_args()
    available = discover()
    unknown = sorted(set(args.modules) - set(available))
    if unknown:
        parser.error(f"unknown bench module(s) {', '.join(unknown)}; available: {', '.join(available)}")
    selected = args.modules or available
    print(f"bench: running {', '.join(selected)}", flush=True)

    about = machine()
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    store = load_store()
    this_run = {"modules": {}}
    for name in selected:
        entry = {"date": date, "machine": about, "results": run_module(name)}
        store["modules"][name] = this_run["modules"][name] = entry

    print("\n" + render(this_run), flush=True)
    if not args.no_docs:
        STORE.parent.mkdir(parents=True, exist_ok=True)
        STORE.write_text(json.dumps(store, indent=2, ensure_ascii=False) + "\n")
        write_doc(store)
        print(f"\nbench: updated {DOC.relative_to(ROOT)}", flush=True)
    results = [r for entry in this_run["modules"].values() for r in entry["results"]]
    missed = [r["name"] for r in results if r.get("met") is False]
    if missed:
        print("bench: targets missed or runs failed:\n  " + "\n  ".join(missed), flush=True)
    return 1 if any("did not complete" in name for name in missed) else 0


if __name__ == "__main__":
    sys.exit(main())
