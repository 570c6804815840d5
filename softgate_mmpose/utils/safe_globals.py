# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Let mmengine's checkpoints load with ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` unpickles only allow-listed globals. mmengine
0.10.7 writes numpy arrays and scalars (``dataset_meta``, scheduler and
message hub state) and :class:`~mmengine.logging.HistoryBuffer` objects into
its checkpoints, so its own Runner cannot resume from them. Rather than
switching safe loading off, allow exactly these data-only types (the approach
of mmengine's unreleased PR #1670). Everything else, a code payload included,
is still refused by every load path.
"""
import pickle
from typing import Any, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# HistoryBuffer pickles its statistics methods (``HistoryBuffer.min`` ...)
# as ``getattr(HistoryBuffer, 'min')``, and __setstate__ puts them into a
# class-level registry that mmengine calls later.
_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def _checkpoint_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    The real ``getattr`` would hand a checkpoint any attribute reachable from
    an allowed object (``getattr.__self__`` is the builtins module), so only
    HistoryBuffer's own statistics methods resolve.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only '
        f'HistoryBuffer.{{{",".join(_HISTORY_BUFFER_METHODS)}}} are allowed')


def _numpy_safe_globals() -> List[object]:
    """numpy's array and scalar reconstructors and its dtype classes."""
    # numpy 1.x pickles through numpy.core, numpy 2.x through numpy._core.
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    items = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    # Since numpy 1.25 a dtype pickles as its class, e.g. Float64DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and name != 'ObjectDType'
        ]
    return items


def checkpoint_safe_globals() -> List[object]:
    """The globals an mmengine Runner checkpoint needs, and nothing else.

    Returns:
        list: Objects and ``(object, pickled name)`` pairs for
        :func:`torch.serialization.add_safe_globals`.
    """
    return _numpy_safe_globals() + [
        HistoryBuffer, (_checkpoint_getattr, 'builtins.getattr')
    ]


def register_checkpoint_safe_globals() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load``.

    Called once, when :mod:`softgate_mmpose` is imported (every config's
    ``custom_imports`` does), because mmengine's Runner, ``load_checkpoint``
    and MMPose's ``init_model`` call ``torch.load`` themselves, with no way to
    pass a ``torch.serialization.safe_globals`` context. torch's allow-list is
    process-wide: this is the plugin's one change of global state besides its
    registry entries. Idempotent; a no-op on torch versions without safe
    globals.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:
        return
    registered = torch.serialization.get_safe_globals()
    add_safe_globals(
        [g for g in checkpoint_safe_globals() if g not in registered])
