"""Triton client runner: one model on a Triton server over HTTP or gRPC (tritonclient).

``infer`` sends one request per chunk of at most the model's max_batch_size images (client-side
batching; the server may batch further with dynamic batching); ``infer_async`` returns a
concurrent.futures.Future so many requests can be in flight; ``shared_memory=True`` passes inputs
and outputs through POSIX system shared memory instead of the socket (same host only).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import socket
import threading
import time
import uuid

import numpy as np

from taostream.converter.errors import TaostreamError, require
from taostream.inference.backends.runners import Runner, TensorMetadata

_TRITON_TO_NUMPY = {"FP32": np.float32, "FP16": np.float16, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64,
                    "INT8": np.int8, "UINT8": np.uint8, "BOOL": np.bool_}
PROTOCOLS = ("http", "grpc")


def triton_url(url: str, protocol: str, protocol_fix: str = "pass --protocol {scheme}") -> str:
    """HOST:PORT as tritonclient takes it. The URL `taostream serve` prints (``http://127.0.0.1:8000``)
    is taken too (tritonclient refuses a scheme, and failed inside its constructor with a traceback);
    https (TLS) and a URL without a port are one error line."""
    text = str(url).strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    if sep:
        scheme = scheme.lower()
        if scheme not in PROTOCOLS:
            raise TaostreamError(f"--url {url}: taostream talks to Triton over plain HTTP or gRPC, not {scheme}; "
                                 "give HOST:PORT, e.g. 127.0.0.1:8000")
        if scheme != protocol:
            raise TaostreamError(f"--url {url} is a {scheme} address, but the protocol is {protocol}: "
                                 f"{protocol_fix.format(scheme=scheme)}, or give Triton's {protocol} port as HOST:PORT")
        text = rest
    host, _, port = text.rpartition(":")
    if not host or "/" in text or not port.isdigit() or not 0 < int(port) < 65536:
        raise TaostreamError(f"--url {url}: give the server as HOST:PORT, e.g. 127.0.0.1:8000 (HTTP) or "
                             "127.0.0.1:8001 (gRPC), as `taostream serve` prints them")
    return text


def _port_open(url: str, timeout_s: float = 2.0) -> bool:
    """True when a TCP connection to HOST:PORT succeeds (a server is there, whatever it speaks)."""
    host, _, port = url.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def _client_module(protocol: str):
    if protocol not in PROTOCOLS:
        raise TaostreamError(f"Triton protocol '{protocol}': use http or grpc")
    return require(f"tritonclient.{protocol}", "tritonclient", "triton", f"talking to Triton over {protocol}")


def split_batches(array: np.ndarray, max_batch_size: int) -> list[np.ndarray]:
    """Chunks along axis 0 of at most max_batch_size (0 = the model does not batch: one chunk)."""
    if max_batch_size <= 0 or len(array) <= max_batch_size:
        return [array]
    return [array[i : i + max_batch_size] for i in range(0, len(array), max_batch_size)]


def _tensor_list(metadata, key: str) -> list[dict]:
    return [{"name": t["name"], "datatype": t["datatype"], "shape": [int(d) for d in t.get("shape", [])]}
            for t in metadata.get(key, [])]


class TritonRunner(Runner):
    """Runner for one model of a Triton server. ``url``: host:port of the HTTP or gRPC endpoint."""

    name = "triton"
    mismatch_fix = ("the server's model is not the bundle's as written (its config.pbtxt names other tensors or "
                    "dims): find the difference with `taostream check BUNDLE`, or serve the bundle itself "
                    "(`taostream serve BUNDLE`)")

    def __init__(self, url: str, model_name: str, protocol: str = "http", model_version: str = "",
                 shared_memory: bool = False, concurrency: int = 8, timeout_s: float = 60.0):
        super().__init__()
        self.url, self.model_name, self.protocol = triton_url(url, protocol), model_name, protocol
        self.model_version, self.shared_memory, self.concurrency, self.timeout_s = model_version, shared_memory, concurrency, timeout_s
        self.client = None
        self.module = None
        self.inputs: list[dict] = []
        self.outputs: list[dict] = []
        self.max_batch_size = 0
        self._shm_regions: dict[str, tuple] = {}  # tensor name -> (region name, handle, bytes)
        self._shm_lock = threading.Lock()
        self._thread = threading.local()  # HTTP: each other thread's own client
        self._thread_clients: list = []
        self._owner: int | None = None

    def _new_client(self):
        if self.protocol == "http":
            return self.module.InferenceServerClient(self.url, concurrency=self.concurrency,
                                                     network_timeout=self.timeout_s)
        return self.module.InferenceServerClient(self.url)

    def _calling_client(self):
        """The client for the calling thread. tritonclient.http runs on gevent, whose connections
        belong to the thread that made them (another thread's call fails with "Cannot switch to a
        different thread"): over HTTP each other thread gets a client of its own."""
        if self.protocol != "http" or threading.get_ident() == self._owner:
            return self.client
        client = getattr(self._thread, "client", None)
        if client is None:
            client = self._thread.client = self._new_client()
            with self._shm_lock:
                self._thread_clients.append(client)
        return client

    def _activate(self) -> None:
        self.module = _client_module(self.protocol)
        self._owner = threading.get_ident()
        self.client = self._new_client()
        try:
            ready = self.client.is_model_ready(self.model_name, self.model_version)
        except Exception as exc:  # tritonclient raises InferenceServerException or socket errors
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if _port_open(self.url):  # something listens there, but does not speak this protocol
                other = "grpc" if self.protocol == "http" else "http"
                raise TaostreamError(
                    f"{self.url} answers, but not as Triton over {self.protocol} ({reason}); the protocol may be "
                    f"wrong: if it is Triton's {other.upper()} port, pass --protocol {other} (taostream serve prints "
                    "both URLs: HTTP 8000 and gRPC 8001 by default)") from None
            raise TaostreamError(f"Triton at {self.url} ({self.protocol}) is not reachable: {reason}; "
                                 "start it with `taostream serve BUNDLE`") from None
        if not ready:
            raise TaostreamError(f"Triton at {self.url}: model '{self.model_name}' is not ready; check the server log "
                                 "and the model name (`taostream serve` prints it)")
        as_json = {} if self.protocol == "http" else {"as_json": True}
        metadata = self.client.get_model_metadata(self.model_name, self.model_version, **as_json)
        config = self.client.get_model_config(self.model_name, self.model_version, **as_json)
        config = config.get("config", config)
        self.inputs, self.outputs = _tensor_list(metadata, "inputs"), _tensor_list(metadata, "outputs")
        self.max_batch_size = int(config.get("max_batch_size", 0))
        if self.shared_memory:
            self._register_shared_memory()

    def _deactivate(self) -> None:
        if self._shm_regions:
            self._unregister_shared_memory()
        for client in self._thread_clients:
            client.close()
        self._thread_clients.clear()
        self._thread = threading.local()
        if self.client is not None:
            self.client.close()
            self.client = None

    def input_metadata(self) -> dict[str, TensorMetadata]:
        return {t["name"]: TensorMetadata(np.dtype(_TRITON_TO_NUMPY[t["datatype"]]), tuple(t["shape"])) for t in self.inputs}

    # --- requests -------------------------------------------------------------------------------------
    def _request(self, feed: dict[str, np.ndarray]):
        inputs = []
        for spec in self.inputs:
            array = np.ascontiguousarray(feed[spec["name"]], dtype=_TRITON_TO_NUMPY[spec["datatype"]])
            tensor = self.module.InferInput(spec["name"], list(array.shape), spec["datatype"])
            if self._shm_regions:
                region, handle, _ = self._shm_regions[spec["name"]]
                from tritonclient.utils import shared_memory  # lazy: optional (triton)

                shared_memory.set_shared_memory_region(handle, [array])
                tensor.set_shared_memory(region, array.nbytes)
            else:
                tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        outputs = []
        for spec in self.outputs:
            requested = self.module.InferRequestedOutput(spec["name"])
            if self._shm_regions:
                region, _, nbytes = self._shm_regions[spec["name"]]
                requested.set_shared_memory(region, nbytes)
            outputs.append(requested)
        return inputs, outputs

    def _results(self, result) -> dict[str, np.ndarray]:
        if not self._shm_regions:
            return {spec["name"]: result.as_numpy(spec["name"]) for spec in self.outputs}
        from tritonclient.utils import shared_memory  # lazy: optional (triton)

        arrays = {}
        for spec in self.outputs:
            output = result.get_output(spec["name"])
            shape = [int(d) for d in (output["shape"] if isinstance(output, dict) else output.shape)]
            _, handle, _ = self._shm_regions[spec["name"]]
            arrays[spec["name"]] = shared_memory.get_contents_as_numpy(handle, _TRITON_TO_NUMPY[spec["datatype"]], shape).copy()
        return arrays

    def _infer_one(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with self._shm_lock if self._shm_regions else contextlib.nullcontext():
            inputs, outputs = self._request(feed)
            try:
                result = self._calling_client().infer(self.model_name, inputs, model_version=self.model_version,
                                                      outputs=outputs)
            except Exception as exc:
                raise TaostreamError(f"Triton model '{self.model_name}' at {self.url}: request failed: {exc}") from None
            return self._results(result)

    def _infer(self, feed_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = list(feed_dict)
        chunks = zip(*(split_batches(np.asarray(feed_dict[n]), self.max_batch_size) for n in names))
        results = [self._infer_one(dict(zip(names, chunk))) for chunk in chunks]
        if len(results) == 1:
            return results[0]
        return {name: np.concatenate([r[name] for r in results]) for name in results[0]}

    def infer_async(self, feed_dict: dict[str, np.ndarray]) -> concurrent.futures.Future:
        """Send one request (at most max_batch_size images) without waiting; the Future gives the outputs.
        Over HTTP (gevent), call result() on the thread that sent the request."""
        if not self.is_active:
            raise TaostreamError(f"{self.name}: call activate() before infer_async()")
        if self._shm_regions:
            raise TaostreamError("infer_async with shared_memory=True is not supported (one region per runner); "
                                 "use one runner per concurrent client")
        future: concurrent.futures.Future = concurrent.futures.Future()
        inputs, outputs = self._request(feed_dict)
        if self.protocol == "grpc":
            def done(result, error):
                if error is not None:
                    future.set_exception(TaostreamError(f"Triton model '{self.model_name}': request failed: {error}"))
                else:
                    future.set_result(self._results(result))

            self.client.async_infer(self.model_name, inputs, done, model_version=self.model_version, outputs=outputs)
            return future
        pending = self._calling_client().async_infer(self.model_name, inputs, model_version=self.model_version,
                                                     outputs=outputs)
        return _HttpFuture(pending, self._results, self.model_name)

    # --- system shared memory -------------------------------------------------------------------------
    def _tensor_bytes(self, spec: dict) -> int:
        shape = list(spec["shape"])
        if self.max_batch_size > 0:
            shape[0] = self.max_batch_size
        if spec["datatype"] not in _TRITON_TO_NUMPY:
            raise TaostreamError(f"Triton model '{self.model_name}': tensor '{spec['name']}' is {spec['datatype']}, "
                                 "which has no fixed size for shared memory; run without --shared-memory")
        if any(d < 0 for d in shape):
            raise TaostreamError(f"Triton model '{self.model_name}': tensor '{spec['name']}' has dynamic dims {spec['shape']}; "
                                 "shared memory needs fixed sizes (use shared_memory=False)")
        return int(np.prod(shape, dtype=np.int64)) * np.dtype(_TRITON_TO_NUMPY[spec["datatype"]]).itemsize

    def _register_shared_memory(self) -> None:
        shared_memory = require("tritonclient.utils.shared_memory", "tritonclient", "triton", "Triton shared memory")
        tag = uuid.uuid4().hex[:12]
        for spec in self.inputs + self.outputs:
            nbytes = self._tensor_bytes(spec)
            region = f"taostream_{tag}_{len(self._shm_regions)}"
            handle = shared_memory.create_shared_memory_region(region, f"/{region}", nbytes)
            self._shm_regions[spec["name"]] = (region, handle, nbytes)
            self.client.register_system_shared_memory(region, f"/{region}", nbytes)

    def _unregister_shared_memory(self) -> None:
        from tritonclient.utils import shared_memory  # lazy: optional (triton)

        for region, handle, _ in self._shm_regions.values():
            try:
                self._unregister_region(region)
            finally:
                shared_memory.destroy_shared_memory_region(handle)
        self._shm_regions.clear()

    def _unregister_region(self, region: str, attempts: int = 50, pause_s: float = 0.02) -> None:
        """The server releases a region a moment after the response that used it has been sent, so
        "currently in use" right after an inference is retried briefly; other errors surface."""
        for attempt in range(attempts):
            try:
                self.client.unregister_system_shared_memory(region)
                return
            except Exception as exc:  # tritonclient raises InferenceServerException
                if "in use" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(pause_s)


class _HttpFuture(concurrent.futures.Future):
    """The HTTP client's pending request as a Future. tritonclient.http runs on gevent, whose
    results must be collected on the thread that sent the request: result() does that on demand."""

    def __init__(self, pending, convert, model_name: str):
        super().__init__()
        self._pending, self._convert, self._model_name = pending, convert, model_name

    def result(self, timeout: float | None = None):
        if not self.done():
            try:
                self.set_result(self._convert(self._pending.get_result(timeout=timeout)))
            except Exception as exc:  # InferenceServerException, timeouts
                self.set_exception(TaostreamError(f"Triton model '{self._model_name}': request failed: {exc}"))
        return super().result(timeout=0)


def server_detections(outputs: dict[str, np.ndarray], index: int) -> list:
    """Image ``index`` of the CPU Triton model's reply (``num_detections``, ``detections`` and, for
    instance segmentation, ``masks`` [K, H, W]) as Detection objects in network pixels, each with its
    mask when the reply has masks."""
    # lazy: cycle (inference.detector imports this one, through others)
    from taostream.inference.detector import unpack_server_detections

    by_name = {name.split(":")[0]: array for name, array in outputs.items()}
    detections = unpack_server_detections(by_name["num_detections"][index], by_name["detections"][index])
    if "masks" not in by_name:
        return detections
    masks = np.asarray(by_name["masks"][index], dtype=np.float32)
    if masks.ndim != 3 or len(masks) < len(detections):
        raise TaostreamError(f"the Triton model returned masks of shape {list(masks.shape)} for {len(detections)} "
                             "detections; expected [K, H, W] with K >= num_detections")
    return [dataclasses.replace(det, mask=masks[row].copy()) for row, det in enumerate(detections)]
