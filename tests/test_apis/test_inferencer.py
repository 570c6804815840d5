# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""SoftGateInferencer on real MPII images, a folder and a video made from
them: predictions, renderings, user boxes, batching and a detector."""
import json
import operator
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from softgate_mmpose.apis import SoftGateInferencer, list_model_aliases
from ..constants import LSP_ALIAS, MPII_ALIAS
from .samples import BOX_LEFT, BOX_RIGHT


@pytest.fixture(scope='module')
def images(mpii_images):
    return mpii_images


def _instances(inferencer, inputs, **kwargs):
    """Predictions (list of instances) of every input, in order."""
    preds = []
    for result in inferencer(inputs, **kwargs):
        preds.extend(result['predictions'])
    return preds


def _check_instance(inst, num_keypoints):
    assert np.asarray(inst['keypoints']).shape == (num_keypoints, 2)
    scores = np.asarray(inst['keypoint_scores'])
    assert scores.shape == (num_keypoints, )
    assert np.isfinite(scores).all()
    assert len(inst['bbox']) == 1 and len(inst['bbox'][0]) == 4


def test_image_json_and_rendering(inferencer, two_people, tmp_path):
    h, w = cv2.imread(two_people).shape[:2]
    list(
        inferencer(
            two_people,
            vis_out_dir=str(tmp_path / 'vis'),
            pred_out_dir=str(tmp_path / 'pred'),
            kpt_thr=-1e9,  # draw every keypoint of the untrained model
            radius=4,
            thickness=2))
    with open(tmp_path / 'pred' / '052475643.json') as f:
        instances = json.load(f)
    assert len(instances) == 1
    _check_instance(instances[0], 16)
    # no detector: the whole image is the person box
    assert instances[0]['bbox'][0] == [0, 0, w, h]

    drawn = cv2.imread(str(tmp_path / 'vis' / '052475643.jpg'))
    assert drawn.shape == (h, w, 3)
    assert drawn.mean() > 10  # not black
    # the same rendering with every keypoint below the threshold: only the
    # skeleton differs
    list(
        inferencer(
            two_people, vis_out_dir=str(tmp_path / 'bare'), kpt_thr=1e9))
    bare = cv2.imread(str(tmp_path / 'bare' / '052475643.jpg'))
    changed = np.abs(drawn.astype(int) - bare.astype(int)).max(-1) > 60
    assert changed.sum() > 100


def test_folder_batched_equals_batch1(inferencer, images, tmp_path):
    folder = osp.dirname(images[0])  # also holds test_mpii.json: skipped
    single = _instances(inferencer, folder, batch_size=1)
    batched = _instances(
        inferencer, folder, batch_size=3, pred_out_dir=str(tmp_path))
    assert len(single) == len(batched) == len(images)
    for a, b in zip(single, batched):
        assert len(a) == len(b) == 1
        _check_instance(b[0], 16)
        # Batch 3 and batch 1 may run other oneDNN kernels: heatmaps differ
        # by float rounding, far below 1e-5 of their peak (the highest
        # score); a refined maximum moves by a tiny fraction of a pixel.
        np.testing.assert_allclose(
            a[0]['keypoints'], b[0]['keypoints'], atol=1e-2)
        np.testing.assert_allclose(
            a[0]['keypoint_scores'],
            b[0]['keypoint_scores'],
            rtol=0,
            atol=1e-5 * np.abs(a[0]['keypoint_scores']).max())
    assert sorted(os.listdir(tmp_path)) == sorted(
        osp.splitext(osp.basename(p))[0] + '.json' for p in images)


def test_batches_know_their_number(inferencer, images):
    """The progress bar's total: ceil(inputs / batch size) batches."""
    batches = inferencer.preprocess(images, batch_size=2)
    assert operator.length_hint(batches) == 3
    # each batch holds the crops of its inputs, tagged by input index
    data, originals = next(iter(batches))
    assert originals == images[:2]
    assert [ds.input_index for ds in data['data_samples']] == [0, 1]


def test_video_mp4_and_json_per_frame(inferencer, images, tmp_path,
                                      write_video, read_video):
    video = write_video(images, str(tmp_path / 'clip.mp4'))
    list(
        inferencer(
            video,
            batch_size=2,
            vis_out_dir=str(tmp_path / 'vis'),
            pred_out_dir=str(tmp_path / 'pred'),
            kpt_thr=-1e9,
            thickness=2))
    assert os.listdir(tmp_path / 'vis') == ['clip.mp4']  # no partial file
    frames = read_video(str(tmp_path / 'vis' / 'clip.mp4'))
    assert len(frames) == len(images)
    for frame in frames:
        assert frame.shape == (240, 320, 3)
        assert frame.mean() > 10

    with open(tmp_path / 'pred' / 'clip.json') as f:
        per_frame = json.load(f)
    assert [p['frame_id'] for p in per_frame] == list(range(len(images)))
    for p in per_frame:
        assert len(p['instances']) == 1
        _check_instance(p['instances'][0], 16)
        assert p['instances'][0]['bbox'][0] == [0, 0, 320, 240]

    # boxes per frame index; frames without one use the whole image
    list(
        inferencer(
            video,
            bboxes={1: [[20, 30, 120, 200]]},
            pred_out_dir=str(tmp_path / 'pred_boxes')))
    with open(tmp_path / 'pred_boxes' / 'clip.json') as f:
        per_frame = json.load(f)
    assert per_frame[1]['instances'][0]['bbox'][0] == [20, 30, 120, 200]
    assert per_frame[0]['instances'][0]['bbox'][0] == [0, 0, 320, 240]


