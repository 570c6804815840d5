# `make quickstart-real`: 2 soft-gated stacks x 64 channels at 96x96, 600
# iterations of batch 16 on the first 300 images of the LSP-extended sample in
# data/lspet_sample, evaluated on the last 100 (tools/quickstart.py writes the
# two annotation files and sets them). Sized for 10 minutes on a 2-core CPU
# whose reference conv runs at 30 GMAC/s; why this recipe:
# configs/lsp/README.md.
_base_ = ['./td-hm_softgate-hg4-c144_1xb24-200e_lsp-256x256.py']

# runtime: iteration-based, one validation and one checkpoint at the end
max_iters = 600
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)

# optimizer: a high peak lr for a short run from scratch, cosine decay to 1 %
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=40, start_factor=0.01, by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        begin=40,
        end=max_iters,
        eta_min_ratio=0.01,
        by_epoch=False),
]
auto_scale_lr = dict(base_batch_size=16)

# hooks: progress every 50 iterations, one checkpoint at the end
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1,
        save_best=None))
log_processor = dict(by_epoch=False, window_size=10)

# oneDNN runs the small convs of this model faster in channels-last (same
# computation)
custom_hooks = [dict(type='MemoryFormatHook', memory_format='channels_last')]

# codec: 24x24 heatmaps, DARK encoding and decoding for sub-pixel accuracy
codec = dict(
    type='MSRAHeatmap',
    input_size=(96, 96),
    heatmap_size=(24, 24),
    sigma=1.25,
    unbiased=True,
    blur_kernel_size=7)

# model settings: 2 stacks of 64 channels, 3 hourglass levels (24 -> 3 pixels)
num_stacks = 2
model = dict(
    backbone=dict(
        num_stacks=num_stacks,
        stack_channels=64,
        depth=3,
        stem_channels=(16, 16, 64)),
    head=dict(num_stages=num_stacks, decoder=codec))

# pipelines: the LSP config's (flip, rotation U(-30, 30), scale U(0.75, 1.25))
# at this size
train_pipeline = [
    dict(t, input_size=codec['input_size']) if t['type'] == 'TopdownAffine'
    else dict(t, encoder=codec) if t['type'] == 'GenerateTarget' else t
    for t in _base_.train_pipeline
]
val_pipeline = [
    dict(t, input_size=codec['input_size'])
    if t['type'] == 'TopdownAffine' else t for t in _base_.val_pipeline
]

# data loaders: one worker decodes and crops images on the second core
data_root = 'data/lspet_sample/'
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/lspet_sample_train.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/lspet_sample_val.json',
        pipeline=val_pipeline))
test_dataloader = val_dataloader
