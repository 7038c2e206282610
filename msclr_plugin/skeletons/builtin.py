"""Built-in skeleton conventions: facts only.

Joint names, edges, centres and flip permutations follow the public sources
listed in docs/skeletons.md (NTU RGB+D, SMPL/SMPL-X and Berkeley MHAD as used
by MS-CLR via MeTRAbs, MSR Action3D, the Bandai Namco BVH hierarchy, MediaPipe
BlazePose, and mmaction2's own 'nturgb+d', 'coco' and 'openpose' graphs).
Indices are 0-based. ``flip='auto'`` derives the permutation from the names.
"""

_KINECT_NAMES = [
    'SpineBase', 'SpineMid', 'Neck', 'Head', 'ShoulderLeft', 'ElbowLeft', 'WristLeft',
    'HandLeft', 'ShoulderRight', 'ElbowRight', 'WristRight', 'HandRight', 'HipLeft',
    'KneeLeft', 'AnkleLeft', 'FootLeft', 'HipRight', 'KneeRight', 'AnkleRight',
    'FootRight', 'SpineShoulder', 'HandTipLeft', 'ThumbLeft', 'HandTipRight',
    'ThumbRight'
]
_KINECT_FLIP = [
    0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 20, 23, 24,
    21, 22
]
_KINECT_ROLES = {
    'head': 'Head',
    'left_hip': 'HipLeft',
    'left_shoulder': 'ShoulderLeft',
    'neck': 'SpineShoulder',
    'pelvis': 'SpineBase',
    'right_hip': 'HipRight',
    'right_shoulder': 'ShoulderRight',
    'spine': 'SpineMid'
}

# Layouts without spine joints (COCO-style): anchors from the limbs' roots.
_LIMB_ROLES = dict(
    head='nose',
    left_hip='left_hip',
    left_shoulder='left_shoulder',
    neck=['left_shoulder', 'right_shoulder'],
    pelvis=['left_hip', 'right_hip'],
    right_hip='right_hip',
    right_shoulder='right_shoulder',
    spine=['left_hip', 'right_hip', 'left_shoulder', 'right_shoulder'])

# SMPL and SMPL-X (MeTRAbs names) share their body joints' names.
_SMPL_ROLES = dict(
    head='head',
    left_hip='lhip',
    left_shoulder='lsho',
    neck='neck',
    pelvis='pelv',
    right_hip='rhip',
    right_shoulder='rsho',
    spine='spi2')

# the joint order of records in the Kinect SDK v1 skeleton (e.g. NW-UCLA's
# files); the msr_action3d_20 layout holds the same joints in MSR's order
KINECT_V1_SDK_ORDER = (
    'HipCenter', 'Spine', 'ShoulderCenter', 'Head', 'ShoulderLeft', 'ElbowLeft',
    'WristLeft', 'HandLeft', 'ShoulderRight', 'ElbowRight', 'WristRight',
    'HandRight', 'HipLeft', 'KneeLeft', 'AnkleLeft', 'FootLeft', 'HipRight',
    'KneeRight', 'AnkleRight', 'FootRight')

