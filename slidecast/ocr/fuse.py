"""Rewrite rapidocr's PP-OCRv4 (and v6 recognition) models into cheaper, numerically equal graphs (made at run time
from the models inside the rapidocr wheel, so nothing is downloaded or shipped twice).

The exported models spell out every small step of PP-LCNetV3: a learnable affine block
(`x * s + b`) after each convolution, hard-swish as Add/Clip/Mul/Div, and another affine block
before the next convolution. onnxruntime does not fuse these, and on the CPU they cost as much
as the convolutions (docs/benchmarks.md). Here:
- an affine block right after a convolution is folded into its weights and bias;
- Add(3) -> Clip(0, 6) -> Mul(x) -> Div(6) becomes one HardSwish;
- an affine block right before an unpadded convolution is folded into it (a padded one would
  see `b` where it pads with zeros, so those are left alone).
Outputs match the original model to within float rounding (checked in tests/library/test_content_ocr.py).
"""

from __future__ import annotations

import functools

import numpy as np

# HardSwish needs opset 14; the exported models are opset 11-12.
OPSET = 14


@functools.cache
def fused_model(path: str) -> bytes:
    """The serialised fused version of the ONNX model at `path` (cached per process)."""
    import onnx
    from onnx import version_converter

    model = onnx.load(path)
    _free_height(model.graph)
    _lift_constants(model.graph)
    model = version_converter.convert_version(model, OPSET)
    graph = _Graph(model.graph)
    graph.fold_affine_after_conv()
    graph.fuse_hardswish()
    graph.fold_affine_before_conv()
    graph.drop_unused_initializers()
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _free_height(graph) -> None:
    """PP-OCRv6's recogniser is exported for lines exactly 48 px high; its layers work at any
    height that is a multiple of 16, and rapid.py reads each line at 32 px first."""
    dims = graph.input[0].type.tensor_type.shape.dim
    if len(dims) == 4 and dims[2].HasField("dim_value"):
        dims[2].dim_param = "height"


def _lift_constants(graph) -> None:
    """Constant nodes -> initializers, so weights can be read and rewritten in one place."""
    import onnx

    kept = []
    for node in graph.node:
        if node.op_type == "Constant" and [a.name for a in node.attribute] == ["value"]:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)


