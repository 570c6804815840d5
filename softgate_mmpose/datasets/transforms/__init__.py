"""Data transforms of softgate-mmpose, registered into MMPose's ``TRANSFORMS`` registry."""
from .common_transforms import UniformRandomBBoxTransform

__all__ = ['UniformRandomBBoxTransform']
