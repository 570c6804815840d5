"""Data transforms of softgate-mmpose.

Registered into MMPose's ``TRANSFORMS`` registry.
"""
from .common_transforms import UniformRandomBBoxTransform

__all__ = ['UniformRandomBBoxTransform']
