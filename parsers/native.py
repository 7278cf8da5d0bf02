"""Call the REAL exported parser symbols of libnvds_infercustomparser_taostream.so from Python.

The C++ harness (libtaostream_parser_harness.so) builds the std::vector<NvDsInferLayerInfo>,
NvDsInferNetworkInfo and NvDsInferParseDetectionParams arguments as nvinfer does, dlopens the
parser library and calls the named function; this module turns numpy arrays into those layers
and the results back into parsers.reference Detection / Attribute objects."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from taostream.parsers.reference import Attribute, Detection

DATA_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.int8): 2,
              np.dtype(np.int32): 3, np.dtype(np.int64): 4, np.dtype(np.uint8): 5}
ABI_FIELDS = ("sizeof_dims", "sizeof_layer_info", "offset_infer_dims", "offset_binding_index",
              "offset_layer_name", "offset_buffer", "offset_is_input", "sizeof_network_info",
              "sizeof_object_detection_info", "sizeof_instance_mask_info", "offset_mask",
              "sizeof_attribute")


class _Layer(ctypes.Structure):
    _fields_ = [("data_type", ctypes.c_int), ("num_dims", ctypes.c_uint), ("dims", ctypes.c_uint * 8),
                ("num_elements", ctypes.c_uint), ("name", ctypes.c_char_p), ("buffer", ctypes.c_void_p),
                ("is_input", ctypes.c_int)]


class _Object(ctypes.Structure):
    _fields_ = [("class_id", ctypes.c_uint), ("left", ctypes.c_float), ("top", ctypes.c_float),
                ("width", ctypes.c_float), ("height", ctypes.c_float), ("confidence", ctypes.c_float),
                ("mask_width", ctypes.c_uint), ("mask_height", ctypes.c_uint), ("mask_size", ctypes.c_uint)]


@dataclass
class OutputLayer:
    """One NvDsInferLayerInfo. ``dims``/``num_elements``/``data_type`` override what the array says
    (to present malformed layers); the buffer always holds at least ``num_elements`` elements."""

    name: str
    array: np.ndarray
    dims: tuple[int, ...] | None = None
    num_elements: int | None = None
    data_type: int | None = None
    is_input: bool = False

    def fields(self, array: np.ndarray) -> tuple[tuple[int, ...], int, int]:
        """(dims, num_elements, NvDsInferDataType) as the layer presents ``array`` to the parser."""
        dims = tuple(array.shape) if self.dims is None else tuple(self.dims)
        count = array.size if self.num_elements is None else self.num_elements
        if count > array.size:
            raise ValueError(f"layer {self.name}: num_elements {count} exceeds the array's {array.size}")
        if self.data_type is None and array.dtype not in DATA_TYPES:
            raise ValueError(f"layer {self.name}: dtype {array.dtype} has no NvDsInferDataType")
        return dims, count, DATA_TYPES[array.dtype] if self.data_type is None else self.data_type


class ParserCallError(RuntimeError):
    """The harness could not load the library or find the symbol."""


class NativeParsers:
    def __init__(self, library: Path, harness: Path):
        self.library = str(Path(library).resolve()).encode()
        self._lib = ctypes.CDLL(str(Path(harness).resolve()))
        self._lib.taostream_harness_parse.restype = ctypes.c_int
        self._lib.taostream_harness_parse.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_Layer), ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_float),
            ctypes.c_int, ctypes.POINTER(_Object), ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_long]
        self._lib.taostream_harness_classify.restype = ctypes.c_int
        self._lib.taostream_harness_classify.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_Layer), ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_float, ctypes.POINTER(ctypes.c_uint),
            ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_float), ctypes.c_int]
        self._lib.taostream_harness_classify_text.restype = ctypes.c_int
        self._lib.taostream_harness_classify_text.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_Layer), ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_float, ctypes.POINTER(ctypes.c_uint),
            ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_long),
            ctypes.c_int, ctypes.c_char_p, ctypes.c_long, ctypes.c_char_p, ctypes.c_long]
        self._lib.taostream_harness_time_parse.restype = ctypes.c_double
        self._lib.taostream_harness_time_parse.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_Layer), ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_float), ctypes.c_int,
            ctypes.c_int]
        self._lib.taostream_harness_abi_layout.restype = ctypes.c_int
        self._lib.taostream_harness_abi_layout.argtypes = [ctypes.POINTER(ctypes.c_ulong), ctypes.c_int]

    # -- argument building -------------------------------------------------------------------

    @staticmethod
    def _layers(layers: Sequence[OutputLayer] | Mapping[str, np.ndarray]):
        if isinstance(layers, Mapping):
            layers = [OutputLayer(name, array) for name, array in layers.items()]
        keep_alive = []
        table = (_Layer * max(len(layers), 1))()
        for slot, layer in zip(table, layers):
            array = np.ascontiguousarray(layer.array)
            dims, count, slot.data_type = layer.fields(array)
            name = layer.name.encode()
            keep_alive += [array, name]
            slot.num_dims = len(dims)
            for i, d in enumerate(dims[:8]):
                slot.dims[i] = d
            slot.num_elements = count
            slot.name = name
            slot.buffer = array.ctypes.data if array.size else None
            slot.is_input = int(layer.is_input)
        return table, len(layers), keep_alive

    @staticmethod
    def _thresholds(thresholds: Sequence[float]):
        values = (ctypes.c_float * max(len(thresholds), 1))(*thresholds)
        return values, len(thresholds)

    # -- calls ---------------------------------------------------------------------------------

    def parse(self, function: str, layers, net_w: int, net_h: int, num_classes: int,
              thresholds: Sequence[float], net_c: int = 3, masks: bool = False,
              capacity: int = 4096) -> list[Detection] | None:
        """Calls ``function``; None when it returned false."""
        table, n, keep_alive = self._layers(layers)
        values, n_thresholds = self._thresholds(thresholds)
        objects = (_Object * capacity)()
        mask_capacity = sum(np.asarray(l.array if isinstance(l, OutputLayer) else l).size
                            for l in (layers.values() if isinstance(layers, Mapping) else layers)) if masks else 0
        mask_buffer = (ctypes.c_float * max(mask_capacity, 1))()
        count = self._lib.taostream_harness_parse(
            self.library, function.encode(), 1 if masks else 0, table, n, net_w, net_h, net_c,
            num_classes, values, n_thresholds, objects, capacity, mask_buffer, mask_capacity)
        del keep_alive
        if count == -2:
            raise ParserCallError(f"cannot load {function} from {self.library.decode()}")
        if count < 0:
            return None
        if count > capacity:
            raise ParserCallError(f"{function} returned {count} objects (> capacity {capacity})")
        found, offset = [], 0
        flat_masks = np.ctypeslib.as_array(mask_buffer)
        for o in objects[:count]:
            mask = None
            if masks:
                size = o.mask_size // 4
                mask = flat_masks[offset:offset + size].reshape(o.mask_height, o.mask_width).copy()
                offset += size
            found.append(Detection(int(o.class_id), o.left, o.top, o.left + o.width, o.top + o.height,
                                   o.confidence, mask=mask))
        return found

    def classify(self, function: str, layers, threshold: float, net=(224, 224, 3),
                 capacity: int = 64) -> list[Attribute] | None:
        table, n, keep_alive = self._layers(layers)
        indices = (ctypes.c_uint * capacity)()
        values = (ctypes.c_uint * capacity)()
        confidences = (ctypes.c_float * capacity)()
        count = self._lib.taostream_harness_classify(
            self.library, function.encode(), table, n, net[0], net[1], net[2], threshold, indices,
            values, confidences, capacity)
        del keep_alive
        if count == -2:
            raise ParserCallError(f"cannot load {function} from {self.library.decode()}")
        if count < 0:
            return None
        return [Attribute(int(indices[i]), int(values[i]), float(confidences[i])) for i in range(count)]

    def classify_text(self, function: str, layers, threshold: float = 0.0, net=(224, 224, 3),
                      capacity: int = 64) -> tuple[list[Attribute], str] | None:
        """Like classify, plus what nvinfer keeps as text: each attribute's attributeLabel
        (Attribute.label) and the description string; None when the parser returned false."""
        table, n, keep_alive = self._layers(layers)
        indices, values = (ctypes.c_uint * capacity)(), (ctypes.c_uint * capacity)()
        confidences, offsets = (ctypes.c_float * capacity)(), (ctypes.c_long * capacity)()
        labels, description = ctypes.create_string_buffer(1 << 16), ctypes.create_string_buffer(1 << 16)
        count = self._lib.taostream_harness_classify_text(
            self.library, function.encode(), table, n, net[0], net[1], net[2], threshold, indices, values,
            confidences, offsets, capacity, labels, len(labels), description, len(description))
        del keep_alive
        if count == -2:
            raise ParserCallError(f"cannot load {function} from {self.library.decode()}")
        if count == -3:
            raise ParserCallError(f"{function}: a label or the description exceeds the harness buffers")
        if count < 0:
            return None
        raw = labels.raw

        def label(i: int) -> str | None:
            if offsets[i] < 0:
                return None
            return raw[offsets[i]:raw.index(b"\0", offsets[i])].decode()

        found = [Attribute(int(indices[i]), int(values[i]), float(confidences[i]), label(i))
                 for i in range(min(count, capacity))]
        return found, description.value.decode()

    def seconds_per_call(self, function: str, layers, net_w: int, net_h: int, num_classes: int,
                         thresholds: Sequence[float], iterations: int) -> float:
        """Mean wall time of one call, measured inside C++ (no ctypes overhead in the loop)."""
        table, n, keep_alive = self._layers(layers)
        values, n_thresholds = self._thresholds(thresholds)
        seconds = self._lib.taostream_harness_time_parse(
            self.library, function.encode(), table, n, net_w, net_h, 3, num_classes, values,
            n_thresholds, iterations)
        del keep_alive
        if seconds < 0:
            raise ParserCallError(f"{function} failed or could not be loaded")
        return seconds

    def abi_layout(self) -> dict[str, int]:
        values = (ctypes.c_ulong * 32)()
        n = self._lib.taostream_harness_abi_layout(values, 32)
        return dict(zip(ABI_FIELDS, (int(v) for v in values[:n])))
