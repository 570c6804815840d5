from .softgate_hourglass import SoftGatedStackedHourglass

__all__ = ['SoftGatedStackedHourglass']
