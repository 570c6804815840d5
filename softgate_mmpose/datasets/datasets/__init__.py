"""Datasets of softgate-mmpose.

Registered into MMPose's ``DATASETS`` registry.
"""
from .lsp_dataset import LSP_METAINFO_FILE, LspDataset
from .mpii_dataset import CheckedMpiiDataset

__all__ = ['LSP_METAINFO_FILE', 'LspDataset', 'CheckedMpiiDataset']
