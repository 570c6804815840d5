"""Converters of third-party checkpoints to the plugin's models."""
from .sgsc import (ARCHS, CheckpointMismatchError, convert_checkpoint,
                   convert_state_dict, load_reference_state_dict,
                   mpii_dataset_meta, reference_parameters)

__all__ = [
    'ARCHS', 'CheckpointMismatchError', 'convert_checkpoint',
    'convert_state_dict', 'load_reference_state_dict', 'mpii_dataset_meta',
    'reference_parameters'
]
