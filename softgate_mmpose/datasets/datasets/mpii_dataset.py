# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
import json
import os.path as osp
from typing import List, Tuple

from mmengine.fileio import exists, get_local_path, isdir
from mmpose.datasets.datasets.body import MpiiDataset
from mmpose.registry import DATASETS
from scipy.io import loadmat


@DATASETS.register_module()
class CheckedMpiiDataset(MpiiDataset):
    """MMPose's :class:`~mmpose.datasets.MpiiDataset` that checks every input
    path before it is used.

    ``MpiiDataset`` only asserts that the annotation and head-box files exist
    (an ``AssertionError``, gone under ``python -O``, that does not say what
    the file should be), and a missing image surfaces only when the pipeline
    first reads it, possibly hours into training. This subclass loads the
    same samples but first checks, in this order, and raises an error that
    names the path and what was expected there:

    - ``data_root`` is a directory;
    - ``ann_file`` exists (MMPose's MPII JSON);
    - ``headbox_file`` (if given) exists and holds ``headboxes_src`` of shape
      (2, 2, N), one box per annotation (``mpii_gt_val.mat``);
    - the image directory exists and so does every image the annotations
      name (the first few missing ones are listed).

    Args:
        See :class:`~mmpose.datasets.MpiiDataset`.
    """

    #: Number of missing images named in the error.
    MAX_LISTED_IMAGES = 5

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        """Check the input paths, then load as ``MpiiDataset``."""
        self._check_data_root()
        if not exists(self.ann_file):
            raise FileNotFoundError(
                f'{self.__class__.__name__}: annotation file '
                f'"{self.ann_file}" does not exist. Expected MMPose\'s MPII '
                'annotation JSON (a list of records with "image", "center", '
                '"scale", "joints", "joints_vis"), e.g. mpii_train.json or '
                'mpii_val.json from MMPose\'s MPII download; check data_root '
                'and ann_file.')
        if self.headbox_file:
            self._check_headbox_file()
        instance_list, image_list = super()._load_annotations()
        self._check_images(image_list)
        return instance_list, image_list

    def _check_data_root(self) -> None:
        """Raise if ``data_root`` is given but is not a directory."""
        if self.data_root and not isdir(self.data_root):
            ann_file = osp.relpath(self.ann_file, self.data_root)
            img_dir = osp.relpath(self.data_prefix['img'], self.data_root)
            images = 'the images' if img_dir == '.' else \
                f'the image directory "{img_dir}"'
            raise FileNotFoundError(
                f'{self.__class__.__name__}: data root "{self.data_root}" is '
                'not a directory. Expected the MPII data root holding the '
                f'annotation file "{ann_file}" and {images} (set data_root '
                'in the config, or link the dataset there).')

    def _check_headbox_file(self) -> None:
        """Raise unless the head-box file exists with one box per
        annotation."""
        name = self.__class__.__name__
        if not exists(self.headbox_file):
            raise FileNotFoundError(
                f'{name}: head-box file "{self.headbox_file}" does not exist. '
                'Expected MPII\'s mpii_gt_val.mat (variable "headboxes_src", '
                '2x2xN head boxes of the validation annotations), needed by '
                'MpiiPCKAccuracy to normalise PCKh; check headbox_file.')
        with get_local_path(self.headbox_file) as local_path:
            boxes = loadmat(local_path).get('headboxes_src')
        if boxes is None or boxes.ndim != 3 or boxes.shape[:2] != (2, 2):
            shape = None if boxes is None else boxes.shape
            raise ValueError(
                f'{name}: head-box file "{self.headbox_file}" has no '
                f'"headboxes_src" of shape (2, 2, N) (found {shape}); '
                'expected MPII\'s mpii_gt_val.mat.')
        # MpiiDataset pairs boxes and annotations by position.
        with get_local_path(self.ann_file) as local_path:
            with open(local_path) as f:
                num_anns = len(json.load(f))
        if boxes.shape[2] != num_anns:
            raise ValueError(
                f'{name}: head-box file "{self.headbox_file}" holds '
                f'{boxes.shape[2]} head boxes but annotation file '
                f'"{self.ann_file}" holds {num_anns} annotations; the boxes '
                'must match the annotations one to one (mpii_gt_val.mat goes '
                'with mpii_val.json).')

    def _check_images(self, image_list: List[dict]) -> None:
        """Raise if the image directory or any annotated image is missing."""
        name = self.__class__.__name__
        img_dir = self.data_prefix['img'] or self.data_root
        if img_dir and not isdir(img_dir):
            raise FileNotFoundError(
                f'{name}: image directory "{img_dir}" does not exist. '
                'Expected the MPII images (e.g. 005808361.jpg) named by '
                f'"{self.ann_file}"; check data_root and data_prefix.img.')
        missing = [
            info['img_path'] for info in image_list
            if not exists(info['img_path'])
        ]
        if missing:
            listed = ', '.join(f'"{path}"'
                               for path in missing[:self.MAX_LISTED_IMAGES])
            more = len(missing) - self.MAX_LISTED_IMAGES
            raise FileNotFoundError(
                f'{name}: {len(missing)} of {len(image_list)} images named by '
                f'"{self.ann_file}" do not exist: {listed}' +
                (f' and {more} more' if more > 0 else '') +
                f'. Expected them in "{img_dir}" (check data_prefix.img).')
