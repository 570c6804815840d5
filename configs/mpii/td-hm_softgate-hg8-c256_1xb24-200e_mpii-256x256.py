# Large variant of the MPII default: 8 soft-gated stacks x 256 channels.
# See configs/mpii/README.md
_base_ = ['./td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py']

num_stacks = 8
model = dict(
    backbone=dict(num_stacks=num_stacks, stack_channels=256),
    head=dict(num_stages=num_stacks))
