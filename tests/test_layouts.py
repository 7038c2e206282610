import json

import numpy as np
import pytest

from msclr_plugin.skeletons import (JointRegressor, SkeletonLayout, shared_joints,
                                    flip_from_names, get_layout,
                                    layout_from_mmpose_meta, list_layouts)

from .conftest import SHARED

MSCLR = ('kinectv2_25', 'smpl_24', 'smplx_42', 'berkeley_mhad_43')


@pytest.fixture(scope='module')
def reference():
    path = SHARED / 'reference' / 'skeleton_layouts.json'
    if not path.is_file():
        pytest.skip(f'{path} is absent')
    return json.loads(path.read_text())


@pytest.mark.parametrize('name', MSCLR)
def test_msclr_layouts_match_reference_facts(reference, name):
    layout, ref = get_layout(name), reference[name]
    assert list(layout.joint_names) == ref['names']
    assert {frozenset(e) for e in layout.edges} == \
        {frozenset(e) for e in ref['edges']}
    assert layout.center == ref['center']
    assert layout.flip.tolist() == ref['flip']


def test_other_builtins_match_reference(reference):
    msr = get_layout('msr_action3d_20')
    assert list(msr.joint_names) == reference['msr_action3d_20']['names']
    assert {frozenset(e) for e in msr.edges} == \
        {frozenset(e) for e in reference['msr_action3d_20']['edges']}
    mp = reference['mediapipe']
    blaze = get_layout('blazepose_33')
    assert list(blaze.joint_names) == mp['blazepose33_names']
    assert {frozenset(e) for e in blaze.edges} == \
        {frozenset(e) for e in mp['blazepose33_edges']}
    assert list(get_layout('bandai_bvh_22').joint_names) == \
        reference['bandai_bvh_22']['names']
    coco = reference['mmpose_dataset_meta']['layouts']['coco']
    assert list(get_layout('coco').joint_names) == coco['keypoint_names']
    # coco's flip from names agrees with mmpose's swap pairs
    names = coco['keypoint_names']
    swap = coco['swap']
    expected = [names.index(swap.get(n, n) or n) for n in names]
    assert get_layout('coco').flip.tolist() == expected


@pytest.mark.parametrize('name', list_layouts())
def test_every_builtin_is_valid(name):
    layout = get_layout(name)
    perm = layout.flip
    assert np.array_equal(perm[perm], np.arange(layout.num_joints))
    assert layout.flip_preserves_edges()
    # parents form a forest: following parents always reaches a root
    for joint in range(layout.num_joints):
        seen = set()
        while layout.parents[joint] != joint:
            assert joint not in seen
            seen.add(joint)
            joint = layout.parents[joint]
    for role in ('pelvis', 'spine', 'left_shoulder', 'right_shoulder'):
        assert layout.role(role)


def test_components_reported():
    assert len(get_layout('kinectv2_25').components) == 1
    mhad = get_layout('berkeley_mhad_43')
    assert len(mhad.components) == 3
    smplx = get_layout('smplx_42')
    isolated = [c for c in smplx.components if len(c) == 1]
    assert sorted(smplx.joint_names[c[0]] for c in isolated) == \
        ['leyehf', 'reyehf']
    # an isolated joint is its own root: a zero bone
    for (comp, ) in isolated:
        assert smplx.parents[comp] == comp


def test_kinect_bones_match_aimclr():
    # AimCLR's 1-based bone pairs for NTU (the centre pairs with itself)
    aimclr = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6),
              (8, 7), (9, 21), (10, 9), (11, 10), (12, 11), (13, 1), (14, 13),
              (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
              (21, 21), (22, 23), (23, 8), (24, 25), (25, 12)]
    assert get_layout('kinectv2_25').bone_pairs == tuple(
        (a - 1, b - 1) for a, b in aimclr)


def test_validation_errors():
    with pytest.raises(IndexError, match='out of range'):
        SkeletonLayout('bad', ['a', 'b'], [(0, 2)], 0)
    with pytest.raises(ValueError, match='involution'):
        SkeletonLayout('bad', ['a', 'b', 'c'], [(0, 1), (1, 2)], 0,
                       flip=[1, 2, 0])
    with pytest.raises(ValueError, match='duplicate joint'):
        SkeletonLayout('bad', ['a', 'a'], [(0, 1)], 0)
    with pytest.raises(KeyError, match='no joint'):
        SkeletonLayout('bad', ['a', 'b'], [('a', 'x')], 0)
    with pytest.raises(KeyError, match='unknown skeleton layout'):
        get_layout('no_such_layout')


