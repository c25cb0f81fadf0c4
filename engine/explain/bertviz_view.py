"""BertViz head view / model view of the X-Transformer's encoder, as standalone offline HTML."""
from __future__ import annotations

from engine.errors import InputError
from engine.explain.offline_js import inline_offline

VIEWS = ("head", "model")


def encoder_attentions(model, text: str):
    """Run the encoder once: (attentions tuple of (1, heads, T, T) tensors, pieces list[str] (T,))."""
    import torch

    tok = model.tokenizer
    enc = tok(text, truncation=True, max_length=int(model.max_tokens), return_tensors="pt")
    with torch.no_grad():
        out = model.encoder(**enc, output_attentions=True)
    if not out.attentions:
        raise InputError("the encoder returned no attentions (load it with attn_implementation='eager').")
    return tuple(a.float() for a in out.attentions), tok.convert_ids_to_tokens(enc["input_ids"][0].tolist())


def bertviz_document_html(model, text: str, view: str = "head") -> str:
    """BertViz ``head_view`` or ``model_view`` HTML with its JS inlined (renders with no internet)."""
    if view not in VIEWS:
        raise InputError(f"unknown BertViz view {view!r}: choose 'head' or 'model'.")
    from bertviz import head_view, model_view

    atts, pieces = encoder_attentions(model, text)
    fn = head_view if view == "head" else model_view
    html = fn(atts, pieces, html_action="return").data
    return inline_offline(html)
