"""Many sessions at once: one shared model per spec, results equal to serial runs, no hooks left, memory flat.

Eight `AppTest` sessions run in threads, as a Streamlit server runs sessions: one process, one
`st.cache_resource` cache, so one ModelBundle per model spec is shared by every session.

AppTest itself is a single-session harness: every `run()` installs its own mock `Runtime` singleton
and resets it to None when it ends (and patches `config.get_option` the same way), and compiles the
page scripts afresh into a new `ScriptCache`. Concurrent runs would pull the runtime from under each
other, and concurrent `ast.parse` calls trip a CPython 3.11 bug ("AST constructor recursion depth
mismatch", python/cpython#106905). During the concurrent phase this test therefore gives all
sessions one runtime and one script cache, as a real server has, and lets one `ast.parse` run at a
time (`one_runtime`). Nothing about the
models or the app is replaced.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import ctypes.util
import gc
import json
import logging
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest.mock import MagicMock

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from bert_lens import common
from explain import run_model
from explain.attention.head_stats import head_stats
from explain.attention.viewer import attention_viewer_html
from explain.attribution.methods import attribute, head_importance
from explain.mlm import fill_mask, pseudo_log_likelihood
from explain.models.catalog import DEFAULT_MODEL, SPLADE_MODEL, builtin_models_for
from tests.helpers import MAIN, decode_plotly

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

ROOT = Path(__file__).resolve().parents[1]
SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
MLM_MODEL = builtin_models_for("masked-lm")[0]
# the MLM model too: choosing the sentiment head while on the Masked page shows it there (app/fallback.py)
SPECS = (DEFAULT_MODEL, SPLADE_MODEL, SENTIMENT, MLM_MODEL)
SESSIONS = 8
HELDOUT = [json.loads(line)["text"] for line in (ROOT / "assets/heads/minilm-sentiment/heldout.jsonl").read_text().splitlines()]


def session_texts() -> list[str]:
    """Eight different real review sentences of 8-30 words (so every session computes its own results)."""
    texts = [t for t in HELDOUT if 8 <= len(t.split()) <= 30]
    return texts[:SESSIONS]


# ---- what a session sees --------------------------------------------------------------------------


def figures(at: AppTest) -> list[dict]:
    """Each plotly chart's title and trace data (x, y, z, customdata), arrays decoded."""
    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = (spec.get("layout", {}).get("title") or {}).get("text")
        traces = [{k: decode_plotly(t[k]) for k in ("x", "y", "z", "customdata") if k in t} for t in spec["data"]]
        out.append({"title": title, "traces": traces})
    return out


def page_output(at: AppTest) -> dict:
    assert not at.exception, at.exception
    return {
        "figures": figures(at),
        "metrics": [(m.label, m.value) for m in at.metric],
        "messages": [m.value for m in (*at.success, *at.info, *at.error)],
        "iframes": [f.proto.srcdoc for f in at.get("iframe")],
    }


def one_session(text: str, start: threading.Barrier | None = None) -> dict[str, dict]:
    """Attention (one head, all heads, the math), MLM (fill a masked token, PLL), attribution (IG, inside)."""
    at = AppTest.from_file(MAIN, default_timeout=600)
    at.query_params["text"] = text
    at.run()
    if start is not None:
        start.wait()
    out = {}
    at.switch_page("views/attention.py").run()
    out["attention: one head"] = page_output(at)
    for view in ("All heads", "The math"):
        at.session_state["attn.view"] = view
        at.run()
        out[f"attention: {view}"] = page_output(at)

    at.sidebar.selectbox(key="model.choice").select(SPLADE_MODEL).run()
    at.switch_page("views/masked.py").run()
    at.multiselect(key="mlm.mask").select(2).run()
    out["masked: fill"] = page_output(at)
    at.session_state["mlm.view"] = "surprisal"  # each view runs only when open
    at.run()
    out["masked: PLL"] = page_output(at)

    at.sidebar.selectbox(key="model.choice").select(SENTIMENT).run()
    at.switch_page("views/attributions.py").run()
    out["attributions: IG"] = page_output(at)
    at.session_state["attr.view"] = "Inside the model"
    at.run()
    out["attributions: inside the model"] = page_output(at)
    return out


# ---- comparing results and model state -----------------------------------------------------------


