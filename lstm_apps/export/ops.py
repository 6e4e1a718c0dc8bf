"""Which LiteRT operators a ``.tflite`` file uses, read from its flatbuffer.

A device runtime runs a file only if it has a kernel for every operator in
it: builtin ops are in every LiteRT build (and most in LiteRT for
Microcontrollers), ``FLEX:`` ops need the TensorFlow ops library linked in
(Select TF ops), ``CUSTOM:`` ops need their own kernel registered, and the
control-flow ops (``WHILE``, ``IF``, ``CALL_ONCE``) run subgraphs, which some
runtimes and delegates do not support (TFLite Micro's ``WHILE`` support, for
one, is limited). :func:`file_ops` lists them so that can be checked before a
file is flashed; :func:`op_flags` says which of the three kinds are there.

The flatbuffer is read with the schema bindings shipped in ``ai_edge_litert``
(no TensorFlow needed).

Example:

```python
from lstm_apps.export.ops import file_ops, op_flags

ops = file_ops("model.tflite")  # {"FULLY_CONNECTED": 3, "UNIDIRECTIONAL_SEQUENCE_LSTM": 1, ...}
op_flags(ops)  # [] when every op is a builtin outside control flow
```
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

__all__ = [
    "CONTROL_FLOW_OPS",
    "OP_FLAGS",
    "file_ops",
    "op_flags",
    "set_lstm_cell_clip",
    "mis_sized_buffers",
]

#: Builtin ops that run other subgraphs (loops, conditionals, one-off initialisation).
CONTROL_FLOW_OPS = frozenset({"WHILE", "IF", "CALL_ONCE", "STABLEHLO_WHILE", "STABLEHLO_CASE"})
#: The flags :func:`op_flags` can return.
OP_FLAGS = ("flex", "custom", "control_flow")


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _buffer(model) -> bytes:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    path = Path(model)
    if not path.is_file():
        raise ValueError(f"TFLite file {str(path)!r} does not exist.")
    return path.read_bytes()


def _op_names(model) -> list[str]:
    """The name of each operator code of the model, in code order."""
    from ai_edge_litert.tools.flatbuffer_utils import get_builtin_code_from_operator_code

    schema = _schema()
    builtin = {v: k for k, v in vars(schema.BuiltinOperator).items() if isinstance(v, int)}
    names = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        number = get_builtin_code_from_operator_code(code)
        if number == schema.BuiltinOperator.CUSTOM:
            custom = (code.CustomCode() or b"").decode("utf-8", "replace")
            names.append(f"FLEX:{custom[4:]}" if custom.startswith("Flex") else f"CUSTOM:{custom}")
        else:
            names.append(builtin.get(number, f"BUILTIN_{number}"))
    return names


def _root(buf: bytes):
    schema = _schema()
    if len(buf) < 8 or not schema.Model.ModelBufferHasIdentifier(buf, 0):
        raise ValueError(f"not a TFLite flatbuffer: the file identifier is {buf[4:8]!r}, expected b'TFL3'.")
    return schema.Model.GetRootAs(buf, 0)


def file_ops(model: str | os.PathLike | bytes) -> dict[str, int]:
    """The operators a ``.tflite`` file uses, with how many times, over all its subgraphs.

    Args:
        model: the file's path or its bytes.

    Returns:
        ``{op name: count}`` sorted by name: builtin names as in the LiteRT
        schema (``"FULLY_CONNECTED"``, ``"UNIDIRECTIONAL_SEQUENCE_LSTM"``,
        ``"WHILE"``...), ``"FLEX:<TensorFlow op>"`` for Select TF ops and
        ``"CUSTOM:<name>"`` for other custom ops.

    Raises:
        ValueError: the path does not exist or the bytes are not a TFLite file.
    """
    model = _root(_buffer(model))
    names = _op_names(model)
    counts: dict[str, int] = {}
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for j in range(graph.OperatorsLength()):
            name = names[graph.Operators(j).OpcodeIndex()]
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def op_flags(ops) -> list[str]:
    """Which kinds of operators that not every runtime has a file needs.

    Args:
        ops: op names (as :func:`file_ops` returns them; a dict or a list).

    Returns:
        A sublist of :data:`OP_FLAGS`: ``"flex"`` (Select TensorFlow ops),
        ``"custom"`` (custom ops) and ``"control_flow"`` (``WHILE``, ``IF``,
        ``CALL_ONCE``...); empty when every op is a plain builtin.
    """
    names = list(ops)
    found = {
        "flex": any(n.startswith("FLEX:") for n in names),
        "custom": any(n.startswith("CUSTOM:") for n in names),
        "control_flow": any(n in CONTROL_FLOW_OPS for n in names),
    }
    return [flag for flag in OP_FLAGS if found[flag]]


def set_lstm_cell_clip(data: bytes, value: float = 0.0) -> tuple[bytes, int]:
    """Set the ``cell_clip`` option of every ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op.

    The converter's Keras-LSTM fusion writes ``cell_clip=10`` (the cell state
    is clipped to [-10, 10]); a Keras LSTM does not clip, and the 1997 layer's
    carousel (mapped to a standard LSTM state ``s / 2``) leaves that range on
    long sequences. ``0`` turns clipping off, so the op computes what Keras
    computes. The value is written in place (the flatbuffer keeps its layout).

    Args:
        data: the file's bytes.
        value: the clip (``0``: no clipping).

    Returns:
        ``(new bytes, number of ops changed)``.
    """
    schema = _schema()
    buf = bytearray(data)
    model = _root(bytes(buf))
    names = _op_names(model)
    changed = 0
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for j in range(graph.OperatorsLength()):
            op = graph.Operators(j)
            if names[op.OpcodeIndex()] != "UNIDIRECTIONAL_SEQUENCE_LSTM":
                continue
            if op.BuiltinOptionsType() != schema.BuiltinOptions.UnidirectionalSequenceLSTMOptions:
                continue
            table = op.BuiltinOptions()
            offset = table.Offset(6)  # field 1 of UnidirectionalSequenceLSTMOptions: cell_clip
            if offset:
                struct.pack_into("<f", buf, table.Pos + offset, float(value))
                changed += 1
            elif value != 0.0:
                raise ValueError(
                    "cannot set cell_clip: the op stores the default (0, no clipping) "
                    "without a field to write."
                )
    return bytes(buf), changed


#: Bytes per element of the fixed-width TFLite tensor types (by ``TensorType`` name).
_TYPE_BYTES = {
    "FLOAT32": 4, "FLOAT16": 2, "FLOAT64": 8, "INT32": 4, "UINT32": 4, "INT16": 2, "UINT16": 2,
    "INT8": 1, "UINT8": 1, "INT64": 8, "UINT64": 8, "BOOL": 1, "COMPLEX64": 8, "COMPLEX128": 16,
}  # fmt: skip


def mis_sized_buffers(model: str | os.PathLike | bytes) -> list[str]:
    """The constant tensors whose data do not fill their type and shape (LiteRT refuses such a file).

    LiteRT checks, when it loads a file, that every tensor with data has as
    many bytes as its type and shape need ("Tensor N is invalidly specified
    in schema"); this says which tensors fail that check, and why, before a
    load does: the op that reads each one and the other tensors given the
    same buffer (the TFLite converter's 16x8 quantization with float
    fallback can give a float32 constant the buffer of an int16 one).

    Args:
        model: the file's path or its bytes.

    Returns:
        One line per such tensor (empty when there is none), e.g.
        ``"tensor 7 'c' (FLOAT32 []) of signature 'step', read by
        GREATER_EQUAL: 2 bytes of data where 4 are needed; its buffer 3 is
        also that of tensor 2 'z' (INT16 []) of signature 'initial_state'"``.
        Tensors without data (activations) and of types without a fixed
        width (strings) are not checked.

    Raises:
        ValueError: the path does not exist or the bytes are not a TFLite file.
    """
    schema = _schema()
    buf = _buffer(model)
    root = _root(buf)
    names = _op_names(root)
    type_names = {v: k for k, v in vars(schema.TensorType).items() if isinstance(v, int)}
    users: dict[int, list[tuple[int, int, str]]] = {}  # buffer -> (subgraph, tensor, description)
    found = []
    for s in range(root.SubgraphsLength()):
        graph = root.Subgraphs(s)
        label = (graph.Name() or b"").decode("utf-8", "replace") or f"subgraph {s}"
        readers: dict[int, list[str]] = {}
        for j in range(graph.OperatorsLength()):
            op = graph.Operators(j)
            for i in op.InputsAsNumpy() if op.InputsLength() else []:
                readers.setdefault(int(i), []).append(names[op.OpcodeIndex()])
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            shape = [int(d) for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
            kind = type_names.get(tensor.Type(), str(tensor.Type()))
            name = (tensor.Name() or b"").decode("utf-8", "replace")
            desc = f"tensor {t} {name!r} ({kind} {shape}) of signature {label!r}"
            data = root.Buffers(tensor.Buffer()) if tensor.Buffer() else None
            size = (data.Size() or data.DataLength()) if data is not None else 0
            if not size:
                continue
            users.setdefault(tensor.Buffer(), []).append((s, t, desc))
            if kind not in _TYPE_BYTES:
                continue
            needed = _TYPE_BYTES[kind] * int(np.prod(shape, dtype=np.int64))
            if size != needed:
                read_by = ", ".join(sorted(set(readers.get(t, [])))) or "no op"
                problem = f"{desc}, read by {read_by}: {size} bytes of data where {needed} are needed"
                found.append((tensor.Buffer(), s, t, problem))
    lines = []
    for number, s, t, line in found:
        others = [d for (s2, t2, d) in users.get(number, []) if (s2, t2) != (s, t)]
        if others:
            line += f"; its buffer {number} is also that of " + " and ".join(others)
        lines.append(line)
    return lines
