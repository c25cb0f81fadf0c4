"""Label-wise attention for the X-Transformer: last-layer attention x gradient.

For label l with score s_l and last-layer attention A (heads, T, T):
    R_l = mean_heads( ReLU( A * dS_l/dA ) )            (T, T)
    relevance_l[j] = sum_i R_l[i, j]                      relevance of word piece j
Pieces are summed back into the words the TF-IDF tokenizer sees (via the tokenizer's character
offsets), and a word type's weight (for the deletion order) is the sum over its occurrences.

Why this choice: plain attention is the same for every label, so it cannot explain why one label
and not another; the gradient of the label's own score makes it label-specific and signed, and
ReLU keeps only evidence for the label (the gradient x attention step of Chefer et al., 2021).
We use the last layer, where the pooled document vector reads the tokens, with one forward and
one backward pass per label. Gradient-weighted rollout through all layers (Chefer et al.) costs
the same but adds the residual identity at every layer, which mixes label-independent relevance
into every token; we keep the simpler, directly label-driven last-layer map. Summing over query
rows equals taking the [CLS] row when the encoder is pooled from [CLS], as PECOS' BERT is (the
other rows then get zero gradient in the last layer) and stays right if it is mean-pooled.

Needs ``model.differentiable_scores(text, label_ids) -> (scores (m,), attentions, pieces)`` with
attentions a tuple of (1, heads, T, T) tensors that keep their graph (HF BertModel, eager attention).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.errors import InputError, ModelError
from engine.explain.units import TextUnits
from engine.types import report
from engine.explain.spec import ExplainContext, ExplainerSpec, MethodOutput

SPECIAL = {"[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>"}


def supports_attention(model) -> bool:
    return getattr(model, "input_kind", "") == "text" and callable(getattr(model, "differentiable_scores", None))


def check_attention_model(model, what: str = "attention explanations") -> None:
    if getattr(model, "input_kind", "") != "text":
        raise InputError(f"{what} need a text model; this model reads numeric features (e.g. MediaMill). Use LIME.")
    if not supports_attention(model):
        raise InputError(f"{what} need the X-Transformer (it has attention); the {getattr(model, 'family', '?')} "
                         "model has none. Use LIME, or choose an xtransformer model.")


def piece_to_word(model, units: TextUnits, pieces: list[str]) -> np.ndarray:
    """Index into units.words of each piece, -1 for special tokens/punctuation. Returns (T,) int."""
    occ = sorted((a, b, i) for i, (a, b) in enumerate(_occurrence_spans(units)))
    starts = np.asarray([a for a, _, _ in occ], dtype=np.int64)
    tok = getattr(model, "tokenizer", None)
    out = np.full(len(pieces), -1, dtype=np.int64)
    offsets = None
    if tok is not None and getattr(tok, "is_fast", False):
        enc = tok(units.text, truncation=True, max_length=int(getattr(model, "max_tokens", 512)),
                  return_offsets_mapping=True)
        if len(enc["input_ids"]) == len(pieces):
            offsets = enc["offset_mapping"]
    if offsets is not None:
        for t, (a, b) in enumerate(offsets):
            if b <= a or pieces[t] in SPECIAL:
                continue
            k = int(np.searchsorted(starts, a, side="right")) - 1
            if k >= 0 and occ[k][0] <= a < occ[k][1]:
                out[t] = occ[k][2]
        return out
    # No offsets: merge "##" continuation pieces and walk the words in order.
    w = -1
    for t, p in enumerate(pieces):
        if p in SPECIAL:
            continue
        if not p.startswith("##"):
            w += 1
        if w < len(units.words):
            out[t] = w
    return out


def _occurrence_spans(units: TextUnits) -> list[tuple[int, int]]:
    spans = sorted(s for u in range(units.n) for s in units.spans[u])
    return spans


def label_attention(model, units: TextUnits, label_ids: Sequence[int]):
    """Attention x gradient relevance for each label.

    Returns (word_rel ndarray (m, n_words) per word occurrence (units.words order),
    piece_rel ndarray (m, T), raw attention ndarray (layers, heads, T, T), pieces list[str] (T,),
    piece_word ndarray (T,), scores ndarray (m,)).
    """
    import torch

    check_attention_model(model)
    ids = [int(i) for i in label_ids]
    with torch.enable_grad():
        scores, atts, pieces = model.differentiable_scores(units.text, ids)
        if not getattr(scores, "requires_grad", False) or not atts or not atts[-1].requires_grad:
            raise ModelError("the model's attention does not carry gradients; cannot compute label-wise attention.")
        last = atts[-1]
        piece_rel = []
        for j in range(len(ids)):
            (g,) = torch.autograd.grad(scores[j], last, retain_graph=True, allow_unused=False)
            r = (last.detach() * g).clamp(min=0).mean(dim=1)[0]  # (T, T)
            piece_rel.append(r.sum(dim=0))
        piece_rel = torch.stack(piece_rel).float().numpy()
        raw = torch.stack([a.detach()[0] for a in atts]).float().numpy()
    pieces = list(pieces)
    pw = piece_to_word(model, units, pieces)
    word_rel = np.zeros((len(ids), len(units.words)), dtype=np.float64)
    for t, w in enumerate(pw):
        if w >= 0:
            word_rel[:, w] += piece_rel[:, t]
    return word_rel, piece_rel, raw, pieces, pw, scores.detach().float().numpy()


def unit_weights(units: TextUnits, word_rel: np.ndarray) -> np.ndarray:
    """Per word type: the sum over its occurrences. word_rel (m, n_words) -> (m, units.n)."""
    W = np.zeros((word_rel.shape[0], units.n), dtype=np.float64)
    for w, u in enumerate(units.word_unit):
        W[:, u] += word_rel[:, w]
    return W


NO_ATTENTION_EVIDENCE = ("the label's score does not change with the encoder's attention (zero gradient): the model's "
                         "ranker gives the text embedding no weight for it, so attention cannot explain it; use LIME.")


def encoder_shares_pct(model, text: str, label_ids: Sequence[int]) -> list[float]:
    """Each label's encoder share of its ranker score, in % (engine.explain.score_split): the part of the
    decision an attention map can speak for. Shown next to every attention map. (m,) floats; None each
    for a model without a PECOS ranker (nothing to split)."""
    from engine.explain.score_split import score_split

    if not callable(getattr(model, "ranker_inputs", None)):
        return [None] * len(label_ids)
    return [round(100.0 * lab.encoder_share, 4) for lab in score_split(model, text, label_ids).labels]


def _run(model, units, label_ids, ctx: ExplainContext) -> MethodOutput:
    word_rel, _, _, pieces, piece_word, _ = label_attention(model, units, label_ids)
    W = unit_weights(units, word_rel)
    seen = set(int(w) for w in piece_word if w >= 0)
    k = len(label_ids)
    shares = encoder_shares_pct(model, units.text, label_ids)
    extras = [{"words_read": len(seen), "words_total": len(units.words), "pieces": len(pieces),
               "encoder_share_pct": shares[j]} for j in range(k)]
    token_w = [[(w, float(word_rel[j, i])) for i, w in enumerate(units.words)] for j in range(k)]
    report(ctx.progress, 1.0, "attention computed")
    # zero gradient: the label's score does not depend on the encoder -- say so, never rank words by a tie
    return MethodOutput(W, extras, token_weights=token_w, no_evidence=[not np.any(W[j] > 0) for j in range(k)])


SPEC = ExplainerSpec(
    name="attention", title="Attention", needs="encoder", run=_run, no_evidence_note=NO_ATTENTION_EVIDENCE,
    help="the encoder's last-layer attention x the gradient of the label's score (the encoder half of the "
         "X-Transformer's ranker input only)")