def test_user_layout_from_config_dict():
    spec = dict(
        name='tiny_user',
        joint_names=['pelvis', 'neck', 'head', 'hand_L', 'hand_R'],
        edges=[('neck', 'pelvis'), ('head', 'neck'), ('hand_L', 'neck'),
               ('hand_R', 'neck')],
        center='neck',
        roles=dict(pelvis='pelvis', spine='neck', left_shoulder='hand_L',
                   right_shoulder='hand_R'))
    layout = get_layout(spec)
    assert layout.flip.tolist() == [0, 1, 2, 4, 3]
    assert get_layout('tiny_user') is layout
    with pytest.raises(ValueError,
                       match=r"already in use \(they differ in \['center'\]"):
        get_layout(dict(spec, center='pelvis'))


def test_flip_from_names_styles():
    assert flip_from_names(['ShoulderLeft', 'ShoulderRight', 'Head']) == \
        [1, 0, 2]
    assert flip_from_names(['L_Hip', 'R_Hip', 'Toes_L', 'Toes_R']) == \
        [1, 0, 3, 2]
    with pytest.raises(ValueError, match='no mirrored joint'):
        flip_from_names(['left_eye'])


def test_mmpose_meta_file(tmp_path):
    meta = tmp_path / 'toy.py'
    meta.write_text(
        "dataset_info = dict(dataset_name='toy', keypoint_info={"
        "0: dict(name='nose', id=0, swap=''),"
        "1: dict(name='left_eye', id=1, swap='right_eye'),"
        "2: dict(name='right_eye', id=2, swap='left_eye'),"
        "3: dict(name='neck', id=3, swap='')},"
        "skeleton_info={0: dict(link=('nose', 'left_eye'), id=0),"
        "1: dict(link=('nose', 'right_eye'), id=1),"
        "2: dict(link=('nose', 'neck'), id=2)})\n")
    with pytest.raises(ValueError, match='no role'):
        layout_from_mmpose_meta(str(meta))  # no shoulders
    layout = layout_from_mmpose_meta(str(meta), required_roles=())
    assert layout.name == 'mmpose_toy'
    assert layout.flip.tolist() == [0, 2, 1, 3]
    assert layout.center == 0  # graph centre


@pytest.mark.parametrize('dataset', ['coco_wholebody', 'halpe26', 'h36m'])
def test_mmpose_meta_installed(dataset):
    pytest.importorskip('mmpose', reason='mmpose extra not installed')
    layout = get_layout(dict(mmpose_meta=dataset))
    assert layout.name == f'mmpose_{dataset}'
    assert layout.flip_preserves_edges()
    assert layout.num_joints == {'coco_wholebody': 133, 'halpe26': 26,
                                 'h36m': 17}[dataset]


def test_regressor_chain_and_translation():
    reg = JointRegressor.between('bandai_bvh_22', 'kinectv2_25')
    assert reg.weights.shape == (25, 22)
    np.testing.assert_allclose(reg.weights.sum(axis=1), 1.0, atol=1e-9)
    x = np.random.default_rng(0).normal(size=(5, 22, 3))
    shift = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(reg(x + shift), reg(x) + shift, atol=1e-9)
    # a named joint maps through: bandai Hand_L -> smpl lwri -> WristLeft
    src = get_layout('bandai_bvh_22').index('Hand_L')
    tgt = get_layout('kinectv2_25').index('WristLeft')
    assert reg.weights[tgt, src] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='expected 22 joints'):
        reg(np.zeros((3, 21, 3)))


# Kinect for Windows SDK v1 joint order (NUI_SKELETON_POSITION_INDEX), the
# names as MSR Action3D's layout spells them
KINECT_V1_NAMES = [
    'HipCenter', 'Spine', 'ShoulderCenter', 'Head', 'ShoulderLeft',
    'ElbowLeft', 'WristLeft', 'HandLeft', 'ShoulderRight', 'ElbowRight',
    'WristRight', 'HandRight', 'HipLeft', 'KneeLeft', 'AnkleLeft', 'FootLeft',
    'HipRight', 'KneeRight', 'AnkleRight', 'FootRight'
]


def _kinect_v1_spec(name='test_kinect_v1'):
    msr = get_layout('msr_action3d_20')
    edges = [[msr.joint_names[a], msr.joint_names[b]] for a, b in msr.edges]
    return dict(name=name, joint_names=KINECT_V1_NAMES, edges=edges,
                center='Spine')


