"""Models of softgate-mmpose, registered into MMPose's ``MODELS`` registry."""
from .backbones import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