def test_early_stop_leaves_no_partial_video(inferencer, images, tmp_path,
                                            write_video):
    video = write_video(images, str(tmp_path / 'clip.mp4'))
    results = inferencer(video, vis_out_dir=str(tmp_path / 'vis'))
    next(results)
    assert len(os.listdir(tmp_path / 'vis')) == 1  # the partial file
    results.close()
    assert os.listdir(tmp_path / 'vis') == []


def test_user_bboxes_honoured(inferencer, two_people, inside, crop_region):
    both = _instances(
        inferencer, two_people, bboxes=[[BOX_LEFT, BOX_RIGHT]])[0]
    assert [inst['bbox'][0] for inst in both] == [BOX_LEFT, BOX_RIGHT]
    for inst, box in zip(both, (BOX_LEFT, BOX_RIGHT)):
        _check_instance(inst, 16)
        assert inside(inst['keypoints'], crop_region(box))
    assert not np.allclose(both[0]['keypoints'], both[1]['keypoints'])
    # each box is predicted on its own: alone it gives the same pose
    left = _instances(inferencer, two_people, bboxes=[BOX_LEFT])[0]
    assert len(left) == 1
    # Batch 1 and batch 2 may run other kernels: rounding moves a refined
    # maximum by a tiny fraction of a pixel.
    np.testing.assert_allclose(
        left[0]['keypoints'], both[0]['keypoints'], atol=1e-2)


def test_whole_image_default_differs_from_tiny_box(inferencer, two_people,
                                                   inside, crop_region):
    h, w = cv2.imread(two_people).shape[:2]
    whole = _instances(inferencer, two_people)[0][0]
    assert whole['bbox'][0] == [0, 0, w, h]
    # an empty entry also falls back to the whole image
    assert _instances(
        inferencer, two_people, bboxes=[[]])[0][0]['bbox'][0] == [0, 0, w, h]
    tiny_box = [0., 0., 40., 40.]
    tiny = _instances(inferencer, two_people, bboxes=[[tiny_box]])[0][0]
    assert inside(tiny['keypoints'], crop_region(tiny_box))
    assert not inside(whole['keypoints'], crop_region(tiny_box))


def test_box_scores_filtered_by_bbox_thr(inferencer, two_people):
    boxes = [BOX_LEFT + [0.9], BOX_RIGHT + [0.1]]
    kept = _instances(inferencer, two_people, bboxes=[boxes], bbox_thr=0.3)[0]
    assert [inst['bbox'][0] for inst in kept] == [BOX_LEFT]
    assert kept[0]['bbox_score'] == pytest.approx(0.9)


def test_bboxes_by_file_name_in_folder(inferencer, images, two_people):
    preds = _instances(
        inferencer,
        osp.dirname(two_people),
        batch_size=2,
        bboxes={osp.basename(two_people): [BOX_LEFT, BOX_RIGHT]})
    for path, instances in zip(images, preds):
        if path == two_people:
            assert [i['bbox'][0] for i in instances] == [BOX_LEFT, BOX_RIGHT]
        else:
            h, w = cv2.imread(path).shape[:2]
            assert [i['bbox'][0] for i in instances] == [[0, 0, w, h]]


@pytest.mark.parametrize('bboxes, match', [
    ([[BOX_LEFT], [BOX_RIGHT]], r'2 entries for 1 inputs'),
    ([[[10, 10, 5, 50]]], 'without area'),
    ([[[10, 10, 50]]], r'shape \(N, 4\)'),
    ({
        'other.jpg': [BOX_LEFT]
    }, 'not given'),
])
def test_bad_bboxes(inferencer, two_people, tmp_path, bboxes, match):
    with pytest.raises(ValueError, match=match):
        next(inferencer(two_people, bboxes=bboxes, pred_out_dir=str(tmp_path)))
    assert os.listdir(tmp_path) == []  # nothing written


def test_mmpose_pose2d_inferencer_drops_bboxes(mpii_tiny_ckpt, two_people,
                                               tiny_pose_cfg):
    """Why the plugin overrides preprocess_single: MMPose 1.3.2 ignores the
    caller's boxes of a top-down model."""
    from mmpose.apis.inferencers import Pose2DInferencer
    cfg = Config.fromfile(list_model_aliases()[MPII_ALIAS])
    cfg.merge_from_dict(tiny_pose_cfg)
    mmpose_inferencer = Pose2DInferencer(
        cfg, mpii_tiny_ckpt, device='cpu', det_model='whole_image')
    h, w = cv2.imread(two_people).shape[:2]
    pred = next(mmpose_inferencer(two_people, bboxes=[[BOX_LEFT]]))
    assert pred['predictions'][0][0]['bbox'][0] == [0, 0, w, h]