def test_layout_files(tmp_path):
    import yaml
    spec = _kinect_v1_spec('file_json')
    (tmp_path / 'a.json').write_text(json.dumps(spec))
    layout = get_layout(str(tmp_path / 'a.json'))
    assert layout.name == 'file_json' and get_layout('file_json') is layout
    # YAML, name from the file name
    spec.pop('name')
    (tmp_path / 'file_yaml.yaml').write_text(yaml.safe_dump(spec))
    assert get_layout(str(tmp_path / 'file_yaml.yaml')).name == 'file_yaml'
    # a Python file holding `layout = dict(...)`, as in a config
    (tmp_path / 'lay.py').write_text(f'layout = dict(name="file_py", **{spec!r})\n')
    assert get_layout(str(tmp_path / 'lay.py')).joint_names == \
        tuple(KINECT_V1_NAMES)
    # errors name the file
    with pytest.raises(FileNotFoundError, match='none.yaml'):
        get_layout(str(tmp_path / 'none.yaml'))
    (tmp_path / 'bad.yaml').write_text('joint_names: [a, b\n')
    with pytest.raises(ValueError, match='bad.yaml: cannot read'):
        get_layout(str(tmp_path / 'bad.yaml'))
    (tmp_path / 'typo.json').write_text(json.dumps(dict(spec, joints=[])))
    with pytest.raises(ValueError, match=r"typo.json: .*unknown fields \['joints'\]"):
        get_layout(str(tmp_path / 'typo.json'))
    (tmp_path / 'lacks.json').write_text(json.dumps(dict(joint_names=['a'])))
    with pytest.raises(ValueError, match=r"lacks.json: .*lacks \['center', 'edges'\]"):
        get_layout(str(tmp_path / 'lacks.json'))


def test_roles_checked_and_found_from_names():
    # Kinect v1 names: every role found, none given
    layout = get_layout(_kinect_v1_spec())
    assert {r: [layout.joint_names[j] for j in js]
            for r, js in layout.roles.items()} == dict(
                pelvis=['HipCenter'], spine=['Spine'], neck=['ShoulderCenter'],
                head=['Head'], left_shoulder=['ShoulderLeft'],
                right_shoulder=['ShoulderRight'], left_hip=['HipLeft'],
                right_hip=['HipRight'])
    # limb names only: neck and pelvis are the means of shoulders and hips
    limbs = SkeletonLayout('limbs', ['lsho', 'rsho', 'l_hip', 'R_Hip'],
                           [(0, 1), (0, 2), (1, 3)], 0, flip=[1, 0, 3, 2])
    assert limbs.roles['neck'] == (0, 1) and limbs.roles['pelvis'] == (2, 3)
    # given roles win; the round trip keeps them
    again = SkeletonLayout(**dict(layout.to_dict(), name='v1_again',
                                  roles=dict(neck='Head')))
    assert again.roles['neck'] == (again.index('Head'), )
    with pytest.raises(ValueError, match=r"unknown role 'chest'; known roles"):
        SkeletonLayout('bad', ['neck', 'a'], [(0, 1)], 0,
                       roles=dict(chest='a'))
    # the default pipeline's roles are required, with a message saying how
    with pytest.raises(ValueError, match=r"no role \['left_shoulder', "
                       r"'right_shoulder'\].*MSPreNormalize.*required_roles"):
        SkeletonLayout('bad', ['neck', 'hand_L', 'hand_R'], [(0, 1), (0, 2)],
                       0)
    free = SkeletonLayout('free', ['a', 'b'], [(0, 1)], 0, required_roles=())
    assert free.roles == {}
    assert get_layout(free.to_dict()).required_roles == ()


def test_flip_that_breaks_bones_warns_naming_them():
    with pytest.warns(UserWarning, match='not bones: hand_L-elbow_L -> '
                      'hand_R-elbow_R, hand_R-neck -> hand_L-neck;'):
        SkeletonLayout('crooked', ['neck', 'elbow_L', 'elbow_R', 'hand_L',
                                   'hand_R'],
                       [(1, 0), (2, 0), (3, 1), (4, 0)], 0,
                       roles=dict(left_shoulder='elbow_L',
                                  right_shoulder='elbow_R'))


def test_regressor_by_joint_names():
    """A user layout with Kinect v1 names in the SDK order reaches the
    built-ins through msr_action3d_20 without any spec."""
    user = get_layout(_kinect_v1_spec('user_kinect_v1'))
    msr = get_layout('msr_action3d_20')
    reg = JointRegressor.between('user_kinect_v1', 'coco')
    x = np.random.default_rng(0).normal(size=(4, 20, 3))
    to_msr = [user.index(n) for n in msr.joint_names]
    np.testing.assert_allclose(
        reg(x), JointRegressor.between('msr_action3d_20', 'coco')(x[:, to_msr]))
    back = JointRegressor.between('msr_action3d_20', 'user_kinect_v1')
    np.testing.assert_array_equal(back(x[:, to_msr]), x)
    # other names through aliases
    spec = _kinect_v1_spec('aliased_v1')
    rename = {n: f'j{i}' for i, n in enumerate(KINECT_V1_NAMES)}
    spec['joint_names'] = [rename[n] for n in KINECT_V1_NAMES]
    spec['edges'] = [[rename[a], rename[b]] for a, b in spec['edges']]
    spec['roles'] = dict(neck='j2', left_shoulder='j4', right_shoulder='j8')
    spec['center'] = 'j1'
    spec['flip'] = user.flip.tolist()
    spec['aliases'] = {v: k for k, v in rename.items()}
    np.testing.assert_allclose(JointRegressor.between(spec, 'coco')(x), reg(x))
    with pytest.raises(KeyError, match='no built-in regressor chain from tiny_user'):
        JointRegressor.between('tiny_user', 'coco')


