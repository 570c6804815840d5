# The public reimplementation's soft-gated network (SGSC_PoseNet(4, 144,
# 16)) for its MPII weights converted by
#   tools/model_converters/sgsc2mmpose.py IN OUT --arch sgsc
# See configs/mpii/README.md
_base_ = ['./td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py']

model = dict(
    # Their input is the RGB image / 255, without mean subtraction.
    data_preprocessor=dict(
        mean=[0., 0., 0.], std=[255., 255., 255.], bgr_to_rgb=True),
    backbone=dict(
        # all their convs have a bias, also those followed by BN
        conv_bias=True,
        merge='concat-3x3',  # concat -> 3x3 conv -> ReLU (no norm) ...
        merge_norm=False,
        post_merge_block=True),  # ... -> block (their `low3`)
    # They predict from the image alone: their README drops the flip averaging
    # for real-time use, and their published PCKh is without it. Turn it on for
    # (usually) higher accuracy.
    test_cfg=dict(flip_test=False))