BUILTIN_LAYOUTS = {
    'kinectv2_25':
    dict(
        joint_names=_KINECT_NAMES,
        edges=[[0, 1], [1, 20], [2, 20], [3, 2], [4, 20], [5, 4], [6, 5],
               [7, 6], [8, 20], [9, 8], [10, 9], [11, 10], [12, 0], [13, 12], [14, 13],
               [15, 14], [16, 0], [17, 16], [18, 17], [19, 18], [21, 22], [22, 7],
               [23, 24], [24, 11]],
        center=20,
        flip=_KINECT_FLIP,
        roles=_KINECT_ROLES,
        description=('NTU RGB+D / Kinect v2, native joint order; the '
                     'ST-GCN/AimCLR/MS-CLR graph (HandTip-Thumb-Hand chains).')),
    'nturgb+d':
    dict(
        joint_names=_KINECT_NAMES,
        edges=[[0, 1], [1, 20], [2, 20], [3, 2], [4, 20], [5, 4], [6, 5],
               [7, 6], [8, 20], [9, 8], [10, 9], [11, 10], [12, 0], [13, 12], [14, 13],
               [15, 14], [16, 0], [17, 16], [18, 17], [19, 18], [21, 7], [22, 7],
               [23, 11], [24, 11]],
        center=20,
        flip=_KINECT_FLIP,
        roles=_KINECT_ROLES,
        description=(
            "mmaction2's 'nturgb+d' graph: Kinect v2 joints, HandTip and Thumb "
            'both linked to Hand.')),
    'smpl_24':
    dict(
        joint_names=[
            'pelv', 'lhip', 'rhip', 'spi1', 'lkne', 'rkne', 'spi2', 'lank', 'rank',
            'spi3', 'ltoe', 'rtoe', 'neck', 'lcla', 'rcla', 'head', 'lsho', 'rsho',
            'lelb', 'relb', 'lwri', 'rwri', 'lhan', 'rhan'
        ],
        edges=[[0, 3], [3, 6], [6, 9], [12, 9], [15, 12], [1, 0], [4, 1], [7, 4],
               [10, 7], [2, 0], [5, 2], [8, 5], [11, 8], [13, 9], [16, 13], [18, 16],
               [20, 18], [22, 20], [14, 9], [17, 14], [19, 17], [21, 19], [23, 21]],
        center=9,
        flip=[
            0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21,
            20, 23, 22
        ],
        roles=_SMPL_ROLES,
        description=('SMPL 24 joints (MeTRAbs names); the MS-CLR graph. Flip swaps '
                     'lhan/rhan, which the MS-CLR code leaves unswapped.')),
    'smplx_42':
    dict(
        joint_names=[
            'pelv', 'lhip', 'rhip', 'bell', 'lkne', 'rkne', 'spin', 'lank', 'rank',
            'thor', 'ltoe', 'rtoe', 'neck', 'lcla', 'rcla', 'head', 'lsho', 'rsho',
            'lelb', 'relb', 'lwri', 'rwri', 'jaw', 'leyehf', 'reyehf', 'lmiddle1',
            'rmiddle1', 'nose', 'reye', 'leye', 'rear', 'lear', 'lto2', 'lto3', 'lhee',
            'rto2', 'rto3', 'rhee', 'lthu', 'lmiddle', 'rthu', 'rmiddle'
        ],
        edges=[[6, 9], [3, 6], [0, 3], [1, 0], [4, 1], [7, 4], [34, 7], [10, 7],
               [32, 10], [33, 10], [2, 0], [5, 2], [8, 5], [37, 8], [11, 8], [35, 11],
               [36, 11], [13, 9], [16, 13], [18, 16], [20, 18], [25, 20], [38, 20],
               [39, 20], [14, 9], [17, 14], [19, 17], [21, 19], [26, 21], [40, 21],
               [41, 21], [12, 9], [22, 12], [15, 22], [27, 15], [29, 27], [31, 29],
               [28, 27], [30, 28]],
        center=9,
        flip=[
            0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21,
            20, 22, 24, 23, 26, 25, 27, 29, 28, 31, 30, 35, 36, 37, 32, 33, 34, 40, 41,
            38, 39
        ],
        roles=dict(_SMPL_ROLES, spine='spin'),
        description=(
            'SMPL-X 42 joints as estimated by MeTRAbs (SMPL-X joints 0-24, 28, '
            '43, 55-66, 68, 71, 73); the MS-CLR graph, in which the eye joints '
            'leyehf/reyehf are isolated.')),
    'berkeley_mhad_43':
    dict(
        joint_names=[
            'head', 'lhead', 'rhead', 'rback', 'backl', 'backt', 'lback', 'lside',
            'bell', 'chest', 'rside', 'lsho1', 'lsho2', 'larm', 'lelb', 'lwri', 'lhan1',
            'lhan2', 'lhan3', 'rsho1', 'rsho2', 'rarm', 'relb', 'rwri', 'rhan1',
            'rhan2', 'rhan3', 'lhipb', 'lhipf', 'lhipl', 'lleg', 'lkne', 'lank', 'lhee',
            'lfoo', 'rhipb', 'rhipf', 'rhipl', 'rleg', 'rkne', 'rank', 'rhee', 'rfoo'
        ],
        edges=[[0, 1], [0, 2], [3, 4], [3, 35], [4, 5], [4, 6], [6, 27], [7,
                                                                          8], [7, 28],
               [8, 9], [8, 10], [10, 36], [11, 12], [11, 19], [12, 13], [13, 14],
               [14, 15], [15, 16], [15, 17], [15, 18], [19, 20], [20, 21], [21, 22],
               [22, 23], [23, 24], [23, 25], [23, 26], [27, 29], [27, 35], [28, 29],
               [28, 30], [30, 31], [31, 32], [32, 33], [33, 34], [35, 37], [36, 37],
               [36, 38], [38, 39], [39, 40], [40, 41], [41, 42]],
        center=8,
        flip=[
            0, 2, 1, 6, 4, 5, 3, 10, 8, 9, 7, 19, 20, 21, 22, 23, 24, 25, 26, 11, 12,
            13, 14, 15, 16, 17, 18, 35, 36, 37, 38, 39, 40, 41, 42, 27, 28, 29, 30, 31,
            32, 33, 34
        ],
        roles={
            'head': ['head', 'lhead', 'rhead'],
            'left_hip': ['lhipb', 'lhipf'],
            'left_shoulder': ['lsho1', 'lsho2'],
            'neck': ['backt', 'chest'],
            'pelvis': ['lhipb', 'lhipf', 'rhipb', 'rhipf'],
            'right_hip': ['rhipb', 'rhipf'],
            'right_shoulder': ['rsho1', 'rsho2'],
            'spine': ['backl', 'bell']
        },
        description=(
            'Berkeley MHAD 43 mocap markers (MeTRAbs names); the MS-CLR graph, '
            'which has 3 components (head; shoulders and arms; torso and legs).')),
    'msr_action3d_20':
    dict(
        joint_names=[
            'ShoulderLeft', 'ShoulderRight', 'ShoulderCenter', 'Spine', 'HipLeft',
            'HipRight', 'HipCenter', 'ElbowLeft', 'ElbowRight', 'WristLeft',
            'WristRight', 'HandLeft', 'HandRight', 'KneeLeft', 'KneeRight', 'AnkleLeft',
            'AnkleRight', 'FootLeft', 'FootRight', 'Head'
        ],
        edges=[[6, 3], [3, 2], [2, 19], [2, 0], [2, 1], [0, 7], [1, 8], [7, 9], [8, 10],
               [9, 11], [10, 12], [6, 4], [6, 5], [4, 13], [5, 14], [13, 15], [14, 16],
               [15, 17], [16, 18]],
        center=3,
        flip='auto',
        roles={
            'head': 'Head',
            'left_hip': 'HipLeft',
            'left_shoulder': 'ShoulderLeft',
            'neck': 'ShoulderCenter',
            'pelvis': 'HipCenter',
            'right_hip': 'HipRight',
            'right_shoulder': 'ShoulderRight',
            'spine': 'Spine'
        },
        description=("MSR Action3D (Kinect v1, 20 joints) in the dataset's file order; "
                     'bones from its body_model.mat.')),
    'bandai_bvh_22':
    dict(
        joint_names=[
            'joint_Root', 'Hips', 'Spine', 'Chest', 'Neck', 'Head', 'Shoulder_L',
            'UpperArm_L', 'LowerArm_L', 'Hand_L', 'Shoulder_R', 'UpperArm_R',
            'LowerArm_R', 'Hand_R', 'UpperLeg_L', 'LowerLeg_L', 'Foot_L', 'Toes_L',
            'UpperLeg_R', 'LowerLeg_R', 'Foot_R', 'Toes_R'
        ],
        edges=[[1, 0], [2, 1], [3, 2], [4, 3], [5, 4], [6, 3], [7, 6], [8, 7], [9, 8],
               [10, 3], [11, 10], [12, 11], [13, 12], [14, 1], [15, 14], [16, 15],
               [17, 16], [18, 1], [19, 18], [20, 19], [21, 20]],
        center=3,
        flip='auto',
        roles={
            'head': 'Head',
            'left_hip': 'UpperLeg_L',
            'left_shoulder': 'UpperArm_L',
            'neck': 'Neck',
            'pelvis': 'Hips',
            'right_hip': 'UpperLeg_R',
            'right_shoulder': 'UpperArm_R',
            'spine': 'Spine'
        },
        description=('Bandai Namco Research Motion Dataset BVH skeleton; edges are the '
                     'BVH parent links.')),
    'blazepose_33':
    dict(
        joint_names=[
            'nose', 'left_eye_inner', 'left_eye', 'left_eye_outer', 'right_eye_inner',
            'right_eye', 'right_eye_outer', 'left_ear', 'right_ear', 'mouth_left',
            'mouth_right', 'left_shoulder', 'right_shoulder', 'left_elbow',
            'right_elbow', 'left_wrist', 'right_wrist', 'left_pinky', 'right_pinky',
            'left_index', 'right_index', 'left_thumb', 'right_thumb', 'left_hip',
            'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
            'left_heel', 'right_heel', 'left_foot_index', 'right_foot_index'
        ],
        edges=[[0, 1], [0, 4], [1, 2], [2, 3], [3, 7], [4, 5], [5, 6], [6, 8], [9, 10],
               [11, 12], [11, 13], [11, 23], [12, 14], [12, 24], [13, 15], [14, 16],
               [15, 17], [15, 19], [15, 21], [16, 18], [16, 20], [16, 22], [17, 19],
               [18, 20], [23, 24], [23, 25], [24, 26], [25, 27], [26, 28], [27, 29],
               [27, 31], [28, 30], [28, 32], [29, 31], [30, 32]],
        center=11,
        flip='auto',
        roles=_LIMB_ROLES,
        description=(
            'MediaPipe BlazePose 33 landmarks (mediapipe 0.10.21 '
            'POSE_CONNECTIONS). The face is not linked to the body in that '
            'graph (3 components); the centre is left_shoulder, the body having '
            'no mid joint.')),
    'coco':
    dict(
        joint_names=[
            'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
            'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
            'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
            'right_ankle'
        ],
        edges=[[15, 13], [13, 11], [16, 14], [14, 12], [11, 5], [12, 6], [9, 7], [7, 5],
               [10, 8], [8, 6], [5, 0], [6, 0], [1, 0], [3, 1], [2, 0], [4, 2]],
        center=0,
        flip='auto',
        roles=_LIMB_ROLES,
        description=(
            "COCO 17 keypoints with mmaction2's 'coco' graph (a tree rooted at "
            'the nose).')),
    'openpose':
    dict(
        joint_names=[
            'nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist',
            'left_shoulder', 'left_elbow', 'left_wrist', 'right_hip', 'right_knee',
            'right_ankle', 'left_hip', 'left_knee', 'left_ankle', 'right_eye',
            'left_eye', 'right_ear', 'left_ear'
        ],
        edges=[[4, 3], [3, 2], [7, 6], [6, 5], [13, 12], [12, 11], [10, 9], [9, 8],
               [11, 5], [8, 2], [5, 1], [2, 1], [0, 1], [15, 0], [14, 0], [17, 15],
               [16, 14]],
        center=1,
        flip='auto',
        roles=dict(_LIMB_ROLES, neck='neck'),
        description="OpenPose COCO-18 keypoints with mmaction2's 'openpose' graph."),
}
