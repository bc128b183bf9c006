"""Can A and B be compared, and which comparisons does their shape allow?

A and B must read text the same way: the same vocabulary (every token with the same id), the same
special tokens, and the same splitting of a probe text (lower-casing, accents). Otherwise token i of
A is not token i of B and no per-token number means anything: `check_compatible` refuses with the
reason. Beyond that, what each comparison needs:

- per-head attention (maps, difference, Jensen-Shannon grid): equal layers L and heads H;
- per-token cosine of hidden states: equal layers and equal hidden size D;
- linear CKA: nothing more (it compares representations of different widths, and the full layer x
  layer matrix compares models of different depths);
- predictions: each model's own head; attribution rank correlation: both models have a classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from explain.errors import InputError
from explain.i18n import N_, _, deferred
from explain.models.checkpoint import ModelBundle

# Mixed case, accents, digits, punctuation and a special token: differences in normalisation show.
PROBE = "Hello World! Naïve CAFÉ, 2024 -- don't [MASK] über-straße?"
SPECIAL_ROLES = ("cls_token", "sep_token", "pad_token", "mask_token", "unk_token", "bos_token", "eos_token")


@dataclass(frozen=True)
class Compatibility:
    """What A and B share; which comparisons their shapes allow (see the module docstring).

    Attributes:
        layers, heads, widths: (A's, B's) number of layers, heads per layer, hidden size.
        same_heads: equal L and H: attention maps, differences and the JS grid.
        same_layers: equal L: the per-layer CKA curve (hidden state k of A against k of B).
        same_width: equal D (and L): per-token cosine of hidden states.
        notes: what cannot be compared, for the user.
    """

    name_a: str
    name_b: str
    layers: tuple[int, int]
    heads: tuple[int, int]
    widths: tuple[int, int]
    notes: tuple[str, ...] = ()

    @property
    def same_heads(self) -> bool:
        return self.layers[0] == self.layers[1] and self.heads[0] == self.heads[1]

    @property
    def same_layers(self) -> bool:
        return self.layers[0] == self.layers[1]

    @property
    def same_width(self) -> bool:
        return self.same_layers and self.widths[0] == self.widths[1]


def describe_tokenizer(tokenizer) -> str:
    """'30,522-token WordPiece' / '50,265-token byte-level BPE' / '250,002-token Unigram'."""
    kind = "unknown"
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        kind = type(backend.model).__name__
        if kind == "BPE" and "ByteLevel" in repr(backend.pre_tokenizer):
            kind = "byte-level BPE"
    return _("{n}-token {kind}").format(n=f"{len(tokenizer):,}", kind=kind)


def check_tokenizers(a: ModelBundle, b: ModelBundle) -> None:
    """Raise InputError with the reason when A and B do not share a tokenizer."""
    ta, tb = a.tokenizer, b.tokenizer
    if ta is tb:
        return
    advice = _(
        "Compare models that share a tokenizer: a fine-tuned model and the base it was trained from, or two "
        "fine-tunes of one base."
    )
    va, vb = ta.get_vocab(), tb.get_vocab()
    kind_a, kind_b = describe_tokenizer(ta), describe_tokenizer(tb)
    if len(va) != len(vb) or kind_a != kind_b:
        raise InputError(
            _("A and B do not share a tokenizer: A uses a {a} vocabulary, B a {b} one.").format(a=kind_a, b=kind_b)
            + " " + advice
        )
    if va != vb:
        differ = sorted(t for t in va if vb.get(t) != va[t])
        example = differ[0]
        raise InputError(
            _(
                "A and B do not share a tokenizer: both have {kind} vocabularies, but {n} tokens differ "
                "(e.g. '{token}' has id {id_a} in A and {id_b} in B)."
            ).format(kind=kind_a, n=f"{len(differ):,}", token=example, id_a=va[example], id_b=vb.get(example, "none"))
            + " " + advice
        )
    specials_a = {r: getattr(ta, r, None) for r in SPECIAL_ROLES}
    specials_b = {r: getattr(tb, r, None) for r in SPECIAL_ROLES}
    if specials_a != specials_b:
        role = next(r for r in SPECIAL_ROLES if specials_a[r] != specials_b[r])
        raise InputError(
            _("A and B do not share special tokens: A's {role} is {a}, B's is {b}.").format(
                role=role.removesuffix("_token"), a=specials_a[role], b=specials_b[role])
            + " " + advice
        )
    ids_a = ta(PROBE)["input_ids"]
    ids_b = tb(PROBE)["input_ids"]
    if ids_a != ids_b:
        raise InputError(
            _("A and B share a vocabulary but split text differently: '{probe}' becomes {a} in A and {b} in B.").format(
                probe=PROBE, a=" ".join(ta.convert_ids_to_tokens(ids_a)), b=" ".join(tb.convert_ids_to_tokens(ids_b)))
            + " " + advice
        )


def check_compatible(a: ModelBundle, b: ModelBundle) -> Compatibility:
    """Check that A and B share a tokenizer (else InputError) and say which comparisons their shapes allow."""
    check_tokenizers(a, b)
    widths = (int(a.config.hidden_size if hasattr(a.config, "hidden_size") else a.config.dim),
              int(b.config.hidden_size if hasattr(b.config, "hidden_size") else b.config.dim))
    c = Compatibility(
        name_a=a.name,
        name_b=b.name,
        layers=(a.num_layers, b.num_layers),
        heads=(a.num_heads, b.num_heads),
        widths=widths,
    )
    notes = []
    if not c.same_heads:
        notes.append(deferred(N_(  # kept in a shared cache: shown with _() in each reader's language
            "A has {la} layers x {ha} heads, B {lb} x {hb}: per-head attention (maps, differences, the "
            "Jensen-Shannon grid) needs equal layers and heads, so it is not shown. CKA works across shapes."
        ), la=c.layers[0], ha=c.heads[0], lb=c.layers[1], hb=c.heads[1]))
    elif not c.same_width:
        notes.append(deferred(N_(
            "A's hidden size is {da}, B's {db}: the per-token cosine needs equal sizes, so it is not shown; "
            "CKA compares representations of different widths."
        ), da=widths[0], db=widths[1]))
    return replace(c, notes=tuple(notes))
