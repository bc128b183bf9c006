"""The benchmark's plain-text tables, its targets with PASS / FAIL, and the JSON it writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

from benchmarks.browser import CHROMIUM
from benchmarks.measure import Cell, Recorder
from benchmarks.subjects import Subject
from benchmarks.views import FLOW_IN_SUM_UP_TO, FLOW_MAX_SECONDS, PAGE_TARGET_MS, PAGE_TARGET_TOKENS, PAGES

TARGETS = (  # (row, model, tokens, limit in ms)
    ("all_views", "minilm", 64, 300.0),
    ("ig", "minilm", 32, 300.0),
)
VIEWER_TARGET_MS = 2000.0
COLD_START_TARGET_MS = 4000.0  # process start -> first chart visible in Chromium


ROWS = (  # (key, label); None key = section heading
    (None, "compute"),
    ("forward", "forward with attentions (run_model)"),
    ("head_map", "  head map (one head)"),
    ("head_stats", "  head statistics (7 per head)"),
    ("rollout", "  rollout"),
    ("head_math", "  one head's arithmetic"),
    ("embeddings", "  embeddings: parts, similarity, trajectories"),
    ("viewer", "  light viewer HTML build (all heads)"),
    ("flow", f"  attention flow (run if its estimate <= {FLOW_MAX_SECONDS:.0f} s)"),
    ("all_views", f"= all views after a text edit (flow up to {FLOW_IN_SUM_UP_TO} tok)"),
    ("figure", "one-head plotly figure + to_json (not in sum)"),
    ("fill_mask", "fill-mask (forward + MLM head, 1 mask)"),
    ("pll", "pseudo-log-likelihood (T-2 masked copies)"),
    ("ig", "Integrated Gradients, 50 steps"),
    ("kernel_shap", "KernelSHAP, 256 samples"),
    (None, "bytes sent to the browser"),
    ("viewer_bytes", "light viewer page (all heads)"),
    ("viewer_bpw", "  bytes per weight"),
    ("figure_bytes", "one-head plotly figure JSON"),
    ("bertviz_bytes", "bertviz model_view HTML, as bertviz returns it"),
    ("bertviz_bpw", "  bytes per weight"),
    ("offline_bertviz_bytes", "our offline bertviz model view (<= 100k weights)"),
    (None, "anchors, same run"),
    ("bertviz_build", "bertviz model_view build"),
    ("bertviz_build_ratio", "  / our light viewer build"),
    ("bertviz_bytes_ratio", "  / our light viewer bytes"),
    ("lig_word", "Captum LayerIG on word_embeddings (1 batch)"),
    ("lig_word_ratio", "  / our IG"),
    ("lig_emb", "Captum LayerIG on bert.embeddings (1 batch)"),
    ("lig_emb_ratio", "  / our IG"),
    ("ig_agree", "corr(our IG, Captum LayerIG word_embeddings)"),
)


def fmt(cell: Cell | None) -> str:
    if cell is None:
        return "."
    v = cell.value
    if cell.kind == "ms":
        text = (f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms" if v < 1000
                else f"{v / 1e3:.2f} s" if v < 60_000 else f"{v / 1e3:.0f} s")
    elif cell.kind == "bytes":
        text = f"{v / 1e3:.1f} kB" if v < 1e6 else f"{v / 1e6:.1f} MB"
    elif cell.kind == "ratio":
        text = f"{v:.1f}x" if v < 100 else f"{v:.0f}x"
    else:
        text = f"{v:.3f}"
    return ("~" + text if cell.estimated else text) + (" +" if cell.note and cell.kind == "bytes" else "")


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    """Plain-text table: first column left-aligned, the others right-aligned; a row of one cell is a heading."""
    width = [max(len(r[i]) for r in [header, *rows] if len(r) > i) for i in range(len(header))]
    def line(r: list[str]) -> str:
        if len(r) == 1:
            return r[0]
        return "  ".join([r[0].ljust(width[0])] + [c.rjust(w) for c, w in zip(r[1:], width[1:])])
    rule = "-" * (sum(width) + 2 * (len(width) - 1))
    return "\n".join([title, rule, line(header), rule, *(line(r) for r in rows), rule])


def model_table(rec: Recorder, s: Subject, lengths: list[int]) -> str:
    rows = []
    for key, label in ROWS:
        if key is None:
            rows.append([f"[{label}]"])
        elif any(rec.get(s.key, key, T) for T in lengths):
            rows.append([label] + [fmt(rec.get(s.key, key, T)) for T in lengths])
    foot = ["~ = estimated, not run (longer than --max-seconds; flow: the app's own estimate); . = not measured"]
    offline = rec.cells.get((s.key, "offline_bertviz_bytes"), {})
    if offline:
        foot.append("+ offline bertviz page shows: " + ", ".join(f"{T} tok {c.note}" for T, c in sorted(offline.items())))
    return table(s.title + "  (" + "; ".join(s.notes) + ")", ["tokens"] + [str(T) for T in lengths], rows) + "\n" + "\n".join(foot)


def pages_table(rec: Recorder, s: Subject, lengths: list[int]) -> str:
    rows = [[f"{page} ({view}; {s.specs[model]})"] + [fmt(rec.get("pages", page, T)) for T in lengths]
            for page, (view, model, _) in PAGES.items()]
    title = (f"Page rerun after a text edit (AppTest: the page script as the server reruns it, no browser); "
             f"target {PAGE_TARGET_MS:.0f} ms at {PAGE_TARGET_TOKENS} tokens")
    return table(title, ["page (view open; model)"] + [str(T) for T in lengths], rows)


def browser_table(b: dict) -> str:
    cold, v = b.get("cold_start", {}), b.get("viewer_12x12x256", {})
    starts = ", ".join(f"{x:.2f}" for x in cold.get("first_chart_runs_s", []))
    rows = [
        [f"[cold start of the app, Debian Chromium; target {COLD_START_TARGET_MS / 1e3:.0f} s to the first chart]"],
        ["process start -> /_stcore/health ok", f"{cold.get('health_s', float('nan')):.2f} s"],
        [f"process start -> first chart visible (/attention), median of {cold.get('runs', 0)}",
         f"{cold.get('first_chart_s', float('nan')):.2f} s"],
        ["  each start", f"{starts} s"],
        ["same server, new tab -> first chart visible", f"{cold.get('warm_first_chart_s', float('nan')):.2f} s"],
        ["[12 x 12 heads at 256 tokens (random bert-base run), light viewer]"],
        ["page size", f"{v.get('bytes', 0) / 1e6:.1f} MB"],
        ["in page: decode", f"{v.get('decode_ms', float('nan')):.0f} ms"],
        ["in page: 144 thumbnails", f"{v.get('thumbs_ms', float('nan')):.0f} ms"],
        ["in page: first draw (after decode)", f"{v.get('first_draw_ms', float('nan')):.0f} ms"],
        ["in page: total (script start -> drawn)", f"{v.get('total_ms', float('nan')):.0f} ms"],
        ["set_content -> ready (incl. Playwright transfer + HTML parse)", f"{v.get('set_content_to_ready_ms', float('nan')):.0f} ms"],
        ["redraw everything", f"{v.get('redraw_all_ms', float('nan')):.0f} ms"],
    ]
    return table("Browser", ["", "value"], rows)


def targets(rec: Recorder, b: dict) -> list[dict]:
    """Every target with its limit, the measured value and PASS / FAIL (n/a: not measured in this run;
    an estimated value, marked "~", is judged like a measured one)."""
    labels = {"all_views": "all views after a text edit", "ig": "Integrated Gradients, 50 steps"}
    out = []
    cold = b.get("cold_start")
    out.append({"target": "cold start: server process start -> first chart visible in Chromium",
                "limit_ms": COLD_START_TARGET_MS, "measured_ms": None if not cold else cold["first_chart_s"] * 1e3})
    for page, (view, _, _) in PAGES.items():
        cell = rec.get("pages", page, PAGE_TARGET_TOKENS)
        out.append({"target": f"{page} page rerun after a text edit ({view}), {PAGE_TARGET_TOKENS} tokens",
                    "limit_ms": PAGE_TARGET_MS, "measured_ms": None if cell is None else cell.value,
                    "estimated": bool(cell and cell.estimated)})
    for row, model, T, limit in TARGETS:
        cell = rec.get(model, row, T)
        out.append({"target": f"{labels[row]}, default model, {T} tokens", "limit_ms": limit,
                    "measured_ms": None if cell is None else cell.value, "estimated": bool(cell and cell.estimated)})
    v = b.get("viewer_12x12x256")
    out.append({"target": "12 x 12 heads at 256 tokens drawn in Chromium (page's own total)", "limit_ms": VIEWER_TARGET_MS,
                "measured_ms": None if not v else v["total_ms"]})
    for t in out:
        t.setdefault("estimated", False)
        t["result"] = "n/a" if t["measured_ms"] is None else "PASS" if t["measured_ms"] <= t["limit_ms"] else "FAIL"
    return out


def targets_table(ts: list[dict]) -> str:
    def ms(t: dict) -> str:
        if t["measured_ms"] is None:
            return "-"
        return fmt(Cell(t["measured_ms"], estimated=t["estimated"]))

    def limit(t: dict) -> str:
        if t.get("unit") == "text":
            return t["limit"]
        return f"{t['limit_ms']:g} rows/s" if t.get("unit") == "rows/s" else fmt(Cell(t["limit_ms"]))

    def measured(t: dict) -> str:
        if t.get("unit") == "text":
            return t["measured"]
        if t.get("unit") == "rows/s" and t["measured_ms"] is not None:
            return f"{t['measured_ms']:.0f} rows/s"
        return ms(t)

    rows = [[t["target"], limit(t), measured(t), t["result"]] for t in ts]
    return table("Targets", ["target", "limit", "measured", "result"], rows)


def data_targets(data: dict) -> list[dict]:
    """The data-set and comparison targets in the shape of `targets` (limits in ms; rows/s as its own unit)."""
    out = []
    for name, t in [item for part in ("dataset", "scale") for item in data.get(part, {}).get("targets", {}).items()]:
        rate = name.endswith("per_second")
        out.append({"target": name.replace("_", " "), "limit_ms": t["limit"] if rate else t["limit"] * 1e3,
                    "measured_ms": t["measured"] if rate else t["measured"] * 1e3, "estimated": bool(t.get("estimated")),
                    "unit": "rows/s" if rate else "ms", "result": "PASS" if t["pass"] else "FAIL"})
    for name, t in data.get("scale", {}).get("targets", {}).items():
        out.append({"target": f"scale: {name.replace('_', ' ')}", "limit_ms": t["limit"] * 1e3,
                    "measured_ms": t["measured"] * 1e3, "estimated": bool(t.get("estimated")), "unit": "ms",
                    "result": "PASS" if t["pass"] else "FAIL"})
    for t in data.get("compare", {}).get("targets", []):
        out.append({"target": f"compare: {t['target']}", "limit_ms": t["limit_ms"], "measured_ms": t["measured_ms"],
                    "estimated": False, "result": "PASS" if t["pass"] else "FAIL"})
    for r in data.get("probing", []):
        if "pass" in r:  # the neuron view's rerun (ms, limit in the row's target)
            out.append({"target": f"probing: {r['name']}", "limit_ms": float(r["target"].strip("< ms")),
                        "measured_ms": r["value"], "estimated": False, "result": "PASS" if r["pass"] else "FAIL"})
        elif r.get("ratio") is not None and r.get("unit") == "s":  # the probes vs scikit-learn: faster, same accuracy
            same = max(abs(a - b) for a, b in zip(r["accuracy"], r["anchor_accuracy"])) <= 0.005
            out.append({"target": f"probing: {r['name']} faster than scikit-learn, same accuracy",
                        "limit_ms": r["anchor"] * 1e3, "measured_ms": r["value"] * 1e3, "estimated": False,
                        "result": "PASS" if r["ratio"] > 1 and same else "FAIL"})
    return out


FEATURES = {"behaviour": "Behavioural tests"}  # probing: in data_table and data_targets


def _feature_passed(row: dict) -> bool | None:
    """benchmarks/behaviour.py says `passed`, benchmarks/probing.py `pass`; None: no target."""
    return row.get("passed", row.get("pass"))


def _feature_anchor(row: dict) -> str:
    a = row.get("anchor")
    if a is None:
        return ""
    if isinstance(a, dict):
        return f"{a['value']} {a['unit']} ({a['name']})"
    return f"{a} {row['unit']} ({row.get('anchor_name', '')})"


def feature_targets(data: dict) -> list[dict]:
    """Rows of benchmarks/behaviour.py that have a pass/fail target."""
    return [{"target": f"{part}: {r['name']}", "limit": str(r["target"]), "measured": f"{r['value']} {r['unit']}",
             "unit": "text", "estimated": False, "result": "PASS" if _feature_passed(r) else "FAIL"}
            for part in FEATURES for r in data.get(part, []) if _feature_passed(r) is not None]


def feature_table(data: dict) -> str:
    rows = []
    for part, title in FEATURES.items():
        if data.get(part):
            rows.append([title])
            rows += [[r["name"], f"{r['value']} {r['unit']}", _feature_anchor(r), str(r.get("ratio", ""))]
                     for r in data[part]]
    return table("Behavioural tests (anchors measured in the same run)",
                 ["", "value", "anchor", "ratio"], rows)


def data_table(data: dict) -> str:
    rows = []
    ds = data.get("dataset", {})
    if ds:
        ev, ig = ds["evaluation"], ds["aggregated_ig"]
        rows += [[f"{k}", json.dumps(v)] for k, v in ev.items()]
        rows += [[f"Ray Data, local actors: {k}", json.dumps(v)] for k, v in ds.get("ray", {}).items()]
        rows += [[f"aggregated IG: {k}", json.dumps(v)] for k, v in ig.items()]
        rows += [[f"heads: {k}", json.dumps(v)] for k, v in ds.get("heads", {}).items()]
    for part in ("aggregated_ig", "engines", "driver_memory"):
        for k, v in data.get("scale", {}).get(part, {}).items():
            rows.append([f"scale, {part.replace('_', ' ')}: {k}", json.dumps(v)])
    for part in ("aggregated_ig", "engines", "driver_memory"):
        rows += [[f"scale, {part}: {k}", json.dumps(v)] for k, v in data.get("scale", {}).get(part, {}).items()]
    for k, v in data.get("dataset_page", {}).items():
        if k.endswith("_rows") or k == "peak_growth_mb":
            rows.append([f"Data set page, server memory: {k}", json.dumps(v)])
    for name, cell in data.get("compare", {}).get("cells", {}).items():
        rows.append([f"compare: {name}", json.dumps(cell)])
    for r in data.get("probing", []):
        anchor = f"; {r['anchor_name']}: {r['anchor']} {r['unit']} (ratio {r['ratio']})" if r.get("anchor") else ""
        rows.append([f"probing: {r['name']}", f"{r['value']} {r['unit']}{anchor}"])
    return table("Data set, comparison (sentiment head, 300 held-out reviews) and probing (default encoder, shipped "
                 "sentences)", ["", "value"], rows)


def machine_info() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = {"python": platform.python_version()}
    for dist in ("torch", "transformers", "captum", "streamlit", "plotly", "bertviz", "numpy", "scipy", "playwright"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    try:
        versions["chromium"] = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                                              timeout=20, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        versions["chromium"] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "versions": versions,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def to_json(rec: Recorder, info: dict, browser: dict, ts: list[dict], args, seconds: float, loads: list) -> dict:
    rows = []
    for (model, row), cells in rec.cells.items():
        for T, c in sorted(cells.items()):
            rows.append({"model": model, "row": row, "tokens": T, "value": c.value, "unit": c.kind,
                         "estimated": c.estimated, "runs": c.runs, "note": c.note})
    return {"machine": info, "mode": "quick" if args.quick else "full", "args": vars(args),
            "load_average_1min": loads, "rows": rows, "browser": browser, "targets": ts,
            "total_seconds": seconds, "command": "python benchmarks/run.py " + " ".join(sys.argv[1:])}