def assert_same(a, b, where: str) -> None:
    """Equal structure and strings; numbers equal to float32 precision."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)) and not (a and isinstance(a[0], (int, float)) and not isinstance(a[0], bool)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, (np.ndarray, list, tuple, float)) and not isinstance(a, str):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                                   rtol=1e-5, atol=1e-5, err_msg=where)
    else:
        assert a == b, where


def model_state(model: torch.nn.Module) -> dict:
    """Every module's hooks and mode, every parameter's grad flag and sum, and torch's global hooks."""
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
             "_forward_hooks_with_kwargs", "_state_dict_hooks")
    state = {
        name: (module.training, *(tuple(getattr(module, h, {})) for h in hooks))
        for name, module in model.named_modules()
    }
    with torch.no_grad():
        state["params"] = {n: (p.requires_grad, float(p.double().sum())) for n, p in model.named_parameters()}
    glob = torch.nn.modules.module
    state["global"] = tuple(len(getattr(glob, g)) for g in dir(glob) if g.startswith("_global_") and g.endswith("hooks"))
    return state


def warm_up(bundles: dict) -> None:
    """One call down each code path, uncached: transformers installs its own output-capture hooks on a
    model's first forward pass with `output_attentions` (permanent and inactive outside that call, see
    transformers/utils/output_capturing.py), so the before/after comparison starts after them."""
    text = "A warm-up sentence."
    for bundle in bundles.values():
        run_model(bundle, text)
    attribute(bundles[SENTIMENT], text, method="ig")
    pseudo_log_likelihood(bundles[SPLADE_MODEL], text)


def clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    common.clear_caches()  # the app's own model and run caches (bounded by bytes, explain.cache)


@contextlib.contextmanager
def one_runtime(monkeypatch):
    """One mock Runtime for every concurrent AppTest (as one server has one), and AppTest's per-run swap disabled."""
    from streamlit import config
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime import Runtime
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner, util

    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.dataframe_source_mgr = DataframeSourceManager()
    runtime.cache_storage_manager = MemoryCacheStorageManager()
    components = BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    runtime.bidi_component_registry = components

    class Unshared:  # what AppTest assigns its per-run runtime to, instead of the real singleton
        _instance = None

    scripts = ScriptCache()  # one compiled copy of each page, compiled under its lock, as in a server
    monkeypatch.setattr(app_test, "ScriptCache", lambda: scripts)
    monkeypatch.setattr(local_script_runner, "ScriptCache", lambda: scripts)
    monkeypatch.setattr(app_test, "Runtime", Unshared)
    monkeypatch.setattr(app_test, "patch_config_options", lambda overrides: contextlib.nullcontext())
    monkeypatch.setattr(config, "get_option", util.build_mock_config_get_option({"global.appTest": True}))
    monkeypatch.setattr(Runtime, "_instance", runtime)
    parse, parsing = ast.parse, threading.Lock()  # python/cpython#106905: one ast.parse at a time in 3.11

    def parse_one_at_a_time(*args, **kwargs):
        with parsing:
            return parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", parse_one_at_a_time)
    yield


def _counting_loads(monkeypatch) -> list[str]:
    """Record every model load that goes through the app's cached loader (the real loader still runs)."""
    loads: list[str] = []
    real = common.load_model

    def load(spec):
        loads.append(spec)
        return real(spec)

    monkeypatch.setattr(common, "load_model", load)
    return loads


# ---- tests ----------------------------------------------------------------------------------------


@pytest.fixture
def quiet_threads():
    """AppTest's calls from worker threads log 'missing ScriptRunContext' (harmless); keep the output readable."""
    log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    drop = logging.Filter("never")  # a filter named after no logger drops every record (levels get reset by Streamlit)
    log.addFilter(drop)
    yield
    log.removeFilter(drop)


