from .builder import build_block
from .hierarchical_block import HierarchicalBlock
from .hourglass_module import SoftGatedHourglassModule
from .preact_bottleneck import PreActBottleneck
from .soft_gated_skip import SoftGatedSkip

__all__ = [
    'build_block', 'HierarchicalBlock', 'PreActBottleneck', 'SoftGatedSkip',
    'SoftGatedHourglassModule'
]
