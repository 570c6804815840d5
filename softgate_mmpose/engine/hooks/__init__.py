"""Hooks of softgate-mmpose, registered into MMPose's ``HOOKS`` registry."""
from .joint_map_hook import JointMapCheckpointHook, map_joint_weights
from .memory_format_hook import MemoryFormatHook
from .truncate_stacks_hook import TruncateStacksHook

__all__ = [
    'JointMapCheckpointHook', 'MemoryFormatHook', 'TruncateStacksHook',
    'map_joint_weights'
]
