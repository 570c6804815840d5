"""Datasets of softgate-mmpose."""
from .datasets.lsp_dataset import LSP_METAINFO_FILE, LspDataset

__all__ = ['LSP_METAINFO_FILE', 'LspDataset']
