# MPII -> LSP finetune of the MPII default: joint-specific weights mapped from
# the matching MPII joints (JointMapCheckpointHook), 60 epochs at 1e-4.
# Rationale: configs/lsp/README.md
_base_ = ['./td-hm_softgate-hg4-c144_1xb24-200e_lsp-256x256.py']

# the MPII default's last checkpoint; override with --cfg-options load_from=...
load_from = ('work_dirs/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256/'
             'epoch_200.pth')

# MPII joint of each LSP joint: ankles, knees, hips (0-5), wrists, elbows,
# shoulders (10-15), upper neck (8) -> neck, head top (9) -> head top. MPII's
# pelvis (6) and thorax (7) are dropped.
mpii_to_lsp = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9]
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='JointMapCheckpointHook', joint_map=mpii_to_lsp),
]

# runtime: 60 epochs, validate and checkpoint every 5
train_cfg = dict(max_epochs=60, val_interval=5)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=60,
        milestones=[40, 55],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=5))
