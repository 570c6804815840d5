# Baseline: Newell's stacked hourglass (8 x 256) from the plugin's modules:
# pre-activation bottlenecks, plain skips, a block before upsampling, 'add'
# merges; the MPII default's recipe. See configs/mpii/README.md
_base_ = ['./td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py']

num_stacks = 8
model = dict(
    backbone=dict(
        num_stacks=num_stacks,
        stack_channels=256,
        block_cfg=dict(_delete_=True, type='PreActBottleneck', gate='none'),
        merge='add',
        pre_upsample_block=True),
    head=dict(num_stages=num_stacks))
