# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Clear errors of the inferencer and init_model on bad inputs."""
import os

import pytest
import torch

from softgate_mmpose.apis import SoftGateInferencer, init_model
from ..constants import LSP_ALIAS, MPII_ALIAS


def test_missing_file(inferencer, tmp_path, mpii_images):
    missing = str(tmp_path / 'nobody.jpg')
    with pytest.raises(FileNotFoundError, match='nobody.jpg'):
        next(inferencer(missing))
    with pytest.raises(FileNotFoundError, match='nobody.jpg'):
        next(inferencer([mpii_images[0], missing]))


def test_text_file_renamed_mp4(inferencer, tmp_path):
    fake = tmp_path / 'clip.mp4'
    fake.write_text('not a video\n' * 100)
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match=r'Cannot read video .*clip\.mp4'):
        next(
            inferencer(str(fake), vis_out_dir=str(out), pred_out_dir=str(out)))
    assert not out.exists()  # nothing half-written


def test_text_file_renamed_jpg(inferencer, tmp_path):
    fake = tmp_path / 'photo.jpg'
    fake.write_text('not an image')
    with pytest.raises(ValueError, match=r'Cannot read image .*photo\.jpg'):
        next(inferencer(str(fake)))


def test_folder_without_images(inferencer, tmp_path):
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / 'LICENSE').write_text('x')  # no extension: MMPose crashes
    with pytest.raises(ValueError, match='No image files in folder'):
        next(inferencer(str(tmp_path)))


def test_unknown_alias_lists_known_ones():
    with pytest.raises(ValueError) as info:
        SoftGateInferencer('softgate-hg5_mpii', device='cpu')
    assert "'softgate-hg5_mpii'" in str(info.value)
    for alias in (MPII_ALIAS, LSP_ALIAS):
        assert alias in str(info.value)
    with pytest.raises(ValueError, match=MPII_ALIAS):
        init_model('softgate-hg5_mpii', device='cpu')


def test_missing_config_and_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='Config file not found'):
        SoftGateInferencer(str(tmp_path / 'missing_config.py'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        SoftGateInferencer(MPII_ALIAS, str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='Detector config'):
        SoftGateInferencer(
            MPII_ALIAS, det_model=str(tmp_path / 'missing_det.py'))


@pytest.mark.parametrize('with_meta', [True, False])
def test_checkpoint_of_other_joint_set(mpii_tiny_ckpt, tmp_path, with_meta,
                                       lsp_config, tiny_pose_cfg):
    """16-joint MPII weights into the 14-joint LSP config; without meta the
    count is read off the keypoint-sized parameters."""
    ckpt = mpii_tiny_ckpt
    if not with_meta:
        state = torch.load(
            mpii_tiny_ckpt, map_location='cpu', weights_only=True)
        state.pop('meta')
        ckpt = str(tmp_path / 'no_meta.pth')
        torch.save(state, ckpt)
    with pytest.raises(ValueError) as info:
        SoftGateInferencer(
            LSP_ALIAS, ckpt, device='cpu', cfg_options=tiny_pose_cfg)
    message = str(info.value)
    assert 'for 16 keypoints' in message and 'for 14 keypoints' in message
    assert os.path.basename(ckpt) in message
    if with_meta:
        assert '(mpii)' in message
    with pytest.raises(ValueError, match='for 16 keypoints'):
        init_model(LSP_ALIAS, ckpt, device='cpu', cfg_options=tiny_pose_cfg)


def test_checkpoint_of_other_architecture(mpii_tiny_ckpt):
    """Tiny weights into the full 4 x 144 model: same joints, other shapes."""
    with pytest.raises(ValueError) as info:
        init_model(MPII_ALIAS, mpii_tiny_ckpt, device='cpu')
    message = str(info.value)
    assert 'does not fit' in message and 'mismatched shapes' in message
    assert 'missing keys' in message  # stacks 2-4 are not in the checkpoint
    assert 'mpii_tiny.pth' in message
    with pytest.raises(ValueError, match='does not fit'):
        SoftGateInferencer(MPII_ALIAS, mpii_tiny_ckpt, device='cpu')


def test_unreadable_checkpoint(tmp_path):
    bad = tmp_path / 'broken.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match=r'broken\.pth cannot be read'):
        init_model(MPII_ALIAS, str(bad), device='cpu')


def test_camera_that_cannot_open(inferencer):
    with pytest.raises(RuntimeError, match='Cannot open camera'):
        next(inferencer(97))
    with pytest.raises(RuntimeError, match='webcam:97'):
        next(inferencer('webcam:97'))


def test_unknown_call_argument(inferencer, mpii_images):
    with pytest.raises(ValueError, match='kpt_threshold'):
        next(inferencer(mpii_images[0], kpt_threshold=0.5))