def test_kinect_v2_derived_conventions(shared_data):
    """Kinect v2 -> SMPL-24 / SMPL-X-42 / MHAD-43 on the real NTU sample:
    translation-equivariant, corresponding joints copied, the body upright."""
    from msclr_plugin.data_prep.ntu import load_clip
    kp = load_clip(str(shared_data / 'ntu_sample' /
                       'S001C001P001R001A001.skeleton'))[0]
    kinect = get_layout('kinectv2_25')
    for target, same in (('smpl_24', dict(lsho='ShoulderLeft', rkne='KneeRight',
                                          lwri='WristLeft')),
                         ('smplx_42', dict(lsho='ShoulderLeft', lthu='ThumbLeft',
                                           rmiddle='HandTipRight')),
                         ('berkeley_mhad_43', dict(lsho2='ShoulderLeft',
                                                   relb='ElbowRight',
                                                   lfoo='FootLeft'))):
        reg = JointRegressor.between('kinectv2_25', target)
        assert [l.name for l in (reg.source, reg.target)] == ['kinectv2_25',
                                                             target]
        np.testing.assert_allclose(reg.weights.sum(axis=1), 1.0, atol=1e-9)
        out, layout = reg(kp), get_layout(target)
        for tgt, src in same.items():
            np.testing.assert_array_equal(out[:, layout.index(tgt)],
                                          kp[:, kinect.index(src)])
        head = layout.role_position(out, 'head')[:, 1]
        pelvis = layout.role_position(out, 'pelvis')[:, 1]
        assert (head - pelvis > 0.4).all()
        # the left side stays left
        left = layout.role_position(out, 'left_shoulder')[:, 0]
        assert (left < layout.role_position(out, 'right_shoulder')[:, 0]).all()
    # Kinect -> SMPL inverts SMPL -> Kinect on the joints both copy, and on
    # Neck and Head
    round_trip = JointRegressor.between('smpl_24', 'kinectv2_25') @ \
        JointRegressor.between('kinectv2_25', 'smpl_24')
    kept = [kinect.index(n) for n in ('Neck', 'Head', 'ShoulderLeft',
                                      'HandRight', 'FootLeft', 'SpineBase')]
    np.testing.assert_allclose(round_trip(kp)[:, kept], kp[:, kept], atol=1e-5)


def test_shared_joints_by_name():
    from msclr_plugin.skeletons.layout import joint_key
    assert {joint_key(n) for n in ('ShoulderLeft', 'left_shoulder', 'Shoulder_L',
                                   'L_Shoulder')} == {'left:shoulder'}
    assert joint_key('Head') == joint_key('head') == 'head'
    assert joint_key('HandTipRight') == 'right:handtip'
    kinect, coco = get_layout('kinectv2_25'), get_layout('coco')
    rows = shared_joints(['kinectv2_25', 'coco'])
    pairs = {kinect.joint_names[a]: coco.joint_names[b] for a, b in zip(*rows)}
    # the 12 limb joints; COCO's face points and Kinect's spine have no partner
    assert len(pairs) == 12 and pairs['ShoulderLeft'] == 'left_shoulder'
    assert pairs['AnkleRight'] == 'right_ankle' and 'Head' not in pairs
    # several layouts: the joints all of them have, row j the same joint
    three = shared_joints(['coco', 'msr_action3d_20', 'kinectv2_25'])
    names = [[get_layout(n).joint_names[i] for i in idx]
             for n, idx in zip(('coco', 'msr_action3d_20', 'kinectv2_25'), three)]
    assert names[0][0] == 'left_shoulder' and names[1] == names[2]
    assert len(names[1]) == 12
    # aliases count as names; none shared gives empty lists
    user = SkeletonLayout('user_2', ['a', 'b'], [(0, 1)], center=0, flip=None,
                          aliases=dict(a='left_shoulder'), required_roles=(), verbose=False)
    assert shared_joints([user, 'coco']) == [[0], [5]]
    assert shared_joints(['smpl_24', 'coco']) == [[], []]
