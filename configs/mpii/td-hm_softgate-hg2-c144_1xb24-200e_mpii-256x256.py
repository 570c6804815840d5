# Fast variant of the MPII default: 2 soft-gated stacks x 144 channels.
# See configs/mpii/README.md
_base_ = ['./td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py']

num_stacks = 2
model = dict(
    backbone=dict(num_stacks=num_stacks), head=dict(num_stages=num_stacks))
