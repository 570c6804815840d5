# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The runtime backends: an export of softgate_mmpose.deployment run by the
inferencer and init_model in ONNX Runtime or OpenVINO gives PyTorch's
keypoints on the MPII sample images, a video and batched folders; bad .onnx
files are refused."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmpose.apis import inference_topdown

from softgate_mmpose.apis import (OnnxRuntimePoseEstimator,
                                  RuntimePoseEstimator, SoftGateInferencer,
                                  init_model)
from ..constants import MPII_ALIAS

#: Keypoints (image pixels) of a runtime and PyTorch: their heatmaps differ
#: by float rounding (other kernels per runtime and CPU kind), which moves a
#: refined maximum by a tiny fraction of a heatmap cell (several pixels).
PIXEL_TOL = 0.05
RUNTIMES = ['onnxruntime', 'openvino']


@pytest.fixture(scope='module')
def ort_inferencer(tiny_onnx, tiny_pose_cfg):
    return SoftGateInferencer(
        MPII_ALIAS,
        tiny_onnx('tiny.onnx'),
        device='cpu',
        cfg_options=tiny_pose_cfg,
        show_progress=False)


@pytest.fixture(scope='module')
def ov_inferencer(tiny_onnx, tiny_pose_cfg):
    pytest.importorskip('openvino')
    return SoftGateInferencer(
        MPII_ALIAS,
        tiny_onnx('tiny.onnx'),
        device='cpu',
        cfg_options=tiny_pose_cfg,
        show_progress=False,
        backend='openvino')


@pytest.fixture(scope='module')
def torch_preds(inferencer, mpii_images):
    """PyTorch's predictions of the sample images, batch 1."""
    return _instances(inferencer, mpii_images)


def _instances(inferencer, inputs, **kwargs):
    preds = []
    for result in inferencer(inputs, **kwargs):
        preds.extend(result['predictions'])
    return preds


def _assert_same_poses(ours, theirs, tol=PIXEL_TOL):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert len(a) == len(b)
        for inst_a, inst_b in zip(a, b):
            assert inst_a['bbox'] == inst_b['bbox']
            np.testing.assert_allclose(
                inst_a['keypoints'], inst_b['keypoints'], atol=tol)
            # Scores are heatmap maxima: within the export check's 1e-4 of
            # the heatmaps' peak, i.e. of the highest score.
            scores_b = np.asarray(inst_b['keypoint_scores'])
            np.testing.assert_allclose(
                inst_a['keypoint_scores'],
                scores_b,
                rtol=0,
                atol=1e-4 * np.abs(scores_b).max())


def test_backend_chosen_by_extension(ort_inferencer, ov_inferencer,
                                     inferencer):
    assert ort_inferencer.backend == 'onnxruntime'
    assert isinstance(ort_inferencer.model, RuntimePoseEstimator)
    assert OnnxRuntimePoseEstimator is RuntimePoseEstimator  # the old name
    assert ort_inferencer.model.batch_size == 1  # a fixed-batch export
    assert ov_inferencer.backend == 'openvino'
    assert ov_inferencer.model.session.backend == 'openvino'
    assert inferencer.backend == 'pytorch'


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_sample_images_match_pytorch(runtime, request, inferencer, torch_preds,
                                     mpii_images, tmp_path):
    """Flip test on (the config's default), whole-image and user boxes."""
    ort_inferencer = request.getfixturevalue(
        'ort_inferencer' if runtime == 'onnxruntime' else 'ov_inferencer')
    ours = _instances(
        ort_inferencer, mpii_images, pred_out_dir=str(tmp_path / 'pred'))
    _assert_same_poses(ours, torch_preds)
    assert len(os.listdir(tmp_path / 'pred')) == len(mpii_images)
    boxes = [[[230., 90., 430., 460.], [450., 100., 610., 460.]]]
    image = [p for p in mpii_images if p.endswith('052475643.jpg')]
    _assert_same_poses(
        _instances(ort_inferencer, image, bboxes=boxes),
        _instances(inferencer, image, bboxes=boxes))
    # the poses are not all alike (a constant output would also "match")
    kpts = np.stack([np.asarray(p[0]['keypoints']) for p in ours])
    assert np.ptp(kpts, axis=0).max() > 1


@pytest.mark.slow
def test_video_matches_pytorch(ort_inferencer, inferencer, mpii_images,
                               write_video, read_video, tmp_path):
    video = write_video(mpii_images, str(tmp_path / 'clip.mp4'))
    list(
        ort_inferencer(
            video,
            batch_size=2,
            vis_out_dir=str(tmp_path / 'vis'),
            pred_out_dir=str(tmp_path / 'ort')))
    list(inferencer(video, pred_out_dir=str(tmp_path / 'torch')))
    assert os.listdir(tmp_path / 'vis') == ['clip.mp4']
    assert len(read_video(str(tmp_path / 'vis' /
                              'clip.mp4'))) == len(mpii_images)
    with open(tmp_path / 'ort' / 'clip.json') as f:
        ours = json.load(f)
    with open(tmp_path / 'torch' / 'clip.json') as f:
        theirs = json.load(f)
    assert len(ours) == len(mpii_images)
    _assert_same_poses([f['instances'] for f in ours],
                       [f['instances'] for f in theirs])