class _Graph:
    """Just enough graph bookkeeping for the three rewrites."""

    def __init__(self, graph):
        self.g = graph
        self.index()

    def index(self) -> None:
        self.inits = {i.name: i for i in self.g.initializer}
        self.consumers: dict[str, list] = {}
        for node in self.g.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {o.name for o in self.g.output}

    def array(self, name: str) -> np.ndarray:
        from onnx import numpy_helper

        return numpy_helper.to_array(self.inits[name])

    def set_array(self, name: str, value: np.ndarray) -> None:
        from onnx import numpy_helper

        tensor = numpy_helper.from_array(value.astype(np.float32), name)
        if name in self.inits:
            self.inits[name].CopyFrom(tensor)
        else:
            self.g.initializer.append(tensor)
            self.inits[name] = self.g.initializer[-1]

    def sole_consumer(self, name: str, op: str):
        found = self.consumers.get(name, [])
        if len(found) == 1 and found[0].op_type == op and name not in self.outputs:
            return found[0]
        return None

    def scalar(self, node, other: str) -> float | None:
        """The constant scalar operand of binary `node` whose other operand is `other`."""
        if len(node.input) != 2 or other not in node.input:
            return None
        const = node.input[1] if node.input[0] == other else node.input[0]
        if const not in self.inits:
            return None
        value = self.array(const)
        return float(value.ravel()[0]) if value.size == 1 else None

    def affine_after(self, name: str):
        """(mul, add, s, b) when `name` feeds only Mul(s) feeding only Add(b), else None."""
        mul = self.sole_consumer(name, "Mul")
        s = mul is not None and self.scalar(mul, name)
        if mul is None or s is None:
            return None
        add = self.sole_consumer(mul.output[0], "Add")
        b = add is not None and self.scalar(add, mul.output[0])
        if add is None or b is None:
            return None
        return mul, add, s, b

    def weights(self, conv) -> tuple[np.ndarray, np.ndarray]:
        w = self.array(conv.input[1])
        bias = self.array(conv.input[2]) if len(conv.input) > 2 else np.zeros(w.shape[0], np.float32)
        return w, bias

    def rewire(self, conv, source: str, w: np.ndarray, bias: np.ndarray, tag: str) -> None:
        w_name, b_name = f"{conv.name}_{tag}_w", f"{conv.name}_{tag}_b"
        self.set_array(w_name, w)
        self.set_array(b_name, bias)
        del conv.input[:]
        conv.input.extend([source, w_name, b_name])

    def remove(self, *nodes) -> None:
        for node in nodes:
            self.g.node.remove(node)
        self.index()

    def fold_affine_after_conv(self) -> None:
        for conv in list(self.g.node):
            if conv.op_type != "Conv" or conv.input[1] not in self.inits:
                continue
            found = self.affine_after(conv.output[0])
            if found is None:
                continue
            mul, add, s, b = found
            w, bias = self.weights(conv)
            self.rewire(conv, conv.input[0], w * s, bias * s + b, "post")
            conv.output[0] = add.output[0]
            self.remove(mul, add)

    def fuse_hardswish(self) -> None:
        from onnx import helper

        for add in list(self.g.node):
            chain = self._hardswish_chain(add)
            if chain is None:
                continue
            x, nodes = chain
            position = list(self.g.node).index(add)
            fused = helper.make_node("HardSwish", [x], [nodes[-1].output[0]], name=f"{add.name}_hardswish")
            self.remove(*nodes)
            self.g.node.insert(position, fused)
            self.index()

    def _hardswish_chain(self, add):
        """(x, [add, clip, mul, div]) for x * clip(x + 3, 0, 6) / 6 starting at `add`."""
        if add.op_type != "Add":
            return None
        x = next((name for name in add.input if name not in self.inits), None)
        if x is None or self.scalar(add, x) != 3.0:
            return None
        clip = self.sole_consumer(add.output[0], "Clip")
        if clip is None or len(clip.input) != 3 or any(i not in self.inits for i in clip.input[1:]):
            return None
        if [float(self.array(i)) for i in clip.input[1:]] != [0.0, 6.0]:
            return None
        mul = self.sole_consumer(clip.output[0], "Mul")
        if mul is None or x not in mul.input:
            return None
        div = self.sole_consumer(mul.output[0], "Div")
        if div is None or div.input[0] != mul.output[0] or self.scalar(div, mul.output[0]) != 6.0:
            return None
        return x, [add, clip, mul, div]

    def fold_affine_before_conv(self) -> None:
        for mul in list(self.g.node):
            if mul.op_type != "Mul":
                continue
            x = next((name for name in mul.input if name not in self.inits), None)
            found = self.affine_after(x) if x is not None else None
            if found is None or found[0] is not mul:
                continue
            _, add, s, b = found
            conv = self.sole_consumer(add.output[0], "Conv")
            if conv is None or conv.input[1] not in self.inits or _padded(conv):
                continue
            w, bias = self.weights(conv)
            self.rewire(conv, x, w * s, bias + b * w.sum(axis=(1, 2, 3)), "pre")
            self.remove(mul, add)

    def drop_unused_initializers(self) -> None:
        used = {name for node in self.g.node for name in node.input}
        kept = [i for i in self.g.initializer if i.name in used]
        del self.g.initializer[:]
        self.g.initializer.extend(kept)


def _padded(conv) -> bool:
    pads = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [])
    auto = next((a.s for a in conv.attribute if a.name == "auto_pad"), b"NOTSET")
    return any(pads) or auto not in (b"NOTSET", b"VALID")
