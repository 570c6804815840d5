# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""MPII -> LSP finetuning: the finetune config's JointMapCheckpointHook on a
real checkpoint written by mmengine's Runner on the MPII sample."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpose.datasets.datasets.utils import parse_pose_metainfo

from softgate_mmpose.datasets import LSP_METAINFO_FILE
from softgate_mmpose.engine.hooks import map_joint_weights
from ...constants import DEFAULT_CONFIG, REPO_ROOT, TINY_BACKBONE, TINY_HEAD

LSP_DIR = osp.join(REPO_ROOT, 'configs', 'lsp')
SCRATCH_CONFIG = osp.join(LSP_DIR,
                          'td-hm_softgate-hg4-c144_1xb24-200e_lsp-256x256.py')
FINETUNE_CONFIG = osp.join(
    LSP_DIR, 'td-hm_softgate-hg4-c144_1xb24-60e_mpii-to-lsp-256x256.py')
MPII_TO_LSP = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9]
HEATMAP_CONV = 'backbone.heatmap_convs.{}.conv.{}'
REMAP_HEATMAP = 'backbone.remap_heatmaps.{}.conv.weight'

# The tiny model with 2 stacks on 64x64 crops: a few seconds per Runner on a
# CPU.
CODEC = dict(
    type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
NUM_STACKS = 2


def tiny_cfg(config: str, work_dir: str, dataset: dict,
             max_iters: int) -> Config:
    """``config`` with a tiny model, ``dataset`` as the training set,
    ``max_iters`` iterations, a checkpoint at the end and no validation."""
    cfg = Config.fromfile(config)
    num_keypoints = cfg.model.backbone.num_keypoints
    cfg.model.backbone.update(TINY_BACKBONE, num_stacks=NUM_STACKS)
    cfg.model.head.update(TINY_HEAD, num_stages=NUM_STACKS, decoder=CODEC)
    assert cfg.model.head.out_channels == num_keypoints
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(dataset)
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'TopdownAffine':
            step.input_size = CODEC['input_size']
        elif step.type == 'GenerateTarget':
            step.encoder = CODEC
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.param_scheduler = None
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    # the config's checkpoint hook (save_best included), every max_iters
    cfg.default_hooks.checkpoint.update(
        interval=max(max_iters, 1), by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg


def load_state_dict(path: str) -> dict:
    # mmengine's own loader path: weights_only=True with the plugin's
    # allow-listed globals.
    return torch.load(
        path, map_location='cpu', weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def mpii_checkpoint(tmp_path_factory, sample_data_path) -> str:
    """A checkpoint of the tiny MPII model after 2 real training iterations."""
    root = sample_data_path('mpii_sample')
    init_default_scope('mmpose')
    work_dir = str(tmp_path_factory.mktemp('mpii_run'))
    cfg = tiny_cfg(
        DEFAULT_CONFIG,
        work_dir,
        dict(
            data_root=root,
            ann_file='test_mpii.json',
            data_prefix=dict(img='')),
        max_iters=2)
    Runner.from_cfg(cfg).train()
    path = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(path)
    return path


@pytest.fixture(scope='module')
def lsp_train_set(tmp_path_factory, lsp2coco, sample_data_path) -> dict:
    """The real LSP-extended sample converted, as a dataset override."""
    images = sample_data_path('lspet_sample', 'images')
    root = tmp_path_factory.mktemp('lsp_root')
    lsp2coco.convert_lsp(
        sample_data_path('lspet_sample', 'joints.mat'), images,
        str(root / 'annotations'))
    return dict(
        data_root=str(root),
        ann_file='annotations/lspet_train.json',
        data_prefix=dict(img=images))


def finetune_runner(work_dir, lsp_train_set, load_from, **hook_args) -> Runner:
    """The finetune config, tiny, with 0 training iterations: ``train()``
    runs the Runner's initialisation, checkpoint loading and hooks only."""
    cfg = tiny_cfg(FINETUNE_CONFIG, str(work_dir), lsp_train_set, max_iters=0)
    cfg.load_from = load_from
    for hook in cfg.custom_hooks:
        if hook.type == 'JointMapCheckpointHook':
            hook.update(hook_args)
    return Runner.from_cfg(cfg)


def test_config_joint_map_matches_joint_names():
    """The finetune config maps every LSP joint to the MPII joint of the same
    name (MPII's upper neck is LSP's neck)."""
    cfg = Config.fromfile(FINETUNE_CONFIG)
    (hook, ) = [
        h for h in cfg.custom_hooks if h.type == 'JointMapCheckpointHook'
    ]
    assert hook.joint_map == MPII_TO_LSP
    mpii = parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/mpii.py'))
    lsp = parse_pose_metainfo(dict(from_file=LSP_METAINFO_FILE))
    mpii_names = [mpii['keypoint_id2name'][i] for i in hook.joint_map]
    lsp_names = [lsp['keypoint_id2name'][i] for i in range(14)]
    assert [n.replace('upper_neck', 'neck') for n in mpii_names] == lsp_names
    assert cfg.load_from.endswith('.pth')
    assert cfg.model.backbone.num_keypoints == 14
    assert cfg.default_hooks.checkpoint.save_best == 'Mean'


@pytest.mark.slow
@pytest.mark.parametrize('config', [SCRATCH_CONFIG, FINETUNE_CONFIG])
def test_configs_resolve_through_custom_imports(config):
    """A fresh interpreter that only loads the config (as tools/train.py
    does) finds every plugin type the config names."""
    script = ('import sys\n'
              'from mmengine.config import Config\n'
              'from mmengine.registry import init_default_scope\n'
              'from mmpose.registry import DATASETS, HOOKS, METRICS, MODELS\n'
              'cfg = Config.fromfile(sys.argv[1])\n'
              'init_default_scope("mmpose")\n'
              'names = [(MODELS, cfg.model.backbone.type),\n'
              '         (DATASETS, cfg.train_dataloader.dataset.type),\n'
              '         (DATASETS, cfg.val_dataloader.dataset.type),\n'
              '         (METRICS, cfg.val_evaluator.type)]\n'
              'names += [(HOOKS, h.type) for h in cfg.custom_hooks]\n'
              'missing = [n for r, n in names if r.get(n) is None]\n'
              'assert not missing, missing\n')
    result = subprocess.run([sys.executable, '-c', script, config],
                            cwd=REPO_ROOT,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_finetune_starts_from_mapped_mpii_joints(mpii_checkpoint,
                                                 lsp_train_set, tmp_path):
    mpii = load_state_dict(mpii_checkpoint)
    assert mpii[HEATMAP_CONV.format(0, 'weight')].shape[0] == 16

    runner = finetune_runner(tmp_path, lsp_train_set, mpii_checkpoint)
    runner.train()  # 0 iterations: init, load_from + hook
    lsp = runner.model.state_dict()
    assert set(lsp) == set(mpii)

    index = torch.tensor(MPII_TO_LSP)
    joint_specific = set()
    for i in range(NUM_STACKS):
        for kind in ('weight', 'bias'):
            key = HEATMAP_CONV.format(i, kind)
            assert lsp[key].shape[0] == 14
            assert torch.equal(lsp[key], mpii[key][index])
            joint_specific.add(key)
    for i in range(NUM_STACKS - 1):
        key = REMAP_HEATMAP.format(i)
        assert lsp[key].shape[1] == 14
        assert torch.equal(lsp[key], mpii[key][:, index])
        joint_specific.add(key)
    # e.g. LSP's neck (12) is MPII's upper neck (8)
    key = HEATMAP_CONV.format(NUM_STACKS - 1, 'weight')
    assert torch.equal(lsp[key][12], mpii[key][8])

    # every other tensor (remap biases, BN statistics included) unchanged
    for key in set(mpii) - joint_specific:
        assert torch.equal(lsp[key], mpii[key]), key


def test_checkpoint_with_target_joints_passes_through(mpii_checkpoint,
                                                      lsp_train_set, tmp_path):
    """Resuming or testing a finetuned (14-joint) checkpoint: no mapping."""
    runner = finetune_runner(tmp_path / 'a', lsp_train_set, mpii_checkpoint)
    runner.train()
    lsp_state = runner.model.state_dict()
    assert map_joint_weights(lsp_state, lsp_state, MPII_TO_LSP) == {}

    path = str(tmp_path / 'lsp.pth')
    torch.save(dict(state_dict=lsp_state), path)
    runner = finetune_runner(tmp_path / 'b', lsp_train_set, path)
    runner.train()
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, lsp_state[key]), key


def test_joint_map_not_fitting_checkpoint(mpii_checkpoint, lsp_train_set,
                                          tmp_path):
    # LSP joint 13 from MPII joint 16, which a 16-joint checkpoint lacks
    runner = finetune_runner(
        tmp_path / 'a',
        lsp_train_set,
        mpii_checkpoint,
        joint_map=MPII_TO_LSP[:-1] + [16])
    with pytest.raises(ValueError, match='predicts 16 joints') as err:
        runner.train()
    assert mpii_checkpoint in str(err.value)
    assert 'does not fit the map' in str(err.value)

    # a map for 13 joints on a 14-joint model
    runner = finetune_runner(
        tmp_path / 'b',
        lsp_train_set,
        mpii_checkpoint,
        joint_map=MPII_TO_LSP[:-1])
    with pytest.raises(
            ValueError, match='13 entries but the model predicts 14'):
        runner.train()


def test_map_joint_weights_rejects_other_architectures(mpii_checkpoint):
    mpii = load_state_dict(mpii_checkpoint)
    key = HEATMAP_CONV.format(0, 'weight')
    model_state = {
        key: torch.zeros(14, 32, 1, 1)  # 32 channels instead of 16
    }
    with pytest.raises(ValueError, match='different architecture'):
        map_joint_weights(mpii, model_state, MPII_TO_LSP)
    with pytest.raises(ValueError, match='none of the joint-specific'):
        map_joint_weights(
            {
                'backbone.stem.0.conv.weight':
                mpii['backbone.stem.0.conv.weight']
            }, model_state, MPII_TO_LSP)


def test_map_joint_weights_of_a_wrapped_model(mpii_checkpoint):
    """A checkpoint saved from a DDP/DataParallel model: keys keep their
    ``module.`` prefix (mmengine's loader strips it afterwards, as the
    plugin's checkpoint check names them)."""
    mpii = load_state_dict(mpii_checkpoint)
    key = HEATMAP_CONV.format(0, 'weight')
    wrapped = {f'module.{k}': v for k, v in mpii.items()}
    model_state = {key: torch.zeros(14, *mpii[key].shape[1:])}
    mapped = map_joint_weights(wrapped, model_state, MPII_TO_LSP)
    assert list(mapped) == [f'module.{key}']
    assert torch.equal(mapped[f'module.{key}'],
                       mpii[key][torch.tensor(MPII_TO_LSP)])


def test_training_without_checkpoint_is_refused(lsp_train_set, tmp_path):
    runner = finetune_runner(tmp_path, lsp_train_set, None)
    with pytest.raises(RuntimeError, match='no checkpoint was loaded'):
        runner.train()


def test_hook_arguments_are_checked():
    from softgate_mmpose.engine.hooks import JointMapCheckpointHook
    for bad in ([], [0, -1], [0, 1.5]):
        with pytest.raises(ValueError, match='joint_map'):
            JointMapCheckpointHook(joint_map=bad)
    assert JointMapCheckpointHook(joint_map=MPII_TO_LSP).joint_map == \
        MPII_TO_LSP


@pytest.mark.slow
def test_finetune_trains_validates_and_keeps_best_mean(mpii_checkpoint,
                                                       lsp_train_set,
                                                       tmp_path):
    """Two real finetuning iterations, then the config's LspPCKAccuracy on
    16 LSP-extended images; the config's ``save_best='Mean'`` names a key the
    metric returns, so the best checkpoint is written."""
    cfg = tiny_cfg(FINETUNE_CONFIG, str(tmp_path), lsp_train_set, max_iters=2)
    cfg.load_from = mpii_checkpoint
    cfg.train_cfg.val_interval = 2
    full = Config.fromfile(FINETUNE_CONFIG)
    val_loader = full.val_dataloader
    val_loader.update(batch_size=8, num_workers=0, persistent_workers=False)
    val_loader.dataset.update(lsp_train_set, indices=16)
    for step in val_loader.dataset.pipeline:
        if step.type == 'TopdownAffine':
            step.input_size = CODEC['input_size']
    cfg.val_dataloader = val_loader
    cfg.val_cfg = full.val_cfg
    cfg.val_evaluator = full.val_evaluator
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(osp.join(str(tmp_path), 'best_Mean_iter_2.pth'))
    mean = runner.message_hub.get_scalar('val/Mean').current()
    assert 0 <= mean <= 100
