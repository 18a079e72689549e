"""The benchmark's results as a chart and as tables in a README.

    .venv/bin/python benchmarks/report.py [--results FILE] [--chart FILE] [--readme FILE]

Reads the JSON of benchmarks/pyodide_bench.mjs (and the `local` section scripts/bench may
add), draws per route ours vs FastAPI vs the floor (p50 bars, p99 marks) and rewrites the
part of the README between the two marker comments; the hand-written text above stays.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI or this machine
import matplotlib.pyplot as plt  # after matplotlib.use: the backend is chosen first

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
from gateway.prices import READ_ON, USD_PER_MILLION  # noqa: E402 - the one price file, from the workers' source

BEGIN = "<!-- results:begin (written by benchmarks/report.py) -->"
END = "<!-- results:end -->"
SERIES = (("ours", "ours", "#1f77b4"), ("fastapi", "FastAPI", "#ff7f0e"), ("floor", "floor", "#7f7f7f"))


def total_of(route: dict[str, Any], series: str) -> dict[str, float]:
    """p50/p99 of the CPU summed over the workers a request runs in (the floor is one worker)."""
    stats: dict[str, float] = route["floor"] if series == "floor" else route[series]["total"]
    return stats


def draw_chart(results: dict[str, Any], path: Path) -> None:
    routes = results["routes"]
    width = 0.27
    fig, ax = plt.subplots(figsize=(11, 5.5))
    for offset, (key, name, color) in enumerate(SERIES):
        xs = [i + (offset - 1) * width for i in range(len(routes))]
        stats = [total_of(route, key) for route in routes.values()]
        ax.bar(xs, [s["p50_ms"] for s in stats], width, label=f"{name} p50", color=color)
        ax.scatter(xs, [s["p99_ms"] for s in stats], marker="_", s=300, color="black", zorder=3)
    ax.scatter([], [], marker="_", s=300, color="black", label="p99")
    ax.set_xticks(range(len(routes)), [route["label"] for route in routes.values()], rotation=20, ha="right")
    ax.set_ylabel("Python CPU per request, ms (all workers of the request)")
    meta = results["meta"]
    ax.set_title(f"Pyodide {meta['pyodide']} (Python {meta['python']}) in Node {meta['node']}: {meta['cpu_model']}")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ms(stats: dict[str, float]) -> str:
    return f"{stats['p50_ms']:.2f} / {stats['p99_ms']:.2f}"


def _ratio(ratio: dict[str, float]) -> str:
    return f"{ratio['p50']:.2f} / {ratio['p99']:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def route_table(results: dict[str, Any]) -> list[str]:
    header = ["route", "ours: gateway", "ours: services", "ours", "FastAPI", "floor", "ours/FastAPI", "ours/floor"]
    rows = [
        [
            route["label"],
            _ms(route["ours"]["gateway"]),
            _ms(route["ours"]["service"]),
            _ms(route["ours"]["total"]),
            _ms(route["fastapi"]["total"]),
            _ms(route["floor"]),
            _ratio(route["ratio_to_fastapi"]),
            _ratio(route["ratio_to_floor"]),
        ]
        for route in results["routes"].values()
    ]
    return _table(header, rows)


def overhead_table(results: dict[str, Any]) -> list[str]:
    """Telemetry's cost per worker (per round, p50 with it minus p50 with TELEMETRY=off; the median
    over rounds), and the ratios to FastAPI both ways."""
    header = ["route", "telemetry overhead per worker, p50 ms", "ours/FastAPI (telemetry on)", "ours/FastAPI (off)"]
    rows = []
    for route in results["routes"].values():
        if "telemetry_overhead_p50_ms" not in route:
            continue
        overhead = ", ".join(f"{role} {ms:+.2f}" for role, ms in route["telemetry_overhead_p50_ms"].items())
        rows.append(
            [route["label"], overhead, _ratio(route["ratio_to_fastapi"]), _ratio(route["ratio_off_to_fastapi"])]
        )
    return _table(header, rows)


def usd_per_million(side: dict[str, Any], data_points: bool) -> float:
    """A million requests of one route: the gateway's request, each worker's CPU at p50, every
    billable unit its binding calls spent (means per request), and one data point per worker."""
    total = USD_PER_MILLION["requests"]
    for role, stats in side["workers"].items():
        total += USD_PER_MILLION["cpu_ms"] * stats["p50_ms"]
        total += USD_PER_MILLION["data_points"] if data_points else 0.0
        for unit, amount in side["units"].get(role, {}).items():
            total += USD_PER_MILLION.get(unit, 0.0) * amount
    return total


def _units(side: dict[str, Any]) -> str:
    summed: dict[str, float] = {}
    for counts in side["units"].values():
        for unit, amount in counts.items():
            summed[unit] = summed.get(unit, 0.0) + amount
    return ", ".join(f"{unit} {amount:g}" for unit, amount in sorted(summed.items()) if amount) or "none"


def cost_table(results: dict[str, Any]) -> list[str]:
    header = ["route", "billable units per request (ours)", "ours USD/M", "FastAPI USD/M", "FastAPI's units"]
    rows = []
    for route in results["routes"].values():
        if "units" not in route["ours"]:
            continue
        ours, fastapi = route["ours"], route["fastapi"]
        rows.append(
            [
                route["label"],
                _units(ours),
                f"{usd_per_million(ours, data_points=True):.3f}",
                f"{usd_per_million(fastapi, data_points=False):.3f}",
                "same" if _units(ours) == _units(fastapi) else _units(fastapi),
            ]
        )
    return _table(header, rows)


def scaling_table(results: dict[str, Any]) -> list[str]:
    sizes = list(results.get("scaling_d1_rows_per_request", {}))
    if not sizes:
        return []
    first = results["scaling_d1_rows_per_request"][sizes[0]]
    header = ["route", *(f"rows read / written with {int(size):,} orders" for size in sizes)]
    rows = [
        [
            first[key]["label"],
            *(
                f"{results['scaling_d1_rows_per_request'][size][key].get('d1_rows_read', 0):g} / "
                f"{results['scaling_d1_rows_per_request'][size][key].get('d1_rows_written', 0):g}"
                for size in sizes
            ),
        ]
        for key in first
    ]
    return _table(header, rows)


def cold_start_table(results: dict[str, Any]) -> list[str]:
    parts = ("pydantic", "workers", "fastapi", "ours")
    header = ["worker", "imports total", *parts, "heap after start"]
    rows = []
    for worker, cold in results["cold_start"].items():
        imports = cold["imports_ms"]
        cells = [f"{imports[p]:.0f}" if p in imports else "-" for p in parts]
        rows.append([worker, f"{cold['total_ms']:.0f}", *cells, f"{cold['heap_after_start_mb']:.1f} MiB"])
    return _table(header, rows)


def memory_table(results: dict[str, Any]) -> list[str]:
    half, full = results["meta"]["memory_requests"]["half"], results["meta"]["memory_requests"]["full"]
    header = ["worker", "heap after start", f"after {half}", f"after {full}", "growth", "objects: start", half, full]
    rows = [
        [
            worker,
            f"{m['after_start_mb']:.1f} MiB",
            f"{m['after_5000_mb']:.1f} MiB",
            f"{m['after_10000_mb']:.1f} MiB",
            f"{m['growth_last_5000_mb']:+.1f} MiB",
            str(m["blocks_after_start"]),
            str(m["blocks_after_5000"]),
            str(m["blocks_after_10000"]),
        ]
        for worker, m in results["memory"].items()
    ]
    return _table([str(h) for h in header], rows)


def local_table(local: dict[str, Any]) -> list[str]:
    """Any `local` section: `{"label": ..., "rows": [{"name": ..., <column>: value, ...}]}`, columns as they come."""
    rows: list[dict[str, Any]] = local.get("rows", [])
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(column, "")) for column in columns] for row in rows]
    return [f"### {local.get('label', 'Local runtime')}", "", *_table(columns, cells)]


def _cell(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def results_section(results: dict[str, Any]) -> str:
    meta = results["meta"]
    pbkdf2 = results["webcrypto_pbkdf2_ms"]
    load = meta.get("load_average_1m", {})
    lines = [
        f"Pyodide {meta['pyodide']} (Python {meta['python']}), Node {meta['node']}, {meta['cpu_model']} "
        f"({meta.get('cpus', '?')} cores, load average {load.get('start', '?')} at the start, {load.get('end', '?')} "
        f"at the end); {meta['requests_per_route']} measured requests per route and framework, interleaved "
        "request by request in a rotating order. Ratios and telemetry's overhead are medians over rounds of "
        f"{meta.get('requests_per_round', '?')} requests, each round comparing its own p50s (p99 ratios: "
        "of the pooled p99s); the p50 / p99 columns pool every request.",
        "",
        "### Python CPU per request, ms (p50 / p99)",
        "",
        *route_table(results),
        "",
        f"Login's PBKDF2 (100,000 iterations on WebCrypto), left out above: {_ms(pbkdf2)} ms (p50 / p99). "
        "On Cloudflare WebCrypto runs on the isolate's thread, so it counts as the worker's CPU there.",
        "",
        "### Telemetry's overhead (target: at most 0.3 ms at p50 per worker; ours/FastAPI at most 0.5)",
        "",
        *overhead_table(results),
        "",
        f"### Cost per million requests, USD, from the measured units (prices of {READ_ON}, src/gateway/prices.py)",
        "",
        *cost_table(results),
        "",
        "### D1 rows per request as the orders table grows (target: flat)",
        "",
        *scaling_table(results),
        "",
        "### Cold start: importing the entry module in a fresh interpreter, ms",
        "",
        *cold_start_table(results),
        "",
        "### WebAssembly heap (high-water mark) and live Python objects",
        "",
        *memory_table(results),
    ]
    if "local" in results:
        lines += ["", *local_table(results["local"])]
    return "\n".join(lines)


def write_readme(path: Path, section: str) -> None:
    """Replace what is between the markers (or append them with the section)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + block + rest.split(END, 1)[1]
    else:
        text = f"{text.rstrip()}\n\n{block}\n" if text else f"{block}\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--chart", type=Path, default=HERE / "chart.png")
    parser.add_argument("--readme", type=Path, default=HERE / "README.md")
    args = parser.parse_args()
    results = json.loads(args.results.read_text(encoding="utf-8"))
    draw_chart(results, args.chart)
    write_readme(args.readme, results_section(results))


if __name__ == "__main__":
    main()
