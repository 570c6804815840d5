# Soft-gated stacked hourglass (Bulat et al., FG 2020) on MPII, the default
# model: 4 stacks x 144 channels, hierarchical blocks with per-channel gates,
# concat-1x1 merges; the public reimplementation's recipe at a total batch
# of 24 ("1xb24"). Rationale and results: configs/mpii/README.md
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['softgate_mmpose'], allow_failed_imports=False)

# runtime
train_cfg = dict(max_epochs=200, val_interval=10)

# optimizer: Adam, as the public reimplementation
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2.5e-4))

# learning policy: MMPose's 500-iteration linear warm-up, then the
# reimplementation's schedule 2.5e-4 -> 1.7e-4 -> 9e-5 -> 1e-5 at epochs
# 75/100/150 (equal linear steps, hence one MultiStepLR per drop)
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=200,
        milestones=[75],
        gamma=1.7 / 2.5),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=200,
        milestones=[100],
        gamma=0.9 / 1.7),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=200,
        milestones=[150],
        gamma=0.1 / 0.9),
]

# automatically scaling LR based on the actual training batch size
# (--auto-scale-lr): the recipe's total batch
auto_scale_lr = dict(base_batch_size=24)

# hooks
default_hooks = dict(checkpoint=dict(save_best='PCK', rule='greater'))

# codec settings
codec = dict(
    type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)

# model settings: the backbone returns every stack's heatmaps (they feed the
# next stack); CPMHead supervises each of them and decodes the last.
num_stacks = 4
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='SoftGatedStackedHourglass',
        num_keypoints=16,
        num_stacks=num_stacks,
        stack_channels=144,
        depth=4,
        stem_channels=(64, 128, 128),
        block_cfg=dict(type='HierarchicalBlock', gate='channel', gate_init=0.),
        merge='concat-1x1',
        norm_cfg=dict(type='BN', requires_grad=True),
        act_cfg=dict(type='ReLU')),
    head=dict(
        type='CPMHead',
        in_channels=16,
        out_channels=16,
        num_stages=num_stacks,
        deconv_out_channels=None,
        final_layer=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# base dataset settings
# MMPose's MpiiDataset that checks data root, annotation, head-box and image
# files up front
dataset_type = 'CheckedMpiiDataset'
data_mode = 'topdown'
data_root = 'data/mpii/'

# pipelines: flip (p = 0.5), then every sample rotated by U(-30, 30) degrees
# and scaled by U(0.75, 1.25), as the public reimplementation
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='UniformRandomBBoxTransform',
        scale_factor=(0.75, 1.25),
        rotate_factor=30),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]

# data loaders
train_dataloader = dict(
    batch_size=24,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/mpii_train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
    ))
val_dataloader = dict(
    batch_size=24,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/mpii_val.json',
        headbox_file=f'{data_root}/annotations/mpii_gt_val.mat',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(type='MpiiPCKAccuracy')
test_evaluator = val_evaluator
