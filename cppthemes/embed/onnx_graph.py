"""Rewrites of an exported ONNX graph: int8 quantisation and onnxruntime's BERT fusions.

Apart from the export's flow (cppthemes/embed/onnx_export.py) because benchmarks/
bench_onnx_variants.py builds its variants with the same two functions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def quiet_root_logger() -> Iterator[None]:
    """onnxruntime's tools log advice ("consider pre-processing") on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize(
    source: Path,
    target: Path,
    *,
    ops: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> None:
    """Dynamic int8 quantisation, per channel (see the module docstring for what was measured).

    ``ops`` (operator types) and ``exclude`` (node names) are for the variants that
    benchmarks/bench_onnx_variants.py measures; the export uses onnxruntime's defaults.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet_root_logger():
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=False,
            op_types_to_quantize=list(ops) if ops else None,
            nodes_to_exclude=list(exclude),
            extra_options={"MatMulConstBOnly": True},
        )


def bert_fused(source: Path, target: Path, *, heads: int, hidden: int) -> None:
    """onnxruntime.transformers' BERT fusions in float32: Attention, SkipLayerNormalization,
    BiasGelu. Same arithmetic in fewer, fused kernels (measured: vectors within 3e-7 of
    torch's, 1.16x faster on one thread). EmbedLayerNormalization is left out: it would take
    over the inputs and the padding mask, which the embedder builds itself."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_embed_layer_norm = False
    with quiet_root_logger():
        fused = optimizer.optimize_model(
            str(source),
            model_type="bert",
            num_heads=heads,
            hidden_size=hidden,
            optimization_options=options,
            opt_level=0,
            use_gpu=False,
        )
        fused.save_model_to_file(str(target))
