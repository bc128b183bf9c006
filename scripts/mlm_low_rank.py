"""Would low-rank deltas ship as well as full fp16 layers? Measure it on a shipped MLM head folder.

For every adapted weight matrix, delta = W_adapted - W_original (all-MiniLM-L6-v2's); its best rank-r
approximation (truncated SVD) is added back, and the model is scored on the same held-out masked tokens
as the card (test articles and held-out file). Prints one JSON line per rank with the bytes the
low-rank factors (fp16) + the 1-D parameters would take, next to the full fp16 file.

    nice -n 10 python scripts/mlm_low_rank.py --head assets/heads/minilm-mlm --ranks 16,64,128
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import mlm_corpus
from train_mlm_encoder import reference_eval_sets
from train_mlm_head import evaluate, full_logits

from explain.models.heads import default_encoder_dir, load_head


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--head", type=Path, default=ROOT / "assets" / "heads" / "minilm-mlm")
    p.add_argument("--ranks", default="16,64,128")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--file-only", action="store_true", help="score the held-out file only (1,252 masks; fast)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    from safetensors.torch import load_file
    from transformers import AutoTokenizer, BertForMaskedLM

    base = default_encoder_dir()
    tok = AutoTokenizer.from_pretrained(base, local_files_only=True)
    ref = reference_eval_sets(mlm_corpus.load_corpus(0), tok)
    original = BertForMaskedLM.from_pretrained(base, local_files_only=True, attn_implementation="eager").state_dict()
    shipped = load_file(str(args.head / json.loads((args.head / "card.json").read_text())["weights"]))
    model = load_head(args.head).model
    full_bytes = (args.head / "head.safetensors").stat().st_size

    def score(label: str, nbytes: int) -> None:
        row = {"weights": label, "bytes": nbytes,
               "heldout_file": evaluate(lambda b: full_logits(model, b), ref["file"])}
        if not args.file_only:
            row["test"] = evaluate(lambda b: full_logits(model, b), ref["test"])
        print(json.dumps(row), flush=True)

    score("full fp16 layers", full_bytes)
    matrices = {k: v for k, v in shipped.items() if v.ndim == 2 and k.startswith("bert.encoder.layer.")}
    rest = sum(v.numel() * v.element_size() for k, v in shipped.items() if k not in matrices)
    state = model.state_dict()
    for r in [int(x) for x in args.ranks.split(",")]:
        nbytes = rest
        with torch.no_grad():
            for k, w in matrices.items():
                delta = w.float() - original[k]
                u, s, vh = torch.linalg.svd(delta, full_matrices=False)
                state[k].copy_(original[k] + (u[:, :r] * s[:r]) @ vh[:r])
                nbytes += 2 * r * (w.shape[0] + w.shape[1])
        score(f"rank-{r} deltas", nbytes)


if __name__ == "__main__":
    main()
