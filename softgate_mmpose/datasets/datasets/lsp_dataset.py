# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
import os.path as osp
from typing import List

from mmengine.fileio import exists
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.registry import DATASETS

# Absolute path, so that the metainfo loads from any working directory and from
# an installed package (``metainfo`` is a package, hence shipped with the
# wheel).
LSP_METAINFO_FILE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'metainfo', 'lsp.py')


@DATASETS.register_module()
class LspDataset(BaseCocoStyleDataset):
    """Leeds Sports Pose (LSP) and LSP-extended datasets.

    "Clustered Pose and Nonlinear Appearance Models for Human Pose
    Estimation", BMVC'2010, and "Learning Effective Human Pose Estimation from
    Inaccurate Annotation", CVPR'2011. One person per image.

    The annotations are COCO-style keypoint JSON files written by
    ``tools/dataset_converters/lsp2coco.py`` (``lsp_train.json``,
    ``lsp_test.json``, ``lspet_train.json``, ``lsp+lspet_train.json``). Their
    visibility follows COCO: 2 = visible, 1 = labelled but occluded, 0 = not
    labelled; like MMPose, ``keypoints_visible`` is ``min(1, v)``, so occluded
    joints are trained and evaluated.

    LSP keypoints::

        0: 'right_ankle',
        1: 'right_knee',
        2: 'right_hip',
        3: 'left_hip',
        4: 'left_knee',
        5: 'left_ankle',
        6: 'right_wrist',
        7: 'right_elbow',
        8: 'right_shoulder',
        9: 'left_shoulder',
        10: 'left_elbow',
        11: 'left_wrist',
        12: 'neck',
        13: 'head_top'

    Args:
        See :class:`mmpose.datasets.BaseCocoStyleDataset`; the usual ones are
        ``data_root``, ``ann_file``, ``data_prefix=dict(img=...)``,
        ``data_mode='topdown'``, ``pipeline`` and ``test_mode``.
    """

    METAINFO: dict = dict(from_file=LSP_METAINFO_FILE)

    def load_data_list(self) -> List[dict]:
        """Load the annotation file, failing with a message that names it
        and how to create it."""
        if not exists(self.ann_file):
            raise FileNotFoundError(
                f'{self.__class__.__name__}: annotation file '
                f'"{self.ann_file}" does not exist. Expected a COCO-style '
                'keypoint JSON written by tools/dataset_converters/'
                'lsp2coco.py (check data_root and ann_file).')
        return super().load_data_list()
