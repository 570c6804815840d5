# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.registry import METRICS


@METRICS.register_module()
class LspPCKAccuracy(BaseMetric):
    """PCK of the LSP datasets, normalised by each person's torso.

    A joint is correct when ``||pred - gt|| <= thr * torso``, where ``torso``
    is the ground-truth distance between the left shoulder and the right hip
    (LSP joints 9 and 2), the standard LSP PCK@0.2. MMPose's
    ``PCKAccuracy(norm_item='torso')`` cannot be used: it measures JHMDB's
    joints 4 and 5. Which joints are scored depends on ``mode``:

    - ``'labelled'`` (default): the joints labelled in the image
      (``keypoints_visible > 0``, occluded ones included), as MMPose's
      metrics do. A person whose left shoulder or right hip is unlabelled, or
      whose torso length is 0, has no scale: all of that person's joints are
      left out of every value and the number of such persons is logged as a
      warning (MMPose falls back to the predicted torso, which would let a
      prediction set its own tolerance). Right for LSP-extended, whose
      unlabelled joints have no position.
    - ``'all'``: all 14 joints of every person, whatever their visibility,
      as the standard LSP evaluation script does on LSP's 1000 test images
      (``eval_pck.m`` of the evaluation code used by Chen & Yuille, Yang et
      al. and later work), so that figures compare with the literature's.
      LSP annotates every joint, and ``lsp2coco.py`` keeps the positions of
      LSP joints outside the image (visibility 0) for this. A person with a
      zero torso scores 0 on every joint (the script's division by zero),
      logged as a warning.

    Parts pool the scored joints of both sides (``Head`` = neck and
    head-top): a part's PCK is its correct joints over its scored joints, and
    ``Mean`` is that ratio over all scored joints; with ``mode='all'`` this
    equals the script's average of the left and right joints. Values are
    percent. A part without any scored joint is NaN.

    Note:
        - number of persons: N
        - number of keypoints: K = 14
        - keypoint dimensions: D = 2

    Args:
        thr (float): Threshold as a fraction of the torso. Defaults to 0.2.
        mode (str): ``'labelled'`` or ``'all'``, see above. Defaults to
            ``'labelled'``.
        collect_device (str): Device used to collect results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None
            (the names are ``'Head'``, ..., ``'Ankle'``, ``'Mean'``).
    """

    #: LSP joint indices of each reported part.
    PARTS = OrderedDict(
        Head=(12, 13),
        Shoulder=(8, 9),
        Elbow=(7, 10),
        Wrist=(6, 11),
        Hip=(2, 3),
        Knee=(1, 4),
        Ankle=(0, 5))
    #: Torso = ||left_shoulder - right_hip||.
    TORSO_JOINTS = (9, 2)
    NUM_KEYPOINTS = 14
    MODES = ('labelled', 'all')

    def __init__(self,
                 thr: float = 0.2,
                 mode: str = 'labelled',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if thr <= 0:
            raise ValueError(f'thr must be > 0, got {thr}')
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got {mode!r}')
        self.thr = thr
        self.mode = mode

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Store the correctness of every scored joint of the batch.

        Args:
            data_batch (Sequence[dict]): A batch of data from the dataloader.
            data_samples (Sequence[dict]): The model outputs as dicts with
                ``pred_instances.keypoints`` (N, K, D) and
                ``gt_instances.keypoints`` (N, K, D) and
                ``gt_instances.keypoints_visible`` (N, K) or (N, K, 1), all
                in original image coordinates.
        """
        for data_sample in data_samples:
            pred = np.asarray(
                data_sample['pred_instances']['keypoints'], dtype=np.float64)
            gt_instances = data_sample['gt_instances']
            gt = np.asarray(gt_instances['keypoints'], dtype=np.float64)
            visible = np.asarray(gt_instances['keypoints_visible'])
            gt = gt.reshape(-1, self.NUM_KEYPOINTS, gt.shape[-1])[..., :2]
            pred = pred.reshape(gt.shape[0], self.NUM_KEYPOINTS, -1)[..., :2]
            # (N, K, 1) visibilities come from MMPose's packing of some data.
            labelled = visible.reshape(gt.shape[0], self.NUM_KEYPOINTS,
                                       -1)[..., 0] > 0

            ls, rh = self.TORSO_JOINTS
            torso = np.linalg.norm(gt[:, ls] - gt[:, rh], axis=-1)
            dist = np.linalg.norm(pred - gt, axis=-1)
            with np.errstate(divide='ignore', invalid='ignore'):
                correct = dist <= self.thr * torso[:, None]
            correct &= (torso > 0)[:, None]
            if self.mode == 'all':
                evaluated = np.ones_like(labelled)
                num_unscaled = int((torso <= 0).sum())
            else:
                has_scale = labelled[:, ls] & labelled[:, rh] & (torso > 0)
                evaluated = labelled & has_scale[:, None]
                num_unscaled = int((~has_scale).sum())
            self.results.append(
                dict(
                    correct=correct & evaluated,
                    evaluated=evaluated,
                    num_unscaled=num_unscaled))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the per-part and mean PCK.

        Args:
            results (list): The results of :meth:`process`.

        Returns:
            dict[str, float]: PCK in percent keyed ``'Head'``,
            ``'Shoulder'``, ``'Elbow'``, ``'Wrist'``, ``'Hip'``, ``'Knee'``,
            ``'Ankle'`` and ``'Mean'``.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        correct = np.concatenate([r['correct'] for r in results]).sum(0)
        evaluated = np.concatenate([r['evaluated'] for r in results]).sum(0)
        num_unscaled = sum(r['num_unscaled'] for r in results)
        if num_unscaled and self.mode == 'all':
            logger.warning(
                f'{self.__class__.__name__}: {num_unscaled} persons with a '
                'zero torso (left shoulder - right hip) score 0 on every '
                'joint')
        elif num_unscaled:
            logger.warning(
                f'{self.__class__.__name__}: {num_unscaled} persons without '
                'a labelled, non-zero torso (left shoulder - right hip) are '
                'left out of the evaluation')

        def pck(joints) -> float:
            total = evaluated[list(joints)].sum()
            if total == 0:
                return float('nan')
            return float(100. * correct[list(joints)].sum() / total)

        metrics = {name: pck(joints) for name, joints in self.PARTS.items()}
        metrics['Mean'] = pck(range(self.NUM_KEYPOINTS))
        scored = 'labelled joints' if self.mode == 'labelled' else 'joints'
        logger.info(f'{self.__class__.__name__}@{self.thr} (torso) over '
                    f'{int(evaluated.sum())} {scored}')
        return metrics
