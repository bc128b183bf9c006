"""Turn the quantised initialisers of an ONNX BERT export back into a float32 PyTorch state dict.

The exports that onnxruntime's quantisers write (Rampart's `model_q4.onnx` among them) hold weights
in two quantised forms, plus plain float tensors:

* Every `nn.Linear` weight feeds a `com.microsoft::MatMulNBits` node: 4-bit, block-wise, symmetric.
  Attributes K (in features), N (out features), bits=4, block_size (32 here). Input B is uint8
  (N, n_blocks, block_size / 2): each byte packs two consecutive k, the lower k in the LOW nibble.
  Input scales is float (N * n_blocks,). With no zero_points input the zero point is 2**(bits-1) = 8:
      W[n, k] = (q[n, k] - 8) * scales[n, k // block_size]
  W comes out as (N, K) = (out, in), nn.Linear's own layout, so no transpose. The PyTorch name is
  the node name: "/bert/encoder/layer.0/attention/self/query/MatMul_Q4" -> "...query.weight".
* Embedding tables are 8-bit, per tensor: initialisers "<param>_quantized" (uint8), "<param>_scale"
  and "<param>_zero_point" (scalars) feed a Gather then a DequantizeLinear: W = (q - zero_point) * scale.
* Biases and LayerNorm parameters are float32 initialisers already named as in PyTorch.

Spec: onnxruntime docs/ContribOperators.md (MatMulNBits); ONNX operator DequantizeLinear.
"""

from __future__ import annotations

import numpy as np
import torch

_QUANT_SUFFIXES = ("_quantized", "_scale", "_zero_point")


def onnx_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Every weight of the ONNX model at `path` as a float32 tensor under its PyTorch name.

    Raises:
        ValueError: a quantised form other than those described in the module docstring.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    state: dict[str, np.ndarray] = {}
    packed_inputs: set[str] = set()

    for node in graph.node:
        if node.op_type != "MatMulNBits":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("bits", 4) != 4 or len(node.input) > 3:
            raise ValueError(f"{node.name}: only 4-bit MatMulNBits without zero points/g_idx is supported.")
        weight, scales = arrays[node.input[1]], arrays[node.input[2]]
        name = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".") + ".weight"
        state[name] = dequantize_4bit(weight, scales, k=attrs["K"], n=attrs["N"], block_size=attrs["block_size"])
        packed_inputs.update(node.input[1:3])

    for key, table in arrays.items():
        if key.endswith("_quantized"):
            param = key.removesuffix("_quantized")
            scale, zero = arrays[param + "_scale"], arrays[param + "_zero_point"]
            if scale.ndim or zero.ndim:
                raise ValueError(f"{param}: only per-tensor (scalar) DequantizeLinear is supported.")
            state[param] = (table.astype(np.float32) - np.float32(zero)) * scale
        elif key not in packed_inputs and not key.endswith(_QUANT_SUFFIXES) and table.dtype == np.float32:
            state[key] = table

    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}  # copies: writable


def dequantize_4bit(packed: np.ndarray, scales: np.ndarray, k: int, n: int, block_size: int) -> np.ndarray:
    """MatMulNBits' B (N, n_blocks, block_size / 2) uint8 + scales (N * n_blocks,) -> float32 W (N, K)."""
    packed = packed.reshape(n, -1)
    q = np.empty((n, packed.shape[1] * 2), dtype=np.uint8)
    q[:, 0::2] = packed & 0x0F  # lower k of each pair sits in the low nibble
    q[:, 1::2] = packed >> 4
    blocks = q.reshape(n, -1, block_size).astype(np.float32) - 8.0  # symmetric: zero point 8
    w = blocks * scales.reshape(n, -1, 1).astype(np.float32)
    return w.reshape(n, -1)[:, :k]  # K is padded up to a whole block