@pytest.mark.slow
@pytest.mark.parametrize('dynamic_batch', [True, False])
def test_batched_folder(tiny_onnx, tiny_pose_cfg, torch_preds, mpii_images,
                        dynamic_batch):
    """A dynamic-batch export runs a batch of 3 in one call; a fixed-batch
    one runs it in chunks of its batch size, with the same result."""
    name = 'dynamic.onnx' if dynamic_batch else 'tiny.onnx'
    ort = SoftGateInferencer(
        MPII_ALIAS,
        tiny_onnx(name, dynamic_batch=dynamic_batch),
        device='cpu',
        cfg_options=tiny_pose_cfg,
        show_progress=False)
    assert ort.model.batch_size == (None if dynamic_batch else 1)
    folder = osp.dirname(mpii_images[0])  # the same images, listed by name
    _assert_same_poses(_instances(ort, folder, batch_size=3), torch_preds)


def test_init_model_and_inference_topdown(tiny_onnx, mpii_tiny_ckpt,
                                          tiny_pose_cfg, two_people):
    boxes = np.array([[230., 90., 430., 460.], [450., 100., 610., 460.]])
    ort = init_model(
        MPII_ALIAS,
        tiny_onnx('tiny.onnx'),
        device='cpu',
        cfg_options=tiny_pose_cfg)
    torch_model = init_model(
        MPII_ALIAS, mpii_tiny_ckpt, device='cpu', cfg_options=tiny_pose_cfg)
    for a, b in zip(
            inference_topdown(ort, two_people, boxes),
            inference_topdown(torch_model, two_people, boxes)):
        np.testing.assert_allclose(
            a.pred_instances.keypoints,
            b.pred_instances.keypoints,
            atol=PIXEL_TOL)


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize('runtime', RUNTIMES)
def test_onnx_of_another_joint_set(lsp_config, tiny_pose_cfg, tmp_path,
                                   runtime):
    """A 14-joint (LSP) export with the 16-joint MPII config."""
    pytest.importorskip(runtime)
    from softgate_mmpose import deployment
    model = deployment.build_model(lsp_config, cfg_options=tiny_pose_cfg)
    onnx_file = str(tmp_path / 'lsp14.onnx')
    deployment.export_onnx(
        model, onnx_file, shape=deployment.input_shape_of(model.cfg))
    with pytest.raises(ValueError) as info:
        SoftGateInferencer(
            MPII_ALIAS, onnx_file, cfg_options=tiny_pose_cfg, backend=runtime)
    message = str(info.value)
    assert 'lsp14.onnx' in message
    assert 'predicts 14 keypoints' in message and 'for 16' in message


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_corrupt_and_missing_onnx(tmp_path, tiny_pose_cfg, runtime):
    pytest.importorskip(runtime)
    corrupt = tmp_path / 'corrupt.onnx'
    corrupt.write_bytes(b'\x08\x07not a protobuf' * 10)
    with pytest.raises(ValueError, match=r'cannot load .*corrupt\.onnx'):
        SoftGateInferencer(
            MPII_ALIAS,
            str(corrupt),
            cfg_options=tiny_pose_cfg,
            backend=runtime)
    with pytest.raises(FileNotFoundError, match='absent.onnx'):
        SoftGateInferencer(
            MPII_ALIAS, str(tmp_path / 'absent.onnx'), backend=runtime)
    with pytest.raises(ValueError, match=r'corrupt\.onnx'):
        init_model(
            MPII_ALIAS,
            str(corrupt),
            cfg_options=tiny_pose_cfg,
            backend=runtime)


def test_backend_and_weights_must_agree(mpii_tiny_ckpt, tiny_onnx):
    with pytest.raises(ValueError, match='needs the exported model'):
        SoftGateInferencer(MPII_ALIAS, backend='onnxruntime')
    with pytest.raises(ValueError, match='needs the exported model'):
        SoftGateInferencer(MPII_ALIAS, mpii_tiny_ckpt, backend='openvino')
    with pytest.raises(ValueError, match='is an exported model'):
        SoftGateInferencer(
            MPII_ALIAS, tiny_onnx('tiny.onnx'), backend='pytorch')
    with pytest.raises(ValueError, match='backend must be one of'):
        SoftGateInferencer(MPII_ALIAS, mpii_tiny_ckpt, backend='tensorrt')


def test_onnx_of_another_input_size(tiny_onnx, tiny_pose_cfg):
    """The tiny 256x256 export with the config cropping 128x128."""
    cfg = dict(tiny_pose_cfg)
    cfg['model.head.decoder.input_size'] = (128, 128)
    cfg['model.head.decoder.heatmap_size'] = (32, 32)
    with pytest.raises(ValueError, match=r'tiny\.onnx takes 256x256 inputs'):
        SoftGateInferencer(MPII_ALIAS, tiny_onnx('tiny.onnx'), cfg_options=cfg)