def test_lsp_config_gives_14_keypoints(tmp_path, two_people, lsp_config,
                                       save_tiny_checkpoint, tiny_pose_cfg):
    ckpt = save_tiny_checkpoint(LSP_ALIAS, str(tmp_path / 'lsp_tiny.pth'))
    inferencer = SoftGateInferencer(
        LSP_ALIAS,
        ckpt,
        device='cpu',
        cfg_options=tiny_pose_cfg,
        show_progress=False)
    list(
        inferencer(
            two_people,
            bboxes=[[BOX_LEFT, BOX_RIGHT]],
            pred_out_dir=str(tmp_path)))
    with open(tmp_path / '052475643.json') as f:
        instances = json.load(f)
    assert len(instances) == 2
    for inst in instances:
        _check_instance(inst, 14)


@pytest.mark.slow
@pytest.mark.parametrize('alias, num_keypoints', [(MPII_ALIAS, 16),
                                                  (LSP_ALIAS, 14)])
def test_default_configs_as_they_are(alias, num_keypoints, two_people,
                                     request):
    """The unmodified configs (4 stacks x 144 channels), random weights."""
    if alias == LSP_ALIAS:
        request.getfixturevalue('lsp_config')
    inferencer = SoftGateInferencer(alias, device='cpu', show_progress=False)
    assert inferencer.model.backbone.num_stacks == 4
    instances = next(inferencer(two_people))['predictions'][0]
    assert len(instances) == 1
    _check_instance(instances[0], num_keypoints)


# ------------------------------------------------------------- detector
@pytest.fixture(scope='module')
def person_detector(tmp_path_factory):
    """A small RTMDet whose weights make it find COCO persons (class 0) of a
    fixed size at the coarsest level and nothing else."""
    from mmdet.apis import init_detector
    from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu

    root = tmp_path_factory.mktemp('detector')
    cfg_path = str(root / 'rtmdet_tiny_person.py')
    with open(cfg_path, 'w') as f:
        f.write(
            "_base_ = ['mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py']\n"
            'model = dict(backbone=dict(init_cfg=None))\n'
            'test_pipeline = [\n'
            "    dict(type='LoadImageFromFile'),\n"
            "    dict(type='Resize', scale=(320, 320), keep_ratio=True),\n"
            "    dict(type='Pad', size=(320, 320),\n"
            '         pad_val=dict(img=(114, 114, 114))),\n'
            "    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path',\n"
            "         'ori_shape', 'img_shape', 'scale_factor'))]\n"
            'test_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n')
    model = init_detector(cfg_path, None, device='cpu')
    head = model.bbox_head
    with torch.no_grad():
        for level, (cls, reg) in enumerate(zip(head.rtm_cls, head.rtm_reg)):
            cls.weight.zero_()
            cls.bias.fill_(-10.)
            reg.weight.zero_()
            reg.bias.fill_(2.)  # 2 strides to each side
            if level == len(head.rtm_cls) - 1:
                cls.bias[0] = 3.  # person, score 0.95
    ckpt = str(root / 'rtmdet_tiny_person.pth')
    save_checkpoint(
        dict(
            state_dict=weights_to_cpu(model.state_dict()),
            meta=dict(dataset_meta=model.dataset_meta)), ckpt)
    return cfg_path, ckpt


@pytest.mark.slow
def test_detector_boxes(mpii_tiny_ckpt, person_detector, two_people,
                        tiny_pose_cfg, inside, crop_region):
    det_cfg, det_ckpt = person_detector
    inferencer = SoftGateInferencer(
        MPII_ALIAS,
        mpii_tiny_ckpt,
        device='cpu',
        cfg_options=tiny_pose_cfg,
        det_model=det_cfg,
        det_weights=det_ckpt,
        show_progress=False)
    instances = _instances(inferencer, two_people)[0]
    det = inferencer.detector(
        two_people, return_datasamples=True)['predictions'][0]
    det = det.pred_instances.cpu().numpy()
    persons = det.bboxes[(det.labels == 0) & (det.scores > 0.3)]
    h, w = cv2.imread(two_people).shape[:2]
    assert 0 < len(instances) <= len(persons)
    for inst in instances:
        box = np.asarray(inst['bbox'][0])
        assert box.tolist() != [0, 0, w, h]
        assert np.abs(persons - box).max(1).min() < 1e-3  # a detector box
        assert inst['bbox_score'] == pytest.approx(0.95, abs=0.01)
        assert inside(inst['keypoints'], crop_region(box))

    # no box of the requested class: the whole image, as in MMPose
    inferencer = SoftGateInferencer(
        MPII_ALIAS,
        mpii_tiny_ckpt,
        device='cpu',
        cfg_options=tiny_pose_cfg,
        det_model=det_cfg,
        det_weights=det_ckpt,
        det_cat_ids=[1],
        show_progress=False)
    instances = _instances(inferencer, two_people)[0]
    assert [inst['bbox'][0] for inst in instances] == [[0, 0, w, h]]
