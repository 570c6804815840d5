# Quickstart on real people (`make quickstart-real`, `tools/quickstart.py --real`): the LSP config
# beside this one with a small model (2 soft-gated stacks x 64 channels, 128x128 input), trained
# for 400 iterations on 300 images of the 400-image LSP-extended sample and evaluated on the
# other 100. tools/quickstart.py converts the sample with
# tools/dataset_converters/lsp2coco.py and sets data_root and the annotation files. A toy that
# shows the pipeline on real photographs, not an accuracy figure: 300 images are ~3% of the
# LSP + LSP-extended training set.
_base_ = ['./td-hm_softgate-hg4-c144_1xb24-200e_lsp-256x256.py']

# runtime: iteration-based, one validation and one checkpoint at the end
max_iters = 400
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)

# optimizer: the synthetic quickstart's (a short run from scratch takes a high peak lr)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=40, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=40, end=max_iters, eta_min_ratio=0.01, by_epoch=False),
]
auto_scale_lr = dict(base_batch_size=16)

# hooks: progress every 10 iterations, one checkpoint at the end
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1,
        save_best=None))
log_processor = dict(by_epoch=False, window_size=10)

# oneDNN runs the small convs of this model faster in channels-last; the hook stores the model's
# weights in that layout before the run (the computation is the same in either layout)
custom_hooks = [dict(type='MemoryFormatHook', memory_format='channels_last')]

# codec: 32x32 heatmaps, DARK encoding and decoding for sub-pixel accuracy
codec = dict(
    type='MSRAHeatmap',
    input_size=(128, 128),
    heatmap_size=(32, 32),
    sigma=1.5,
    unbiased=True,
    blur_kernel_size=7)

# model settings: the synthetic quickstart's stem and width, 2 stacks
num_stacks = 2
model = dict(
    backbone=dict(
        num_stacks=num_stacks, stack_channels=64, depth=3, stem_channels=(16, 16, 64)),
    head=dict(num_stages=num_stacks, decoder=codec))

# pipelines: the LSP config's, at this input size
train_pipeline = [
    dict(t, input_size=codec['input_size']) if t['type'] == 'TopdownAffine' else
    dict(t, encoder=codec) if t['type'] == 'GenerateTarget' else t
    for t in _base_.train_pipeline
]
val_pipeline = [
    dict(t, input_size=codec['input_size']) if t['type'] == 'TopdownAffine' else t
    for t in _base_.val_pipeline
]

# data loaders: tools/quickstart.py sets data_root (the sample) and the annotation files it
# writes; one worker decodes images on the second core
data_root = 'data/lspet_sample/'
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root, ann_file='annotations/lspet_sample_train.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(
        data_root=data_root, ann_file='annotations/lspet_sample_val.json',
        pipeline=val_pipeline))
test_dataloader = val_dataloader
