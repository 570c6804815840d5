# The MPII default (4 x 144) trained from scratch on LSP + LSP-extended with
# the same recipe, tested on the 1000 LSP test images with PCK@0.2.
# Data: tools/dataset_converters/lsp2coco.py. See configs/lsp/README.md
_base_ = ['../mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py']

num_keypoints = 14

# hooks: LspPCKAccuracy's keys are unprefixed ('Head', ..., 'Ankle', 'Mean')
default_hooks = dict(checkpoint=dict(save_best='Mean', rule='greater'))

# model settings
model = dict(
    backbone=dict(num_keypoints=num_keypoints),
    head=dict(in_channels=num_keypoints, out_channels=num_keypoints))

# base dataset settings: annotation file_name entries are relative to
# data_root, e.g. 'lsp_dataset/images/im0001.jpg' and
# 'lspet_dataset/images/im00001.jpg'
dataset_type = 'LspDataset'
data_mode = 'topdown'
data_root = 'data/lsp/'

# the MPII default's evaluation pipeline (the training pipeline is inherited
# unchanged)
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=(256, 256)),
    dict(type='PackPoseInputs')
]

# data loaders
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        # LSP train (1000) followed by LSP-extended (10000)
        ann_file='annotations/lsp+lspet_train.json',
        data_prefix=dict(img='')))
val_dataloader = dict(
    dataset=dict(
        # replace the MPII dataset: LspDataset takes no head-box file
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/lsp_test.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

# evaluators: PCK@0.2 normalised by each person's torso, over the labelled
# joints ('all': every joint, as the standard LSP evaluation script)
val_evaluator = dict(type='LspPCKAccuracy', thr=0.2, mode='labelled')
test_evaluator = val_evaluator
