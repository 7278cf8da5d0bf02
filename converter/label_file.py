"""The DeepStream label file (labels.txt) as nvinfer reads it. Written by `taostream sample`
(converter.samples) and by bundles (deepstream_configs.labels, which orders the names per network):
it lives in converter, the lowest layer, so both may import it (tests/test_import_layers.py)."""

from __future__ import annotations


def label_file_text(names: list[str], network_type: int = 0) -> str:
    """A DeepStream label file. nvinfer (NvDsInferContextImpl::parseLabelsFile in DeepStream's open
    nvdsinfer source) keeps each line as the label list of one *output layer*, split at ';': a detector's
    class k is line k, but a classifier's class k is item k of line 0 (its one softmax output). One class
    per line would give a classifier label only to class 0, so classifiers (network-type=1) get one
    ';'-separated line, the form TAO's classification deployment docs and NGC's classifiers use."""
    if network_type == 1:
        return ";".join(names) + "\n"
    return "".join(f"{name}\n" for name in names)
