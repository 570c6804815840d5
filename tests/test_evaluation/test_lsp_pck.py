# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""LspPCKAccuracy against hand-computed values, through mmengine's
Evaluator."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmpose.registry import DATASETS, METRICS
from mmpose.structures import PoseDataSample

from softgate_mmpose.evaluation import LspPCKAccuracy
from ..constants import SAMPLE_DATA

LSPET_DIR = Path(SAMPLE_DATA) / 'lspet_sample'
KEYS = ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean']
# PCK values are ratios of counts computed in float64 by numpy on every CPU:
# pytest.approx's default (relative 1e-6) absorbs the divisions' rounding.
R_HIP, L_SHOULDER = 2, 9


def person(torso: float, origin=(40., 30.)) -> np.ndarray:
    """(14, 2) joints spread over the image with ||l-shoulder - r-hip|| =
    ``torso`` (l-shoulder straight above the right hip)."""
    rng = np.random.default_rng(int(torso))
    joints = np.asarray(origin) + rng.uniform(0, 3 * torso, (14, 2))
    joints[L_SHOULDER] = joints[R_HIP] - (0, torso)
    return joints


def data_sample(gt: np.ndarray,
                pred: np.ndarray,
                visible: np.ndarray = None) -> PoseDataSample:
    """A PoseDataSample shaped as TopdownPoseEstimator's output on a sample
    packed by PackPoseInputs."""
    visible = np.ones(14) if visible is None else visible
    sample = PoseDataSample()
    sample.gt_instances = InstanceData(
        keypoints=gt[None].astype(np.float32),
        keypoints_visible=visible[None].astype(np.float32))
    sample.pred_instances = InstanceData(
        keypoints=pred[None].astype(np.float32),
        keypoint_scores=np.ones((1, 14), dtype=np.float32))
    return sample


def evaluate(samples, **metric_kwargs) -> dict:
    init_default_scope('mmpose')
    evaluator = Evaluator(dict(type='LspPCKAccuracy', **metric_kwargs))
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_registered():
    metric = METRICS.build(dict(type='LspPCKAccuracy'))
    assert isinstance(metric, LspPCKAccuracy) and metric.thr == 0.2
    with pytest.raises(ValueError, match='thr'):
        LspPCKAccuracy(thr=0)


def test_perfect_predictions():
    samples = [data_sample(person(t), person(t)) for t in (40., 75., 120.)]
    metrics = evaluate(samples)
    assert list(metrics) == KEYS
    assert all(v == 100. for v in metrics.values())


def test_known_displacements():
    """Displacements of exactly 0.1 (correct) and 0.3 (wrong) torso lengths,
    PCK counted by hand."""
    # Person A, torso 100: wrong r-wrist, head-top and l-ankle (a diagonal
    # 0.3 = (0.18, 0.24)); 0.1 on l-wrist, neck and r-shoulder is correct.
    gt_a = person(100.)
    pred_a = gt_a.copy()
    pred_a[6] += (30, 0)
    pred_a[13] += (0, -30)
    pred_a[5] += (18, 24)
    pred_a[11] += (0, 10)
    pred_a[12] += (-6, 8)
    pred_a[8] += (10, 0)
    # Person B, torso 50: wrong r-knee (15 px = 0.3), correct l-knee and
    # r-wrist (5 px = 0.1); its l-ankle and r-elbow are unlabelled, so
    # neither the far-off nor the exact prediction counts.
    gt_b = person(50., origin=(300., 20.))
    pred_b = gt_b.copy()
    pred_b[1] += (15, 0)
    pred_b[4] += (0, 5)
    pred_b[6] += (-3, -4)
    pred_b[5] += (500, 500)
    vis_b = np.ones(14)
    vis_b[[5, 7]] = 0
    # Person C has no right hip, hence no torso: left out entirely, however
    # wrong its predictions.
    gt_c = person(80.)
    vis_c = np.ones(14)
    vis_c[R_HIP] = 0
    samples = [
        data_sample(gt_a, pred_a),
        data_sample(gt_b, pred_b, vis_b),
        data_sample(gt_c, gt_c + 1000, vis_c),
    ]
    metrics = evaluate(samples)
    expected = dict(
        Head=100 * 3 / 4,  # A: neck ok, head-top wrong; B: both ok
        Shoulder=100.,
        Elbow=100.,
        Wrist=100 * 3 / 4,  # A: r wrong, l ok; B: both ok
        Hip=100.,
        Knee=100 * 3 / 4,  # A: both ok; B: r wrong, l ok
        Ankle=100 * 2 / 3,  # A: r ok, l wrong; B: r ok, l unlabelled
        Mean=100 * (26 - 4) / 26)  # 14 + 12 labelled joints, 4 wrong
    assert list(metrics) == KEYS
    for key in KEYS:
        assert metrics[key] == pytest.approx(expected[key]), key

    # At PCK@0.35 every displacement of A and B is within tolerance.
    assert all(v == pytest.approx(100.)
               for v in evaluate(samples, thr=0.35).values())
    # At PCK@0.05 only the undisplaced joints count as correct.
    loose = evaluate(samples, thr=0.05)
    assert loose['Mean'] == pytest.approx(100 * (26 - 9) / 26)


