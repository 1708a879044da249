"""Writing small TFLite models without TensorFlow.

Teaching saves its classifier as a .tflite file so that one loader (LiteRT, through
load_gesture_model) runs taught, imported and bundled models alike; the tests build
Teachable-Machine-layout models the same way. The `tflite` package holds the flatbuffer
builders generated from TFLite's schema; this module adds the few ops these models need:
FULLY_CONNECTED, CONV_2D, RESHAPE, SOFTMAX, QUANTIZE and DEQUANTIZE.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

_TYPES = {"float32": 0, "int32": 2, "uint8": 3, "int8": 9}
_ACTIVATIONS = {None: 0, "relu": 1, "relu6": 3}


class ModelBuilder:
    """Collects tensors and operators of one subgraph and serialises them as a TFLite model.

    Tensors are referred to by the index tensor() returns; constant tensors carry their data
    (weights, biases, shapes), which ends up in the model's buffers.
    """

    def __init__(self) -> None:
        self._tensors: List[dict] = []
        self._buffers: List[bytes] = [b""]   # buffer 0 is the empty buffer by convention
        self._ops: List[Tuple[int, Sequence[int], Sequence[int], str, dict]] = []
        self._opcodes: List[int] = []

    def tensor(self, shape: Sequence[int], dtype: str = "float32", data: Optional[np.ndarray] = None,
               name: str = "", quant: Optional[Tuple[float, int]] = None) -> int:
        """Add a tensor; `data` makes it a constant, `quant` is (scale, zero_point)."""
        buffer = 0
        if data is not None:
            array = np.ascontiguousarray(np.asarray(data, dtype=dtype))
            if tuple(array.shape) != tuple(shape):
                raise ValueError(f"tensor {name!r}: data shape {array.shape} != {tuple(shape)}")
            self._buffers.append(array.astype(array.dtype.newbyteorder("<")).tobytes())
            buffer = len(self._buffers) - 1
        self._tensors.append({"shape": [int(s) for s in shape], "type": _TYPES[dtype], "buffer": buffer,
                              "name": name or f"t{len(self._tensors)}", "quant": quant})
        return len(self._tensors) - 1

    def op(self, kind: str, inputs: Sequence[int], outputs: Sequence[int], **options) -> None:
        """Add an operator: 'fully_connected' (activation=), 'conv_2d' (stride=, activation=,
        padding='valid'|'same'), 'reshape', 'softmax' (beta=), 'quantize', 'dequantize'."""
        if kind not in _OPS:
            raise ValueError(f"unsupported op {kind!r}; expected one of {sorted(_OPS)}")
        code = _OPS[kind][0]
        if code not in self._opcodes:
            self._opcodes.append(code)
        self._ops.append((self._opcodes.index(code), list(inputs), list(outputs), kind, options))

    def build(self, inputs: Sequence[int], outputs: Sequence[int], description: str = "FaceFX") -> bytes:
        """The serialised model with the given subgraph inputs and outputs."""
        import flatbuffers
        import tflite

        b = flatbuffers.Builder(1024)

        def int_vector(start, values):
            start(b, len(values))
            for v in reversed(values):
                b.PrependInt32(v)
            return b.EndVector()

        def offsets_vector(start, offsets):
            start(b, len(offsets))
            for o in reversed(offsets):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        buffer_offsets = []
        for data in self._buffers:
            data_offset = None
            if data:
                b.StartVector(1, len(data), 16)
                b.head = b.head - len(data)
                b.Bytes[b.head:b.head + len(data)] = data
                b.vectorNumElems = len(data)
                data_offset = b.EndVector()
            tflite.BufferStart(b)
            if data_offset is not None:
                tflite.BufferAddData(b, data_offset)
            buffer_offsets.append(tflite.BufferEnd(b))

        tensor_offsets = []
        for t in self._tensors:
            name = b.CreateString(t["name"])
            shape = int_vector(tflite.TensorStartShapeVector, t["shape"])
            quant = None
            if t["quant"] is not None:
                scale, zero = t["quant"]
                tflite.QuantizationParametersStartScaleVector(b, 1)
                b.PrependFloat32(float(scale))
                scales = b.EndVector()
                tflite.QuantizationParametersStartZeroPointVector(b, 1)
                b.PrependInt64(int(zero))
                zeros = b.EndVector()
                tflite.QuantizationParametersStart(b)
                tflite.QuantizationParametersAddScale(b, scales)
                tflite.QuantizationParametersAddZeroPoint(b, zeros)
                quant = tflite.QuantizationParametersEnd(b)
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, shape)
            tflite.TensorAddType(b, t["type"])
            tflite.TensorAddBuffer(b, t["buffer"])
            tflite.TensorAddName(b, name)
            if quant is not None:
                tflite.TensorAddQuantization(b, quant)
            tensor_offsets.append(tflite.TensorEnd(b))

        op_offsets = []
        for opcode_index, op_inputs, op_outputs, kind, options in self._ops:
            options_type, options_offset = _OPS[kind][1](b, tflite, **options)
            ins = int_vector(tflite.OperatorStartInputsVector, op_inputs)
            outs = int_vector(tflite.OperatorStartOutputsVector, op_outputs)
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, opcode_index)
            tflite.OperatorAddInputs(b, ins)
            tflite.OperatorAddOutputs(b, outs)
            if options_offset is not None:
                tflite.OperatorAddBuiltinOptionsType(b, options_type)
                tflite.OperatorAddBuiltinOptions(b, options_offset)
            op_offsets.append(tflite.OperatorEnd(b))

        tensors = offsets_vector(tflite.SubGraphStartTensorsVector, tensor_offsets)
        operators = offsets_vector(tflite.SubGraphStartOperatorsVector, op_offsets)
        sub_inputs = int_vector(tflite.SubGraphStartInputsVector, list(inputs))
        sub_outputs = int_vector(tflite.SubGraphStartOutputsVector, list(outputs))
        sub_name = b.CreateString("main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors)
        tflite.SubGraphAddInputs(b, sub_inputs)
        tflite.SubGraphAddOutputs(b, sub_outputs)
        tflite.SubGraphAddOperators(b, operators)
        tflite.SubGraphAddName(b, sub_name)
        subgraph = tflite.SubGraphEnd(b)

        opcode_offsets = []
        for code in self._opcodes:
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            tflite.OperatorCodeAddBuiltinCode(b, code)
            tflite.OperatorCodeAddVersion(b, 1)
            opcode_offsets.append(tflite.OperatorCodeEnd(b))

        opcodes = offsets_vector(tflite.ModelStartOperatorCodesVector, opcode_offsets)
        subgraphs = offsets_vector(tflite.ModelStartSubgraphsVector, [subgraph])
        buffers = offsets_vector(tflite.ModelStartBuffersVector, buffer_offsets)
        desc = b.CreateString(description)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, opcodes)
        tflite.ModelAddSubgraphs(b, subgraphs)
        tflite.ModelAddDescription(b, desc)
        tflite.ModelAddBuffers(b, buffers)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def _fully_connected(b, tflite, activation=None):
    tflite.FullyConnectedOptionsStart(b)
    tflite.FullyConnectedOptionsAddFusedActivationFunction(b, _ACTIVATIONS[activation])
    return tflite.BuiltinOptions.FullyConnectedOptions, tflite.FullyConnectedOptionsEnd(b)


def _conv_2d(b, tflite, stride=1, activation=None, padding="valid"):
    tflite.Conv2DOptionsStart(b)
    tflite.Conv2DOptionsAddPadding(b, {"same": 0, "valid": 1}[padding])
    tflite.Conv2DOptionsAddStrideW(b, stride)
    tflite.Conv2DOptionsAddStrideH(b, stride)
    tflite.Conv2DOptionsAddFusedActivationFunction(b, _ACTIVATIONS[activation])
    tflite.Conv2DOptionsAddDilationWFactor(b, 1)
    tflite.Conv2DOptionsAddDilationHFactor(b, 1)
    return tflite.BuiltinOptions.Conv2DOptions, tflite.Conv2DOptionsEnd(b)


def _softmax(b, tflite, beta=1.0):
    tflite.SoftmaxOptionsStart(b)
    tflite.SoftmaxOptionsAddBeta(b, beta)
    return tflite.BuiltinOptions.SoftmaxOptions, tflite.SoftmaxOptionsEnd(b)


def _no_options(b, tflite):
    return 0, None


_OPS: Dict[str, tuple] = {
    "fully_connected": (9, _fully_connected),
    "conv_2d": (3, _conv_2d),
    "reshape": (22, _no_options),
    "softmax": (25, _softmax),
    "dequantize": (6, _no_options),
    "quantize": (114, _no_options),
}


def mlp_classifier(layers: Sequence[Tuple[np.ndarray, np.ndarray]], description: str = "FaceFX") -> bytes:
    """A float32 [1, n_in] -> [1, n_out] softmax classifier from (weights [out, in], bias [out])
    pairs; every layer but the last is followed by ReLU (FULLY_CONNECTED's weight layout)."""
    m = ModelBuilder()
    n_in = int(layers[0][0].shape[1])
    x = m.tensor([1, n_in], name="landmarks")
    first = x
    for i, (w, bias) in enumerate(layers):
        w = np.asarray(w, np.float32)
        out = int(w.shape[0])
        wt = m.tensor(w.shape, data=w, name=f"dense{i}/weights")
        bt = m.tensor([out], data=np.asarray(bias, np.float32), name=f"dense{i}/bias")
        y = m.tensor([1, out], name=f"dense{i}")
        m.op("fully_connected", [x, wt, bt], [y], activation="relu" if i < len(layers) - 1 else None)
        x = y
    probs = m.tensor([1, int(layers[-1][0].shape[0])], name="probabilities")
    m.op("softmax", [x], [probs])
    return m.build([first], [probs], description)
