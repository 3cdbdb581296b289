"""Read the tensors of a PyTorch checkpoint (`.pt`, a zip of a pickle and raw storages) into numpy, without
torch and without running any code from the file.

A checkpoint's pickle names classes (`ultralytics.nn.modules.Conv`, `torch.nn.Conv2d`, ...). A plain
`pickle.load` would import and call them; here every global is mapped to an inert `Stub` that only records
its class name, constructor arguments and state, except a short allow-list of pure rebuild functions
(tensors, parameters, ordered dicts). The result is a tree of `Stub`s whose attributes hold numpy arrays.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_STORAGE_DTYPES: dict[str, type[np.generic]] = {
    "HalfStorage": np.float16,
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "BFloat16Storage": np.float32,  # not expected in the models used here; refused below
}
_TORCH_DTYPES: dict[str, type[np.generic]] = {
    "float16": np.float16,
    "half": np.float16,
    "float32": np.float32,
    "float": np.float32,
    "float64": np.float64,
    "int64": np.int64,
    "long": np.int64,
    "int32": np.int32,
    "uint8": np.uint8,
    "int8": np.int8,
    "bool": np.bool_,
}


class CheckpointError(ValueError):
    """The file is not a PyTorch checkpoint this reader understands."""


class Stub:
    """An inert stand-in for any class a checkpoint names: it keeps the name, arguments and state."""

    qualname = "Stub"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}  # (dict state, slot state)
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__["state"] = state

    def __call__(self, *args: Any, **kwargs: Any) -> Stub:  # e.g. a stubbed function called by REDUCE
        return _stub_class(f"{self.qualname}()")(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self.qualname}>"


def _stub_class(qualname: str) -> type[Stub]:
    return type(qualname.rsplit(".", 1)[-1], (Stub,), {"qualname": qualname})


class _StorageType:
    def __init__(self, name: str) -> None:
        if name == "BFloat16Storage":
            raise CheckpointError("bfloat16 tensors are not supported")
        self.dtype = _STORAGE_DTYPES[name]


def _rebuild_tensor(storage: npt.NDArray[Any], offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_: Any) -> npt.NDArray[Any]:  # fmt: skip
    if not size:
        return storage[offset : offset + 1].reshape(()).copy()
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=tuple(s * itemsize for s in stride), writeable=False
    )
    return np.array(view)


def _rebuild_parameter(data: npt.NDArray[Any], *_: Any) -> npt.NDArray[Any]:
    return data


_ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): OrderedDict,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name in _TORCH_DTYPES:
            return _TORCH_DTYPES[name]
        return _stub_class(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise CheckpointError(f"unexpected persistent id {pid!r}")
        _, kind, key, _location, numel = pid
        dtype = kind.dtype if isinstance(kind, _StorageType) else np.dtype(kind)
        raw = self._archive.read(f"{self._prefix}data/{key}")
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        if array.size != numel:
            raise CheckpointError(f"storage {key}: {array.size} values, the pickle says {numel}")
        return array


def load_checkpoint(path: Path) -> Any:
    """The checkpoint's pickled object, with `Stub`s for classes and numpy arrays for tensors."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise CheckpointError(f"{path}: expected one data.pkl in the archive, found {len(pickles)}")
            prefix = pickles[0][: -len("data.pkl")]
            order = archive.read(f"{prefix}byteorder").decode() if f"{prefix}byteorder" in archive.namelist() else ""
            if order and order != "little":
                raise CheckpointError(f"{path}: big-endian checkpoints are not supported")
            with archive.open(pickles[0]) as handle:
                return _RestrictedUnpickler(handle, archive, prefix).load()
    except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError, KeyError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({exc})") from None
