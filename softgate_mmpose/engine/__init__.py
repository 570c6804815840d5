"""Runner extensions of softgate-mmpose.

Registered into MMPose's registries.
"""
from .hooks import *  # noqa: F401,F403
