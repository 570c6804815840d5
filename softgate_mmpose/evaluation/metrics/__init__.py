"""Metrics of softgate-mmpose.

Registered into MMPose's ``METRICS`` registry.
"""
from .lsp_pck import LspPCKAccuracy

__all__ = ['LspPCKAccuracy']
