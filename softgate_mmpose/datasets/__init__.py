"""Datasets of softgate-mmpose."""
from .datasets.lsp_dataset import LSP_METAINFO_FILE, LspDataset
from .transforms import UniformRandomBBoxTransform

__all__ = ['LSP_METAINFO_FILE', 'LspDataset', 'UniformRandomBBoxTransform']
