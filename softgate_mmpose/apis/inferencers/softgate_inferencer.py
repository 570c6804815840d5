# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The plugin's entry point, with the arguments of MMPose's unified
inferencer."""
from typing import Optional, Sequence, Union

from mmengine.infer.infer import ModelType

from .pose2d_inferencer import SoftGatePose2DInferencer


class SoftGateInferencer(SoftGatePose2DInferencer):
    """:class:`SoftGatePose2DInferencer` with the argument names of
    :class:`mmpose.apis.MMPoseInferencer` (``pose2d``, ``pose2d_weights``).

    Call it like MMPose's inferencer; it is a generator of one result dict
    (``predictions``, ``visualization``) per batch. See
    :class:`SoftGatePose2DInferencer` for what differs from MMPose. It is the
    2D inferencer itself rather than a wrapper around MMPose's (whose
    constructor would build MMPose's own 2D inferencer); ``.inferencer``
    returns itself for code written against ``MMPoseInferencer``.

    Args:
        pose2d (str | Config | dict): Alias (``'softgate-hg4_mpii'``), config
            file name or path, MMPose model name, or config object.
        pose2d_weights (str, optional): Checkpoint path or URL, or an
            ``.onnx`` file of ``tools/deployment/pytorch2onnx.py`` (then the
            network runs in ONNX Runtime, or OpenVINO with
            ``backend='openvino'``).
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
        backend (str, optional): ``'pytorch'``, ``'onnxruntime'`` or
            ``'openvino'``; by default chosen from the weights' extension.
        num_stacks (int, optional): Keep stacks 1..K of a stacked hourglass
            (PyTorch backend). Defaults to None (all stacks).

    Examples:
        >>> from softgate_mmpose.apis import SoftGateInferencer
        >>> inferencer = SoftGateInferencer('softgate-hg4_mpii',
        ...                                 pose2d_weights='hg4_mpii.pth')
        >>> result = next(
        ...     inferencer('person.jpg', bboxes=[[10, 20, 200, 400]]))
        >>> for _ in inferencer('frames/', batch_size=8,
        ...                     vis_out_dir='vis', pred_out_dir='preds'):
        ...     pass
        >>> # the first two of the four stacks
        >>> hg2 = SoftGateInferencer('softgate-hg4_mpii',
        ...                          pose2d_weights='hg4_mpii.pth',
        ...                          num_stacks=2)
        >>> # the same in ONNX Runtime
        >>> ort = SoftGateInferencer('softgate-hg4_mpii',
        ...                          pose2d_weights='hg4_mpii.onnx')
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
                 cfg_options: Optional[dict] = None,
                 backend: Optional[str] = None,
                 num_stacks: Optional[int] = None) -> None:
        super().__init__(
            pose2d,
            pose2d_weights,
            device=device,
            scope=scope,
            det_model=det_model,
            det_weights=det_weights,
            det_cat_ids=det_cat_ids,
            show_progress=show_progress,
            cfg_options=cfg_options,
            backend=backend,
            num_stacks=num_stacks)

    @property
    def inferencer(self) -> SoftGatePose2DInferencer:
        """Itself (``MMPoseInferencer.inferencer`` is its 2D inferencer)."""
        return self
