"""Metrics of softgate-mmpose, registered into MMPose's ``METRICS`` registry."""
from .lsp_pck import LspPCKAccuracy

__all__ = ['LspPCKAccuracy']
