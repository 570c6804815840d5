# The public reimplementation's stacked hourglass (PoseNet(8, 256, 16)) for
# its MPII weights converted by
#   tools/model_converters/sgsc2mmpose.py IN OUT --arch shg
# See configs/mpii/README.md
_base_ = ['./td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py']

num_stacks = 8
model = dict(
    # Their input is the RGB image / 255, without mean subtraction.
    data_preprocessor=dict(
        mean=[0., 0., 0.], std=[255., 255., 255.], bgr_to_rgb=True),
    backbone=dict(
        num_stacks=num_stacks,
        stack_channels=256,
        # Newell's residual: pre-activation bottleneck with an identity skip
        # (1x1 conv when the channels change), a block before upsampling and an
        # 'add' merge.
        block_cfg=dict(_delete_=True, type='PreActBottleneck', gate='none'),
        merge='add',
        pre_upsample_block=True,
        # all their convs have a bias, also those followed by BN
        conv_bias=True),
    head=dict(num_stages=num_stacks),
    # They predict from the image alone: their README drops the flip averaging
    # for real-time use, and their published PCKh is without it. Turn it on for
    # (usually) higher accuracy.
    test_cfg=dict(flip_test=False))