@pytest.mark.slow
def test_eight_concurrent_sessions_share_models_match_serial_and_leave_no_hooks(monkeypatch, quiet_threads):
    texts = session_texts()
    clear_caches()
    started = time.perf_counter()
    serial = [one_session(t) for t in texts]
    serial_s = time.perf_counter() - started

    clear_caches()
    loads = _counting_loads(monkeypatch)
    bundles = {spec: common.get_bundle(spec) for spec in SPECS}  # loaded once, before the sessions
    assert loads == list(SPECS)
    warm_up(bundles)
    before = {spec: model_state(b.model) for spec, b in bundles.items()}
    with one_runtime(monkeypatch), ThreadPoolExecutor(SESSIONS) as pool:
        barrier = threading.Barrier(SESSIONS, timeout=180)
        started = time.perf_counter()
        concurrent = list(pool.map(lambda t: one_session(t, barrier), texts))
        concurrent_s = time.perf_counter() - started
    print(f"\n{SESSIONS} sessions: serial {serial_s:.1f} s, concurrent {concurrent_s:.1f} s "
          f"(torch threads {torch.get_num_threads()})")

    # one model per spec, shared: no session loaded its own, and the cache still holds the same objects
    assert loads == list(SPECS), f"sessions loaded models themselves: {loads[len(SPECS):]}"
    for spec, bundle in bundles.items():
        assert common.get_bundle(spec) is bundle
    # no hook, mode or weight changed on any shared model
    for spec, bundle in bundles.items():
        assert model_state(bundle.model) == before[spec], f"{spec}: hooks or state changed"
    # every session saw exactly what it sees alone; the comparison itself tells different texts apart
    for i, (alone, together) in enumerate(zip(serial, concurrent)):
        assert all(page["figures"] or page["iframes"] for page in alone.values()), f"session {i} drew nothing"
        assert_same(alone, together, f"session {i}")
    with pytest.raises(AssertionError):
        assert_same(serial[0], concurrent[1], "two different texts")
    assert all(s["attention: The math"]["messages"] and "✓" in s["attention: The math"]["messages"][0] for s in serial)


def _rss_mb() -> float:
    """Current resident set size in MB (from /proc; ru_maxrss below is the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _release_free_heap() -> None:
    """Hand freed heap pages back to the OS (glibc's malloc_trim), so RSS shows live memory only.

    glibc keeps memory freed by large transient allocations (an IG batch of ~1,600 token positions
    with gradients is ~300 MB) in its heap: untrimmed RSS rises to that high-water mark and stays,
    which is reuse, not a leak. Memory still referenced (a leak) cannot be trimmed.
    """
    libc = ctypes.util.find_library("c")
    if libc:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc).malloc_trim(0)


ROTATION = ("ig", "saliency", "input_x_gradient", "occlusion", "deeplift")
CHECKPOINTS = (50, 100, 150, 200)


@pytest.mark.slow
def test_memory_stays_flat_over_200_requests():
    """200 requests through the app's caches with different texts; live memory must not grow after warm-up.

    Each request: the cached forward pass (`get_run`, 64 entries, full after ~32 requests, then it
    evicts), head statistics, the all-heads page, fill-mask on SPLADE-tiny (cached masked run) and its
    PLL, and one attribution method in rotation (IG, saliency, input x gradient, occlusion, DeepLift
    on a private hooked copy); every 10th request also gates every head (hooks on a private copy).
    """
    texts = [t for t in HELDOUT if 3 <= len(t.split()) <= 40][:200]
    assert len(set(texts)) == 200
    classifier, mlm = common.get_bundle(SENTIMENT), common.get_bundle(SPLADE_MODEL)
    raw, live, peak = {}, {}, {}
    started = time.perf_counter()
    for i, text in enumerate(texts, start=1):
        run = common.get_run(DEFAULT_MODEL, text, None)
        head_stats(run)
        attention_viewer_html(run)
        words = text.split()
        words[len(words) // 2] = mlm.mask_token
        fill_mask(mlm, common.get_run(SPLADE_MODEL, " ".join(words), None))
        pseudo_log_likelihood(mlm, text)
        attribute(classifier, text, method=ROTATION[i % len(ROTATION)])
        if i % 10 == 0:
            head_importance(classifier, text)
        if i in CHECKPOINTS:
            gc.collect()
            raw[i], peak[i] = _rss_mb(), _peak_mb()
            _release_free_heap()
            live[i] = _rss_mb()
    seconds = time.perf_counter() - started
    growth = live[200] - live[50]
    print(f"\n200 requests in {seconds:.0f} s. RSS at requests {'/'.join(map(str, CHECKPOINTS))}: "
          f"live {' / '.join(f'{live[k]:.0f}' for k in CHECKPOINTS)} MB, "
          f"before trimming the free heap {' / '.join(f'{raw[k]:.0f}' for k in CHECKPOINTS)} MB; "
          f"peak RSS (ru_maxrss) {peak[200]:.0f} MB. Live growth 50->200: {growth:+.1f} MB; "
          f"peak growth {peak[200] - peak[50]:+.1f} MB")
    assert growth < 100, f"live memory grew {growth:.0f} MB between requests 50 and 200: {live}"
