"""Real BERT offline: fetch models into the local Hugging Face cache, and list the BERT-family models there.

A laptop prepared where there is a network (`python -m explain prefetch bert-base-uncased ...`) then
runs real BERT in a classroom without one: loading a cached hub id reads only the cache
(`explain.models.checkpoint.load_checkpoint` tries `local_files_only=True` first). The cache is the
one huggingface_hub uses: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from explain.errors import ModelLoadError
from explain.i18n import _
from explain.models.arch import SUPPORTED_MODEL_TYPES

# What prefetch stores: weights as safetensors, the config and the tokenizer files; never pickles.
PREFETCH_PATTERNS = (
    "*.safetensors",
    "*.safetensors.index.json",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
)


@dataclass(frozen=True)
class CachedModel:
    """A BERT-family model found in the local Hugging Face cache, loadable offline by its hub id.

    repo_id: "bert-base-uncased" or "google-bert/bert-base-chinese"; model_type: config.json's
    ("bert", "roberta", ...); revision: the commit the cache's `main` ref points at; snapshot: that
    revision's folder; size_bytes: the repo's size on disk.
    """

    repo_id: str
    model_type: str
    architectures: tuple[str, ...]
    revision: str
    snapshot: str
    size_bytes: int


def cached_models(cache_dir: str | Path | None = None) -> tuple[CachedModel, ...]:
    """Every BERT-family model (SUPPORTED_MODEL_TYPES) in the local Hugging Face cache, sorted by id.

    Uses huggingface_hub's `scan_cache_dir`; reads each repo's cached config.json at its `main`
    revision. Skipped: datasets and spaces, repos without a `main` ref (a hub id would not resolve
    offline), without config.json, of another family (GPT-2, T5, ...), or without safetensors weights
    (BERT Lens never loads pickles). A missing or unreadable cache gives ().
    """
    from huggingface_hub import constants, scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:  # the cache folder is read now, not when huggingface_hub was imported
        info = scan_cache_dir(cache_dir or constants.HF_HUB_CACHE)
    except (CacheNotFound, OSError, ValueError):
        return ()
    found = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        revision = next((r for r in repo.revisions if "main" in r.refs), None)
        if revision is None:
            continue
        names = {f.file_name for f in revision.files}
        if "config.json" not in names or not any(n.endswith(".safetensors") for n in names):
            continue
        try:
            config = json.loads((Path(revision.snapshot_path) / "config.json").read_text())
        except (OSError, ValueError):
            continue
        model_type = config.get("model_type") if isinstance(config, dict) else None
        if model_type not in SUPPORTED_MODEL_TYPES:
            continue
        found.append(
            CachedModel(
                repo_id=repo.repo_id,
                model_type=str(model_type),
                architectures=tuple(config.get("architectures") or ()),
                revision=revision.commit_hash,
                snapshot=str(revision.snapshot_path),
                size_bytes=int(repo.size_on_disk),
            )
        )
    return tuple(sorted(found, key=lambda m: m.repo_id.lower()))


def cached_model_ids(cache_dir: str | Path | None = None) -> list[str]:
    """The hub ids of `cached_models()`, for a model chooser."""
    return [m.repo_id for m in cached_models(cache_dir)]


def offline_message() -> str:
    """The one line `prefetch` prints when it has no network."""
    return _(
        "prefetch needs a network to download models, and the Hugging Face hub cannot be reached here "
        "(no network, or HF_HUB_OFFLINE=1). Run it again where there is a network, or copy the "
        "Hugging Face cache folder ({cache}) of a machine that ran it."
    ).format(cache=_cache_folder())


def _cache_folder() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def prefetch(repo_id: str, cache_dir: str | Path | None = None) -> CachedModel:
    """Download a model's safetensors weights, config and tokenizer files into the Hugging Face cache.

    Raises ModelLoadError when the hub cannot be reached (with what to do instead), when the id is
    unknown, when the model has no safetensors weights, or when it is not a BERT-family encoder.
    """
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    from explain.models.checkpoint import _hub_unreachable

    if _hub_unreachable():
        raise ModelLoadError(offline_message())
    try:
        config = json.loads(Path(hf_hub_download(repo_id, "config.json", cache_dir=cache_dir)).read_text())
        if config.get("model_type") not in SUPPORTED_MODEL_TYPES:
            raise ModelLoadError(
                _("'{id}' is a '{type}' model, not a BERT-family encoder ({families}): nothing was downloaded.").format(
                    id=repo_id, type=config.get("model_type"), families=", ".join(SUPPORTED_MODEL_TYPES)
                )
            )
        folder = Path(snapshot_download(repo_id, cache_dir=cache_dir, allow_patterns=list(PREFETCH_PATTERNS)))
    except ModelLoadError:
        raise
    except GatedRepoError:
        raise ModelLoadError(
            _("'{id}' is gated on the hub: log in (`hf auth login`) and accept its terms on its page first.").format(
                id=repo_id
            )
        ) from None
    except RepositoryNotFoundError:
        raise ModelLoadError(_("'{id}' is not a model on the Hugging Face hub: check the id.").format(id=repo_id)) from None
    except LocalEntryNotFoundError:
        raise ModelLoadError(offline_message()) from None
    except EntryNotFoundError:
        raise ModelLoadError(_("'{id}' has no config.json: it is not a transformers model.").format(id=repo_id)) from None
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise ModelLoadError(
            _("Downloading '{id}' failed ({error}); try again.").format(id=repo_id, error=str(err).splitlines()[0][:200])
        ) from None
    if not any(folder.glob("*.safetensors")):
        raise ModelLoadError(
            _("'{id}' has no safetensors weights, and BERT Lens never loads pickle files.").format(id=repo_id)
        )
    for model in cached_models(cache_dir):
        if model.repo_id == repo_id:
            return model
    raise ModelLoadError(_("'{id}' was downloaded but cannot be found in the cache.").format(id=repo_id))
