"""Dataset converters of softgate-mmpose: native annotation files to the
COCO-style JSON that MMPose's datasets read. ``tools/dataset_converters/``
holds their command lines."""
from .lsp import convert_dataset, convert_lsp, select_images, write_coco

__all__ = ['convert_dataset', 'convert_lsp', 'select_images', 'write_coco']