def script_pck(gt: np.ndarray, pred: np.ndarray, thr: float = 0.2) -> dict:
    """The standard LSP evaluation (``eval_pck.m``): every joint of every
    person, torso ||l-shoulder - r-hip|| of the ground truth, each part the
    mean of its two joints' PCK (neck and head-top for Head)."""
    torso = np.linalg.norm(gt[:, L_SHOULDER] - gt[:, R_HIP], axis=-1)
    with np.errstate(divide='ignore', invalid='ignore'):
        hit = np.linalg.norm(pred - gt, axis=-1) / torso[:, None] <= thr
    per_joint = 100 * hit.mean(0)
    symmetric = [5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 13, 12]
    part = (per_joint + per_joint[symmetric]) / 2
    return dict(
        Head=part[12],
        Shoulder=part[8],
        Elbow=part[7],
        Wrist=part[6],
        Hip=part[2],
        Knee=part[1],
        Ankle=part[0],
        Mean=100 * hit.mean())


def test_all_joints_mode_scores_every_joint():
    """``mode='all'`` scores unlabelled joints and persons without a labelled
    torso, and equals the standard LSP script on the same data."""
    gt_a = person(100.)
    pred_a = gt_a.copy()
    pred_a[6] += (30, 0)  # wrong
    pred_a[11] += (0, 10)  # right
    # B's l-ankle and r-elbow are not labelled in the image: the far-off
    # l-ankle now counts as wrong, the exact r-elbow as right.
    gt_b = person(50., origin=(300., 20.))
    pred_b = gt_b.copy()
    pred_b[1] += (15, 0)  # wrong
    pred_b[5] += (500, 500)  # wrong
    vis_b = np.ones(14)
    vis_b[[5, 7]] = 0
    # C's right hip is not labelled in the image: left out by the default,
    # scored (every joint wrong) by mode='all'.
    gt_c = person(80.)
    pred_c = gt_c + 1000
    vis_c = np.ones(14)
    vis_c[R_HIP] = 0
    samples = [
        data_sample(gt_a, pred_a),
        data_sample(gt_b, pred_b, vis_b),
        data_sample(gt_c, pred_c, vis_c)
    ]
    metrics = evaluate(samples, mode='all')
    expected = dict(
        Head=100 * 4 / 6,
        Shoulder=100 * 4 / 6,
        Elbow=100 * 4 / 6,
        Wrist=100 * 3 / 6,
        Hip=100 * 4 / 6,
        Knee=100 * 3 / 6,
        Ankle=100 * 3 / 6,
        Mean=100 * (42 - 3 - 14) / 42)
    assert list(metrics) == KEYS
    for key in KEYS:
        assert metrics[key] == pytest.approx(expected[key]), key
    script = script_pck(
        np.stack([gt_a, gt_b, gt_c]), np.stack([pred_a, pred_b, pred_c]))
    for key in KEYS:
        assert metrics[key] == pytest.approx(script[key]), key
    # The default leaves out B's two unlabelled joints and all of C.
    labelled = evaluate(samples)
    assert labelled['Mean'] == pytest.approx(100 * (26 - 2) / 26)
    assert labelled['Ankle'] == pytest.approx(100 * 3 / 3)

    with pytest.raises(ValueError, match="mode must be one of.*'visible'"):
        LspPCKAccuracy(mode='visible')


