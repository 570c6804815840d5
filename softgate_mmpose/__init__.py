"""softgate-mmpose: soft-gated skip connections (Bulat et al., FG 2020).

An MMPose 1.x plugin. Importing this package registers its models, datasets
and metrics into MMPose's registries and makes mmengine's checkpoints loadable
with ``torch.load(weights_only=True)``.
"""
from .utils import register_checkpoint_safe_globals
from .version import __version__

# Process-wide, on purpose: torch.load(weights_only=True) in mmengine and
# MMPose accepts the data-only types mmengine writes into checkpoints (numpy
# data, HistoryBuffer), nothing more.
register_checkpoint_safe_globals()

# Imported for their registration side effects, after the safe globals.
from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'register_checkpoint_safe_globals']
