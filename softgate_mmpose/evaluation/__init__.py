"""Metrics of softgate-mmpose."""
from .metrics import LspPCKAccuracy

__all__ = ['LspPCKAccuracy']
