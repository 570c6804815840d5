# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
# MMPose dataset_info of the Leeds Sports Pose datasets (LSP and LSP-extended),
# 14 joints in LSP order. Joint weights follow MMPose's MPII metainfo; sigmas
# are COCO's for the limbs and CrowdPose's for neck and head-top (MMPose's
# crowdpose.py).
dataset_info = dict(
    dataset_name='lsp',
    paper_info=dict(
        author='Sam Johnson and Mark Everingham',
        title='Clustered Pose and Nonlinear Appearance Models for Human '
        'Pose Estimation',
        container='British Machine Vision Conference (BMVC)',
        year='2010',
        homepage='https://sam.johnson.io/research/lsp.html',
    ),
    keypoint_info={
        0:
        dict(
            name='right_ankle',
            id=0,
            color=[255, 128, 0],
            type='lower',
            swap='left_ankle'),
        1:
        dict(
            name='right_knee',
            id=1,
            color=[255, 128, 0],
            type='lower',
            swap='left_knee'),
        2:
        dict(
            name='right_hip',
            id=2,
            color=[255, 128, 0],
            type='lower',
            swap='left_hip'),
        3:
        dict(
            name='left_hip',
            id=3,
            color=[0, 255, 0],
            type='lower',
            swap='right_hip'),
        4:
        dict(
            name='left_knee',
            id=4,
            color=[0, 255, 0],
            type='lower',
            swap='right_knee'),
        5:
        dict(
            name='left_ankle',
            id=5,
            color=[0, 255, 0],
            type='lower',
            swap='right_ankle'),
        6:
        dict(
            name='right_wrist',
            id=6,
            color=[255, 128, 0],
            type='upper',
            swap='left_wrist'),
        7:
        dict(
            name='right_elbow',
            id=7,
            color=[255, 128, 0],
            type='upper',
            swap='left_elbow'),
        8:
        dict(
            name='right_shoulder',
            id=8,
            color=[255, 128, 0],
            type='upper',
            swap='left_shoulder'),
        9:
        dict(
            name='left_shoulder',
            id=9,
            color=[0, 255, 0],
            type='upper',
            swap='right_shoulder'),
        10:
        dict(
            name='left_elbow',
            id=10,
            color=[0, 255, 0],
            type='upper',
            swap='right_elbow'),
        11:
        dict(
            name='left_wrist',
            id=11,
            color=[0, 255, 0],
            type='upper',
            swap='right_wrist'),
        12:
        dict(name='neck', id=12, color=[51, 153, 255], type='upper', swap=''),
        13:
        dict(
            name='head_top',
            id=13,
            color=[51, 153, 255],
            type='upper',
            swap=''),
    },
    skeleton_info={
        0:
        dict(link=('right_ankle', 'right_knee'), id=0, color=[255, 128, 0]),
        1:
        dict(link=('right_knee', 'right_hip'), id=1, color=[255, 128, 0]),
        2:
        dict(link=('right_hip', 'left_hip'), id=2, color=[51, 153, 255]),
        3:
        dict(link=('left_hip', 'left_knee'), id=3, color=[0, 255, 0]),
        4:
        dict(link=('left_knee', 'left_ankle'), id=4, color=[0, 255, 0]),
        5:
        dict(link=('right_hip', 'right_shoulder'), id=5, color=[255, 128, 0]),
        6:
        dict(link=('left_hip', 'left_shoulder'), id=6, color=[0, 255, 0]),
        7:
        dict(link=('right_shoulder', 'neck'), id=7, color=[51, 153, 255]),
        8:
        dict(link=('left_shoulder', 'neck'), id=8, color=[51, 153, 255]),
        9:
        dict(link=('neck', 'head_top'), id=9, color=[51, 153, 255]),
        10:
        dict(
            link=('right_shoulder', 'right_elbow'), id=10, color=[255, 128,
                                                                  0]),
        11:
        dict(link=('right_elbow', 'right_wrist'), id=11, color=[255, 128, 0]),
        12:
        dict(link=('left_shoulder', 'left_elbow'), id=12, color=[0, 255, 0]),
        13:
        dict(link=('left_elbow', 'left_wrist'), id=13, color=[0, 255, 0]),
    },
    joint_weights=[
        1.5, 1.2, 1., 1., 1.2, 1.5, 1.5, 1.2, 1., 1., 1.2, 1.5, 1., 1.
    ],
    sigmas=[
        0.089, 0.087, 0.107, 0.107, 0.087, 0.089, 0.062, 0.072, 0.079, 0.079,
        0.072, 0.062, 0.079, 0.079
    ])
