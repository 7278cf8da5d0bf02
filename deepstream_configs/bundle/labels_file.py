"""``bundle --labels``: the labels.txt an NGC model ships with, checked against the model.

NGC detectors ship one class per line (``labels.txt``, ``labels_peoplenet.txt``); NGC classifiers
(VehicleTypeNet, VehicleMakeNet) ship DeepStream's classifier form, all classes on one line separated
by ``;``. Either way the lines are already in the model's class-id order, which is what DeepStream's
``labelfile-path`` and labels.txt in a bundle mean, so they are used as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import check_input_file
from taostream.converter.registry import Network, spec_network_mismatch
from taostream.deepstream_configs.labels import Labels, label_encoding_problem, labels_for_network, read_labels_file
from taostream.deepstream_configs.specs.access import as_spec_dict


def read_ngc_labels(path: str | os.PathLike) -> list[str]:
    path = check_input_file(path, "--labels", "the labels.txt that came with the model")
    try:
        problem = label_encoding_problem(path)
        if problem:
            raise TaostreamError(f"{path}: --labels {problem}")
        names = read_labels_file(path)
    except UnicodeDecodeError:
        raise TaostreamError(f"{path}: --labels is not a UTF-8 text file; pass the model's labels.txt") from None
    except OSError as exc:
        raise TaostreamError(f"{path}: cannot read --labels ({exc.strerror})") from None
    if not names:
        raise TaostreamError(f"{path}: --labels is empty; it needs one class name per line, in the model's output order")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TaostreamError(f"{path}: --labels names {duplicates[0]!r} twice; each line is one class id of the model")
    return names


def labels_from_file(path: str | os.PathLike, net: Network, spec=None, spec_source: str = "") -> Labels:
    """The --labels classes (bundle checks their count against the graph, converter.model_classes);
    a spec given as well only warns when its classes differ (the file wins)."""
    names = read_ngc_labels(path)
    warnings = []
    if spec is not None:
        # the spec still sets the thresholds and clustering: another network's spec is refused as without --labels
        mismatch = spec_network_mismatch(net, as_spec_dict(spec).keys(), spec_source or "--spec")
        if mismatch:
            raise TaostreamError(mismatch)
        try:
            from_spec = labels_for_network(net, spec, source=spec_source).names
        except TaostreamError:
            from_spec = None
        if from_spec is not None and from_spec != names:
            warnings.append(f"{path}: --labels ({', '.join(names)}) differs from the classes of {spec_source} "
                            f"({', '.join(from_spec)}); labels.txt follows --labels")
    return Labels(names, warnings)
