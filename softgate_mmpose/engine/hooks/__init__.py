"""Hooks of softgate-mmpose, registered into MMPose's ``HOOKS`` registry."""
from .joint_map_hook import JointMapCheckpointHook, map_joint_weights

__all__ = ['JointMapCheckpointHook', 'map_joint_weights']
