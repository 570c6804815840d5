# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""softgate_mmpose.utils.checkpoint: the one checkpoint-compatibility check."""
import pytest
import torch
import torch.nn as nn
from mmengine.runner import save_checkpoint

from softgate_mmpose.utils.checkpoint import (compare_state_dict,
                                              load_checked_checkpoint,
                                              read_checkpoint, state_dict_of)


def _net(out: int = 4, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, out, 1))


def test_read_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        read_checkpoint(str(tmp_path / 'absent.pth'))
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match=r'garbage\.pth cannot be read'):
        read_checkpoint(str(garbage))
    listed = tmp_path / 'list.pth'
    torch.save([1, 2], listed)
    with pytest.raises(ValueError, match=r'list\.pth holds a list'):
        read_checkpoint(str(listed))


def test_load_checked_checkpoint_wrapped_model_and_meta(tmp_path):
    """A DDP-saved (``module.``-prefixed) checkpoint loads exactly, and its
    ``dataset_meta`` becomes the model's."""
    src, dst = _net(seed=1), _net(seed=2)
    path = str(tmp_path / 'ddp.pth')
    save_checkpoint(
        dict(
            state_dict={
                f'module.{k}': v
                for k, v in src.state_dict().items()
            },
            meta=dict(dataset_meta=dict(num_keypoints=4))), path)
    assert not torch.equal(src[0].weight, dst[0].weight)
    load_checked_checkpoint(dst, path)
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    assert dst.dataset_meta == dict(num_keypoints=4)


def test_mismatch_is_listed_and_nothing_loaded(tmp_path):
    src, dst = _net(out=5), _net(out=4)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    state = dict(src.state_dict())
    state['extra.weight'] = torch.zeros(1)
    del state['0.bias']
    with pytest.raises(ValueError) as info:
        load_checked_checkpoint(
            dst,
            dict(state_dict=state),
            checkpoint_name='ck.pth',
            config_name='cfg.py')
    message = str(info.value)
    assert 'ck.pth does not fit the model of cfg.py' in message
    assert '1 missing keys:\n  0.bias' in message
    assert '1 unexpected keys:\n  extra.weight' in message
    assert '2.weight: found (5, 8, 1, 1), expected (4, 8, 1, 1)' in message
    for k, v in dst.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_compare_state_dict_shapes_and_types():
    expected = {'a': (2, 3), 'b': torch.zeros(4)}
    got = compare_state_dict(expected, {'a': torch.zeros(2, 3), 'b': 'text'})
    assert got.mismatched == [('b', 'str', (4, ))] and not got.missing
    assert not compare_state_dict(expected, {
        'a': torch.zeros(2, 3),
        'b': torch.ones(4)
    })
    many = compare_state_dict({f'k{i}': (1, ) for i in range(12)}, {})
    lines = many.describe(max_listed=3)
    assert lines[0] == '12 missing keys:' and lines[-1] == '  ... and 9 more'
    assert list(state_dict_of({'state_dict': {
        'module.x': 1,
        'y': 2
    }})) == ['x', 'y']
