# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Every piece of MMPose (and mmengine) the plugin overrides, copies or
relies on beyond its public API, in one place for an upgrade to check.

:data:`COUPLINGS` names each piece: the upstream function or method, what
the plugin does with it and where (the inferencer, the runtime estimator of
exported models, the datasets, the transforms and ``truncate_stacks``).
``tests/test_apis/test_mmpose_compat.py`` pins each one by the SHA-256 of
its source in :data:`MMPOSE_VERSION` (any change to it fails the test),
checks the behaviour the plugin relies on, and fails when a plugin class
overrides an upstream method that is not named here.

The few lines the inferencer copies from MMPose live here too
(:func:`pose_data_info`, :func:`box_instance`, :func:`pose_based_nms`).
"""
import contextlib
import logging
from dataclasses import dataclass
from typing import Dict, Iterator, Tuple, Union

import numpy as np
from mmengine.logging import MMLogger
from mmpose.evaluation.functional import nearby_joints_nms
from mmpose.structures import PoseDataSample

#: The MMPose release these couplings were checked against.
MMPOSE_VERSION = '1.3.2'

#: Start of the warning of ``BaseMMPoseInferencer._load_weights_to_model``
#: for a model built without a checkpoint.
RANDOM_WEIGHTS_MESSAGE = 'Checkpoint is not loaded'


@dataclass(frozen=True)
class Coupling:
    """One upstream piece the plugin depends on beyond its public API.

    Attributes:
        upstream (str): Dotted path of the MMPose (or mmengine) function or
            method.
        how (str): ``'overridden'`` (a plugin class redefines it),
            ``'copied'`` (lines of it are copied into ``ours``) or
            ``'relied on'`` (``ours`` depends on what it does).
        ours (str): Dotted path of the plugin's code concerned.
        why (str): Why, and what the plugin assumes of it.
    """
    upstream: str
    how: str
    ours: str
    why: str


_INFER = 'mmpose.apis.inferencers'
_BASE = f'{_INFER}.base_mmpose_inferencer.BaseMMPoseInferencer'
_POSE2D = f'{_INFER}.pose2d_inferencer.Pose2DInferencer'
_OURS = 'softgate_mmpose.apis.inferencers'
_OURS_2D = f'{_OURS}.SoftGatePose2DInferencer'
_TOPDOWN = 'mmpose.models.pose_estimators.topdown.TopdownPoseEstimator'
_ESTIMATOR = 'softgate_mmpose.deployment.estimator.RuntimePoseEstimator'
_BBOX_TRANSFORM = ('mmpose.datasets.transforms.common_transforms.'
                   'RandomBBoxTransform')
_UNIFORM = ('softgate_mmpose.datasets.transforms.common_transforms.'
            'UniformRandomBBoxTransform')
_TRUNCATE = 'softgate_mmpose.models.utils.truncate.truncate_stacks'
_HEATMAP_HEAD = 'mmpose.models.heads.heatmap_heads.heatmap_head.HeatmapHead'
_MPII = 'mmpose.datasets.datasets.body.mpii_dataset.MpiiDataset'
_CHECKED_MPII = ('softgate_mmpose.datasets.datasets.mpii_dataset.'
                 'CheckedMpiiDataset')
_COCO_STYLE = ('mmpose.datasets.datasets.base.base_coco_style_dataset.'
               'BaseCocoStyleDataset')
_LSP = 'softgate_mmpose.datasets.datasets.lsp_dataset.LspDataset'
_HOURGLASS = 'mmpose.models.backbones.hourglass.HourglassNet'
_CPM_HEAD = 'mmpose.models.heads.heatmap_heads.cpm_head.CPMHead'

#: The inferencer's couplings (``apis/inferencers``).
INFERENCER_COUPLINGS: Tuple[Coupling, ...] = (
    Coupling(
        upstream=f'{_POSE2D}.__init__',
        how='overridden',
        ours=f'{_OURS_2D}.__init__',
        why=('Called with weights=None (the plugin loads them strictly or '
             'runs an exported model) and det_model="whole_image" when no '
             'detector is given (MMPose would download one).')),
    Coupling(
        upstream=f'{_POSE2D}.__init__',
        how='overridden',
        ours=f'{_OURS}.SoftGateInferencer.__init__',
        why=('Through SoftGatePose2DInferencer.__init__, with the argument '
             'names of MMPoseInferencer (pose2d, pose2d_weights).')),
    Coupling(
        upstream=f'{_BASE}._load_weights_to_model',
        how='relied on',
        ours=f'{_OURS}.mmpose_compat.without_random_weights_warning',
        why=('Logs RANDOM_WEIGHTS_MESSAGE without a checkpoint; the plugin '
             'filters it while MMPose builds the model and loads the weights '
             'itself.')),
    Coupling(
        upstream=f'{_BASE}._init_detector',
        how='relied on',
        ours=f'{_OURS}.boxes.detector_args',
        why=('det_model "whole_image" builds no detector, so that '
             'preprocess_single falls back to the whole image.')),
    Coupling(
        upstream=f'{_BASE}.__call__',
        how='overridden',
        ours=f'{_OURS_2D}.__call__',
        why=('Wrapped: inputs are checked first and the video is finished or '
             'discarded after. Relies on it listing inputs with '
             '_inputs_to_list, wrapping preprocess() in rich.progress.track '
             'when show_progress (which reads the batches\' length hint) and '
             'calling forward, visualize and postprocess per batch.')),
    Coupling(
        upstream=f'{_BASE}.preprocess',
        how='overridden',
        ours=f'{_OURS_2D}.preprocess',
        why=('Replaced for top-down models: batch_size inputs per forward '
             'pass (MMPose: one), the caller\'s boxes checked before anything '
             'runs.')),
    Coupling(
        upstream=f'{_POSE2D}.preprocess_single',
        how='overridden',
        ours=f'{_OURS_2D}.preprocess_single',
        why=('Extended: MMPose replaces the caller\'s boxes of a top-down '
             'model by [] (detector or whole image); the plugin crops its '
             'boxes and calls MMPose\'s method for inputs without boxes.')),
    Coupling(
        upstream=f'{_POSE2D}.preprocess_single',
        how='copied',
        ours=f'{_OURS}.mmpose_compat.pose_data_info',
        why=('Its data_info (img or img_path, the zero-padded name of an '
             'array input, dataset_meta) and per-box instance (bbox, '
             'bbox_score; box_instance) for the caller\'s boxes.')),
    Coupling(
        upstream=f'{_POSE2D}.forward',
        how='overridden',
        ours=f'{_OURS_2D}.forward',
        why=(
            'Extended: called with merge_results=False (model and bbox_thr '
            'filter stay MMPose\'s), the crops of a batch are then merged per '
            'input (MMPose merges the whole batch into one sample).')),
    Coupling(
        upstream=f'{_POSE2D}.forward',
        how='copied',
        ours=f'{_OURS}.mmpose_compat.pose_based_nms',
        why=('Its pose-based NMS, applied to each input\'s merged sample.')),
    Coupling(
        upstream=f'{_BASE}.save_visualization',
        how='overridden',
        ours=f'{_OURS_2D}.save_visualization',
        why=('Replaced for video and webcam inputs: written to a partial file '
             'renamed when complete (VideoOutput); images use MMPose\'s.')),
    Coupling(
        upstream=f'{_BASE}._inputs_to_list',
        how='relied on',
        ours=f'{_OURS_2D}.save_visualization',
        why=('Sets video_info with "name" and "fps" of a video input.')),
    Coupling(
        upstream=f'{_BASE}._get_webcam_inputs',
        how='relied on',
        ours=f'{_OURS_2D}.save_visualization',
        why=('Sets video_info with "name" and "fps" of a camera.')),
    Coupling(
        upstream=f'{_BASE}._finalize_video_processing',
        how='relied on',
        ours=f'{_OURS_2D}.__call__',
        why=('Writes the video\'s predictions and releases '
             'video_info["writer"] only when set (the plugin never sets it: '
             'VideoOutput writes).')),
)

#: The couplings of the rest of the package.
PACKAGE_COUPLINGS: Tuple[Coupling, ...] = (
    Coupling(
        upstream=f'{_TOPDOWN}.predict',
        how='copied',
        ours=f'{_ESTIMATOR}.predict',
        why=('The exported network stands in for the PyTorch one: head '
             'prediction, then add_pred_to_datasample, as this method does.')),
    Coupling(
        upstream=f'{_HEATMAP_HEAD}.predict',
        how='copied',
        ours=f'{_ESTIMATOR}.predict',
        why=('Its flip test (flip_heatmaps of the flipped crops, averaged), '
             'decode and output_heatmaps fields, around the runtime\'s '
             'heatmaps.')),
    Coupling(
        upstream=f'{_TOPDOWN}.add_pred_to_datasample',
        how='relied on',
        ours=f'{_ESTIMATOR}.predict',
        why=('Maps decoded keypoints back to image coordinates.')),
    Coupling(
        upstream='mmengine.model.base_model.base_model.BaseModel.test_step',
        how='copied',
        ours=f'{_ESTIMATOR}.test_step',
        why=('Data preprocessor, then predict.')),
    Coupling(
        upstream=f'{_MPII}._load_annotations',
        how='overridden',
        ours=f'{_CHECKED_MPII}._load_annotations',
        why=(
            'Extended: input paths are checked first, then MMPose\'s loads.')),
    Coupling(
        upstream=f'{_COCO_STYLE}.load_data_list',
        how='overridden',
        ours=f'{_LSP}.load_data_list',
        why=('Extended: a missing annotation file is named first.')),
    Coupling(
        upstream=f'{_BBOX_TRANSFORM}.__init__',
        how='overridden',
        ours=f'{_UNIFORM}.__init__',
        why=('Extended: the uniform draws\' defaults and a scale check.')),
    Coupling(
        upstream=f'{_BBOX_TRANSFORM}._get_transform_params',
        how='overridden',
        ours=f'{_UNIFORM}._get_transform_params',
        why=('Replaced: uniform draws; returns (offset (N, 2), scale (N, 1), '
             'rotate (N,)) as this method does.')),
    Coupling(
        upstream=f'{_BBOX_TRANSFORM}.transform',
        how='relied on',
        ours=f'{_UNIFORM}._get_transform_params',
        why=('Calls _get_transform_params(num_bboxes) and applies offset '
             'times the box scale, scale and rotation.')),
    Coupling(
        upstream=f'{_HOURGLASS}.__init__',
        how='relied on',
        ours=_TRUNCATE,
        why=('Per-stack hourglass_modules and out_convs, between-stack '
             'conv1x1s, remap_convs and inters, which truncate_stacks '
             'shortens.')),
    Coupling(
        upstream=f'{_HOURGLASS}.forward',
        how='relied on',
        ours=_TRUNCATE,
        why=('Runs self.num_stacks stacks.')),
    Coupling(
        upstream=f'{_CPM_HEAD}.__init__',
        how='relied on',
        ours=_TRUNCATE,
        why=('Per-stage multi_deconv_layers and multi_final_layers, and '
             'num_stages, which truncate_stacks shortens.')),
    Coupling(
        upstream=f'{_CPM_HEAD}.forward',
        how='relied on',
        ours=_TRUNCATE,
        why=('Takes one feature map per stage (num_stages of them).')),
)

#: Every coupling of the package.
COUPLINGS: Tuple[Coupling, ...] = INFERENCER_COUPLINGS + PACKAGE_COUPLINGS

#: SHA-256 of the source (``inspect.getsource``) of each upstream piece
#: in MMPose :data:`MMPOSE_VERSION` and mmengine 0.10.7.
UPSTREAM_SHA256: Dict[str, str] = {
    f'{_POSE2D}.__init__':
    'ddd74639f108e38a77c3e4c95e96e90b744e68b4e0a3404c7c36ea844fb139ae',
    f'{_BASE}._load_weights_to_model':
    'bcbecf76f7dcf82bf5aa00455d54eeb0754ec77d241790b9856a1bf4942bbd8d',
    f'{_BASE}._init_detector':
    'bb1378ee87e77e48ec4c348a5cd479ca1f017858abcf88241a070441d6eb3fba',
    f'{_BASE}.__call__':
    '3247b4a6c35474dc2fa00042e81dcbd99adf9e663a32eab45a6e2526a0864c2a',
    f'{_BASE}.preprocess':
    '4a2ad74e814226fc98a7b37e8295e43c6774b19502ebc289d027eb90e9c65b5f',
    f'{_POSE2D}.preprocess_single':
    'e0de3c9a5d603bebcc659e668b279a0d3371c633d7171805e38587933fb2da10',
    f'{_POSE2D}.forward':
    '9d9ceffb33f1c31a7bddb8b469ae7401072be3f1ff4cca86356ae3d9a388b785',
    f'{_BASE}.save_visualization':
    'c0824cf1bb0cf4e022e3c08651788e8a170e28711a95740972f3df8e7f6c1be9',
    f'{_BASE}._inputs_to_list':
    'a618ab9c182f892a1fc8fb71065f3a7ee5a191f77cc84414a26b7a05d42785a0',
    f'{_BASE}._get_webcam_inputs':
    '9becc39e0706d37ba3ac1c210ef8e5d9f138980ccda4d5cdcc62e737c1c6075c',
    f'{_BASE}._finalize_video_processing':
    '233da91a5344953d199f0d2b8d4cb1210d76aae2eb78eb662cd4112d4994f8a3',
    f'{_TOPDOWN}.predict':
    '32ce8c74a864308c673192f48e4b9fa5a59623b0fdc97081dbb524cb01ad3006',
    f'{_HEATMAP_HEAD}.predict':
    'edb9c30541f0dc06f4d2f4b08af381dd9e3d6eb24c66a9716577fbc450f4a6a5',
    f'{_TOPDOWN}.add_pred_to_datasample':
    '28092883fc853a27c44fb007fd77cef3910776e0d256e9c8c710cc707560e5af',
    'mmengine.model.base_model.base_model.BaseModel.test_step':
    '8a750e8442fd4ff55d4ca84eacb200ead57e39e088d48c86eb47bb5488b8dbd0',
    f'{_MPII}._load_annotations':
    '9091c6564a816e39e773eb7546c6fa69b80e0cb8c537eb2e092ab0b8822ab68f',
    f'{_COCO_STYLE}.load_data_list':
    '5eb20a7c93b2f2cdcfdb238c473c6de33ad2ba31ee30463276805165a6886b64',
    f'{_BBOX_TRANSFORM}.__init__':
    '1fbdf7e0060674f3323089b01cef21001224250dbb5c731debbf296ff6227111',
    f'{_BBOX_TRANSFORM}._get_transform_params':
    '966a76a25ca9b3e59b2854678e9ea6b5a2e372692111e3dc28a0b2b1a9233b9d',
    f'{_BBOX_TRANSFORM}.transform':
    '5a1df1cd25a900574e702ca8d9c8b3b366efc805f8819a9455bab0fb52e94aff',
    f'{_HOURGLASS}.__init__':
    '972ef17f1b852f2a549e16455e99807e0a433a664fff1140d24142610cce9d49',
    f'{_HOURGLASS}.forward':
    '5c90804103aeed76670d74d00b8e1e2ca2e77408b4633b955bb821deee3c10b2',
    f'{_CPM_HEAD}.__init__':
    '7eca2b1b52408e05247c24267e0ae0327514c8e44f856d82f202ca47509a44a0',
    f'{_CPM_HEAD}.forward':
    'f9aeaa20cd1cad322bebb6959e5acd14cda79e41899ca6b181b1cb90cc7ba141',
}


class _DropMessage(logging.Filter):

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(self.prefix)


@contextlib.contextmanager
def without_random_weights_warning() -> Iterator[None]:
    """Drop MMPose's "Checkpoint is not loaded" warning from the current
    mmengine logger inside the block."""
    logger = MMLogger.get_current_instance()
    drop = _DropMessage(RANDOM_WEIGHTS_MESSAGE)
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def pose_data_info(input: Union[str, np.ndarray], index: int,
                   dataset_meta: Dict) -> dict:
    """The pipeline input of one image, as MMPose's ``preprocess_single``
    builds it (copied; see :data:`COUPLINGS`).

    Args:
        input (str | np.ndarray): Image path or BGR image (H, W, 3).
        index (int): Index of the input; names an array input.
        dataset_meta (dict): The model's dataset meta.

    Returns:
        dict: ``img_path`` (and ``img``) plus the dataset meta.
    """
    if isinstance(input, str):
        data_info = dict(img_path=input)
    else:
        data_info = dict(img=input, img_path=f'{index}.jpg'.rjust(10, '0'))
    data_info.update(dataset_meta)
    return data_info


def box_instance(data_info: dict, box: np.ndarray) -> dict:
    """``data_info`` with one person box, as MMPose's
    ``preprocess_single`` (copied); an unscored box scores 1.

    Args:
        data_info (dict): From :func:`pose_data_info`.
        box (np.ndarray): x1, y1, x2, y2 and optionally a score, shape (4,)
            or (5,).

    Returns:
        dict: A copy with ``bbox`` (1, 4) and ``bbox_score`` (1,).
    """
    inst = data_info.copy()
    inst['bbox'] = box[None, :4]
    inst['bbox_score'] = box[4:5] if box.size == 5 else np.ones(
        1, dtype=np.float32)
    return inst


def pose_based_nms(data_sample: PoseDataSample) -> PoseDataSample:
    """MMPose's pose-based NMS of ``Pose2DInferencer.forward`` on one
    sample, in place (copied; see :data:`COUPLINGS`).

    Args:
        data_sample (PoseDataSample): One input's merged prediction with
            ``keypoints`` (N, K, 2) and ``bbox_scores`` (N,).

    Returns:
        PoseDataSample: ``data_sample`` without the suppressed instances.
    """
    if len(data_sample.pred_instances) == 0:
        return data_sample
    kpts = data_sample.pred_instances.keypoints
    scores = data_sample.pred_instances.bbox_scores
    keep = nearby_joints_nms(
        [dict(keypoints=kpts[i], score=scores[i]) for i in range(len(kpts))],
        num_nearby_joints_thr=kpts.shape[-2] // 3)
    data_sample.pred_instances = data_sample.pred_instances[keep]
    return data_sample


__all__ = [
    'COUPLINGS', 'Coupling', 'INFERENCER_COUPLINGS', 'PACKAGE_COUPLINGS',
    'UPSTREAM_SHA256', 'MMPOSE_VERSION', 'RANDOM_WEIGHTS_MESSAGE',
    'box_instance', 'pose_based_nms', 'pose_data_info',
    'without_random_weights_warning'
]
