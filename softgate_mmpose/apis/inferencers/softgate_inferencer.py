# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""The plugin's entry point to MMPose's unified inferencer."""
import os
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.infer.infer import ModelType

from mmpose.apis.inferencers import MMPoseInferencer
from .pose2d_inferencer import SoftGatePose2DInferencer


class SoftGateInferencer(MMPoseInferencer):
    """:class:`mmpose.apis.MMPoseInferencer` for 2D models of the plugin.

    Call it like MMPose's inferencer; it is a generator of one result dict
    (``predictions``, ``visualization``) per batch. See
    :class:`SoftGatePose2DInferencer` for what differs from MMPose.

    Args:
        pose2d (str | Config | dict): Alias (``'softgate-hg4_mpii'``), config
            file name or path, MMPose model name, or config object.
        pose2d_weights (str, optional): Checkpoint path or URL.
        device (str, optional): Device to run on. Defaults to None (auto).
        scope (str): The registry scope. Defaults to ``'mmpose'``.
        det_model (str | Config, optional): MMDetection config path or
            metafile name; ``None`` uses the whole image as the person box.
        det_weights (str, optional): Checkpoint of the detector.
        det_cat_ids (int | Sequence[int], optional): Detector classes kept as
            persons. Defaults to ``0`` when a detector is given.
        show_progress (bool): Progress bar with total and ETA for folders
            and videos. Defaults to True.
        cfg_options (dict, optional): Overrides merged into the pose config.

    Examples:
        >>> from softgate_mmpose.apis import SoftGateInferencer
        >>> inferencer = SoftGateInferencer('softgate-hg4_mpii',
        ...                                 pose2d_weights='hg4_mpii.pth')
        >>> result = next(
        ...     inferencer('person.jpg', bboxes=[[10, 20, 200, 400]]))
        >>> for _ in inferencer('frames/', batch_size=8,
        ...                     vis_out_dir='vis', pred_out_dir='preds'):
        ...     pass
    """

    def __init__(self,
                 pose2d: Union[ModelType, str],
                 pose2d_weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: str = 'mmpose',
                 det_model: Optional[Union[ModelType, str]] = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Optional[Union[int, Sequence[int]]] = None,
                 show_progress: bool = True,
                 cfg_options: Optional[dict] = None) -> None:
        # MMPoseInferencer.__init__ builds MMPose's Pose2DInferencer, so it is
        # replaced here rather than called.
        self.visualizer = None
        self.show_progress = show_progress
        self.inferencer = SoftGatePose2DInferencer(
            pose2d,
            pose2d_weights,
            device=device,
            scope=scope,
            det_model=det_model,
            det_weights=det_weights,
            det_cat_ids=det_cat_ids,
            show_progress=show_progress,
            cfg_options=cfg_options)

    def preprocess(self, inputs, batch_size: int = 1, **kwargs):
        """The inner inferencer's batches, keeping their length hint (MMPose
        re-yields them, which hides the total from the progress bar)."""
        return self.inferencer.preprocess(inputs, batch_size, **kwargs)

    def __call__(self,
                 inputs,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 out_dir: Optional[str] = None,
                 **kwargs):
        """Run inference; yields one result dict per batch.

        Args:
            inputs: An image path or array, a list of them, a folder, a video
                file, ``'webcam'``, ``'webcam:<id>'`` or a camera index (int).
            return_datasamples (bool): Yield :obj:`PoseDataSample` instead of
                dicts. Defaults to False.
            batch_size (int): Images per forward pass. Defaults to 1.
            out_dir (str, optional): Sets ``vis_out_dir`` and
                ``pred_out_dir`` to its ``visualizations`` and
                ``predictions`` sub-folders.
            **kwargs: MMPose's call arguments: ``bboxes``, ``bbox_thr``,
                ``nms_thr``, ``show``, ``draw_bbox``, ``radius``,
                ``thickness``, ``kpt_thr``, ``vis_out_dir``,
                ``pred_out_dir``, ... An unknown one raises (MMPose drops it
                silently).
        """
        known = set.union(self.inferencer.preprocess_kwargs,
                          self.inferencer.forward_kwargs,
                          self.inferencer.visualize_kwargs,
                          self.inferencer.postprocess_kwargs)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f'Unknown arguments {unknown}; known ones: '
                             f'{sorted(known)}')
        if isinstance(inputs, (int, np.integer)) and \
                not isinstance(inputs, bool):
            inputs = f'webcam:{int(inputs)}'
        elif isinstance(inputs, os.PathLike):
            inputs = os.fspath(inputs)
        try:
            yield from super().__call__(
                inputs,
                return_datasamples=return_datasamples,
                batch_size=batch_size,
                out_dir=out_dir,
                **kwargs)
        except BaseException:
            # an error or an early stop: leave no half-written video behind
            self.inferencer.discard_video()
            raise

    def _finalize_video_processing(self, pred_out_dir: str = '') -> None:
        self.inferencer.finish_video()
        super()._finalize_video_processing(pred_out_dir)