def test_all_joints_mode_zero_torso_scores_zero():
    gt = person(60.)
    gt[L_SHOULDER] = gt[R_HIP]  # zero-length torso
    metrics = evaluate(
        [data_sample(gt, gt),
         data_sample(person(40.), person(40.))],
        mode='all')
    # The script divides by zero: NaN or inf distances, never within the
    # threshold.
    assert metrics['Mean'] == pytest.approx(50.)
    assert all(v == pytest.approx(50.) for v in metrics.values())


def test_torso_is_per_person_ground_truth():
    """The same 12 px error is correct for a tall person (torso 100) and
    wrong for a small one (torso 40), whatever the predicted torso."""
    samples = []
    for torso in (100., 40.):
        gt = person(torso)
        pred = gt + (12, 0)
        pred[L_SHOULDER] = pred[R_HIP] - (0, 1000)  # a huge predicted torso
        samples.append(data_sample(gt, pred))
    metrics = evaluate(samples)
    # Both torso joints of both persons are displaced by more than 0.2 torso
    # except the tall person's r-hip (12 px); of the other 12 joints per
    # person, the tall person's are correct and the small one's wrong.
    assert metrics['Mean'] == pytest.approx(100 * 13 / 28)
    assert metrics['Shoulder'] == pytest.approx(100 * 1 / 4)
    assert metrics['Hip'] == pytest.approx(100 * 2 / 4)


def test_nobody_with_a_torso_gives_nan():
    gt = person(60.)
    gt[L_SHOULDER] = gt[R_HIP]  # zero-length torso
    metrics = evaluate([data_sample(gt, gt)])
    assert list(metrics) == KEYS
    assert all(np.isnan(v) for v in metrics.values())


def test_real_pipeline_samples(tmp_path, lsp2coco):
    """Fields produced by LspDataset + MMPose's val pipeline are what the
    metric reads: ground truth as prediction scores 100, a shift of 0.3
    torso lengths scores 0."""
    lsp2coco.convert_lsp(
        str(LSPET_DIR / 'joints.mat'), str(LSPET_DIR / 'images'),
        str(tmp_path))
    init_default_scope('mmpose')
    dataset = DATASETS.build(
        dict(
            type='LspDataset',
            data_root=str(tmp_path),
            ann_file='lspet_train.json',
            data_prefix=dict(img=str(LSPET_DIR / 'images')),
            data_mode='topdown',
            test_mode=True,
            indices=8,
            pipeline=[
                dict(type='LoadImage'),
                dict(type='GetBBoxCenterScale'),
                dict(type='TopdownAffine', input_size=(256, 256)),
                dict(type='PackPoseInputs')
            ]))
    samples, shifted = [], []
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        gt = np.asarray(sample.gt_instances.keypoints)[0]
        torso = np.linalg.norm(gt[L_SHOULDER] - gt[R_HIP])
        for target, offset in ((samples, 0.), (shifted, 0.3 * torso)):
            out = sample.clone()
            out.pred_instances = InstanceData(
                keypoints=(gt + (offset, 0))[None])
            target.append(out)
    assert all(v == 100. for v in evaluate(samples).values())
    assert all(v == 0. for v in evaluate(shifted).values())
