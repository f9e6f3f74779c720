"""Wrap a tiny XLM-R into a COMET checkpoint with random weights, for tests and smoke runs.

Runs under the COMET environment's Python (unbabel-comet and its transformers 4.x), never
under summ's: it imports nothing from summ. ``python -m summ.testing tiny-comet`` is the usual
way to call it (it builds the tiny XLM-R first, with summ's tokenizer recipe); directly::

    COMET_PYTHON comet_tiny.py OUT --kind {regression,unified} --encoder XLMR_DIR

OUT gets the layout ``comet.download_model`` gives for a hub model, so ``comet-score --model
OUT/checkpoints/model.ckpt`` and ``comet.load_from_checkpoint`` load it the ordinary way::

    OUT/hparams.yaml              class_identifier, pretrained_model (= XLMR_DIR), ...
    OUT/checkpoints/model.ckpt    a PyTorch Lightning checkpoint (state_dict + hyper_parameters)

``regression`` is shaped like Unbabel/wmt22-comet-da (RegressionMetric over src, mt, ref);
``unified`` like Unbabel/wmt22-cometkiwi-da (UnifiedMetric over mt + src, no reference). The
hyper-parameters are those of the real checkpoints but for the estimator's size, so the same
code paths run (layerwise sparsemax mix, average pooling, feed-forward estimator).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Shared by both checkpoints, as in the real wmt22 hparams.yaml files but for the estimator's size.
COMMON = {
    "nr_frozen_epochs": 0.3, "keep_embeddings_frozen": True, "optimizer": "AdamW",
    "encoder_learning_rate": 1.0e-06, "learning_rate": 1.5e-05, "layerwise_decay": 0.95,
    "encoder_model": "XLM-RoBERTa", "layer_transformation": "sparsemax", "layer_norm": False,
    "loss": "mse", "dropout": 0.1, "batch_size": 16, "hidden_sizes": [64, 32],
    "activations": "Tanh", "final_activation": None,
}
KINDS = {
    "regression": {"pool": "avg", "layer": "mix"},
    "unified": {"sent_layer": "mix", "word_layer": 2, "input_segments": ["mt", "src"],
                "word_level_training": False, "loss_lambda": 0.65},
}
# Ordinary Arabic and English: the tiny tokenizer must give them back without <unk>.
ROUND_TRIP = ("ذهب الرئيس إلى دمشق يوم الأربعاء.", "The minister said the talks were useful.")


def check_encoder(encoder: Path) -> None:
    """Check that the tiny XLM-R loads here (transformers 4.x) as COMET loads it, and round-trips.

    Raises:
        RuntimeError: ``<unk>``, or a different text after encode -> decode.
    """
    from transformers import XLMRobertaTokenizerFast

    tok = XLMRobertaTokenizerFast.from_pretrained(str(encoder))
    for text in ROUND_TRIP:
        ids = tok(text)["input_ids"]
        if tok.unk_token_id in ids or tok.decode(ids, skip_special_tokens=True) != text:
            raise RuntimeError(f"the tokenizer in {encoder} does not round-trip {text!r}: {ids}")


def build(out: Path, kind: str, encoder: Path, seed: int = 0) -> Path:
    """Write a tiny COMET checkpoint of ``kind`` around ``encoder``; returns the ``.ckpt`` path.

    Raises:
        RuntimeError: the tokenizer fails its round trip, COMET's encoder does not hold the
            encoder's saved weights, or the checkpoint does not load back through
            ``comet.load_from_checkpoint`` with every weight (COMET loads with ``strict=False``,
            so a key mismatch would silently leave random weights in place).
    """
    import pytorch_lightning as ptl
    import torch
    import yaml
    from comet import load_from_checkpoint
    from comet.models import RegressionMetric, UnifiedMetric
    from safetensors.torch import load_file

    out, encoder = out.resolve(), encoder.resolve()
    check_encoder(encoder)
    hparams = dict(COMMON, **KINDS[kind], pretrained_model=str(encoder))
    torch.manual_seed(seed)
    cls = RegressionMetric if kind == "regression" else UnifiedMetric
    model = cls(**hparams, load_pretrained_weights=True)
    saved_encoder = load_file(str(encoder / "model.safetensors"))
    held = model.encoder.model.state_dict()
    if any(k not in held or not torch.equal(held[k], v) for k, v in saved_encoder.items()):
        raise RuntimeError(f"COMET did not load the weights saved in {encoder}")
    saved = {k: v for k, v in dict(model.hparams).items()
             if k not in ("load_pretrained_weights", "local_files_only")}
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    (out / "hparams.yaml").write_text(yaml.safe_dump(saved), encoding="utf-8")
    ckpt = out / "checkpoints" / "model.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": saved,
                "pytorch-lightning_version": ptl.__version__, "epoch": 0, "global_step": 0}, ckpt)
    loaded = load_from_checkpoint(str(ckpt)).state_dict()
    expected = model.state_dict()
    if loaded.keys() != expected.keys() or any(not torch.equal(loaded[k], expected[k])
                                               for k in expected):
        raise RuntimeError(f"{ckpt} does not load back with the weights it was saved with")
    return ckpt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--kind", choices=sorted(KINDS), required=True)
    parser.add_argument("--encoder", type=Path, required=True,
                        help="a tiny XLM-R folder (save_pretrained)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build(args.out, args.kind, args.encoder, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
