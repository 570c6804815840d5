"""Runner extensions of softgate-mmpose, registered into MMPose's registries."""
from .hooks import *  # noqa: F401,F403
