"""ONNX forms of our transformers: an ONNX Runtime session on the CPU, and the one-off
export of a BERT-like model (the embedder's encoder, the reader's cross-encoder) to ONNX
with int8 weights."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any


def ort_session(path: Path) -> Any:
    """An ONNX Runtime session on the CPU, offline, with up to 8 threads."""
    import onnxruntime as ort

    ort.disable_telemetry_events()  # "fully offline": no telemetry at all
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = max(1, min(os.cpu_count() or 1, 8))
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


# The attention that a model is exported with: transformers' own "eager" one exports to
# plain MatMul/Softmax nodes that ONNX Runtime runs 1.26x faster than the graph of its
# default ("sdpa") for 256-token chunks and 1.10x for 70-token texts (all-MiniLM-L6-v2,
# int8, batches of 32, 6 alternating runs each, 2 cores with AVX2), vectors the same to
# a cosine of 0.996. Part of the export's cache key (``EXPORT_FORM``).
ATTENTION = "eager"
EXPORT_FORM = f"attention-{ATTENTION}"


def export_int8(path: Path, target: Path) -> None:
    """Export the transformer to ONNX (opset 17) and quantise it to int8, atomically."""
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True,
                                      attn_implementation=ATTENTION)
    enc = tok(["an example", "a second, longer example"], padding=True, return_tensors="pt")
    onnx_int8(model, enc, "last_hidden_state", target, {0: "batch", 1: "seq"})


def onnx_int8(model: Any, example: Any, output: str, target: Path,
              output_axes: dict[int, str]) -> None:
    """Export the ``output`` field (``last_hidden_state``, ``logits``) of a BERT-like
    transformers ``model``, called with input_ids, attention_mask and token_type_ids as
    in ``example``, to ONNX (opset 17; batch and length dynamic, and ``output_axes`` of the
    output), its weights quantised to int8 by onnxruntime, written atomically to
    ``target``."""
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Output(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return getattr(self.model(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids), output)

    module = Output()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = Path(tmp) / "model.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module.eval(), tuple(example[n] for n in names), str(fp32),
                              input_names=names, output_names=[output],
                              dynamic_axes={n: {0: "batch", 1: "seq"} for n in names} | {
                                  output: output_axes}, opset_version=17, dynamo=False)
            # onnxruntime warns through the root logger that the model was not
            # "pre-processed" (shape inference for static quantisation): not our case.
            logging.disable(logging.WARNING)
            try:
                quantize_dynamic(str(fp32), str(Path(tmp) / "int8.onnx"),
                                 weight_type=QuantType.QInt8, per_channel=True)
            finally:
                logging.disable(logging.NOTSET)
        os.replace(Path(tmp) / "int8.onnx", target)
