# Quickstart model (`make quickstart`): 1 soft-gated stack x 64 channels on
# the generated LSP-style figures, 600 iterations at batch 32 on CPU.
# Rationale and results: configs/synthetic/README.md
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['softgate_mmpose'], allow_failed_imports=False)

# runtime
max_iters = 600
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=max_iters)

# optimizer
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))

# learning policy: short linear warm-up, then cosine decay to 1% of the peak
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        begin=50,
        end=max_iters,
        eta_min_ratio=0.01,
        by_epoch=False),
]

# automatically scaling LR based on the actual training batch size
auto_scale_lr = dict(base_batch_size=32)

# hooks: log often enough to watch progress (iter, loss, ETA) on a CPU
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=10)

# codec settings: 24x24 heatmaps, DARK (unbiased) encoding and decoding for
# sub-pixel accuracy
codec = dict(
    type='MSRAHeatmap',
    input_size=(96, 96),
    heatmap_size=(24, 24),
    sigma=1.25,
    unbiased=True,
    blur_kernel_size=7)

# model settings
num_keypoints = 14
num_stacks = 1
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='SoftGatedStackedHourglass',
        num_keypoints=num_keypoints,
        num_stacks=num_stacks,
        stack_channels=64,
        depth=3,
        stem_channels=(16, 16, 64),
        block_cfg=dict(type='HierarchicalBlock', gate='channel', gate_init=0.),
        merge='concat-1x1',
        norm_cfg=dict(type='BN', requires_grad=True),
        act_cfg=dict(type='ReLU')),
    head=dict(
        type='CPMHead',
        in_channels=num_keypoints,
        out_channels=num_keypoints,
        num_stages=num_stacks,
        deconv_out_channels=None,
        final_layer=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# base dataset settings; tools/quickstart.py sets data_root itself,
# tools/train.py takes
#   --cfg-options train_dataloader.dataset.data_root=DIR
#                 val_dataloader.dataset.data_root=DIR
#                 test_dataloader.dataset.data_root=DIR
dataset_type = 'LspDataset'
data_mode = 'topdown'
data_root = 'data/synthetic/'

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform',
        shift_factor=0.1,
        scale_factor=(0.8, 1.2),
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

# oneDNN runs these narrow convs (forward and backward) faster in
# channels-last; the hook stores the model's weights in that layout before the
# run (the computation is the same in either layout)
custom_hooks = [dict(type='MemoryFormatHook', memory_format='channels_last')]

# data loaders: one worker decodes and augments in parallel with the training
# step
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/synthetic_train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
    ))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/synthetic_val.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(type='LspPCKAccuracy')
test_evaluator = val_evaluator
