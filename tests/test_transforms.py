"""Skeleton transforms: normalisation, resampling, AimCLR augmentations."""
import time

import numpy as np
import pytest
import torch
from mmaction.registry import TRANSFORMS
from mmengine.registry import DefaultScope

from msclr_plugin.skeletons import get_layout


@pytest.fixture(autouse=True)
def mmaction_scope():
    # other tests may leave another default scope behind; build in mmaction's
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


KINECT = 'kinectv2_25'
NORMAL = [dict(type='MSTemporalCrop'), dict(type='MSShear')]
EXTREME = NORMAL + [
    dict(type='MSSpatialFlip'),
    dict(type='MSRotate'),
    dict(type='MSGaussianNoise'),
    dict(type='MSGaussianBlur'),
    dict(type='MSAxisMask')
]


def build(type, **kwargs):
    return TRANSFORMS.build(dict(type=type, **kwargs))


def clip(num_joints=25, frames=50, persons=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(persons, frames, num_joints, 3)).astype(np.float32)


def run(transform, kp, skeleton=KINECT):
    return transform(dict(keypoint=kp, skeleton=skeleton))['keypoint']


def test_flip_uses_layout_permutation_without_mirroring():
    layout = get_layout(KINECT)
    kp = clip()
    out = run(build('MSSpatialFlip', p=1.0), kp)
    left, right = layout.index('HandLeft'), layout.index('HandRight')
    np.testing.assert_array_equal(out[:, :, right], kp[:, :, left])
    np.testing.assert_array_equal(out[:, :, left], kp[:, :, right])
    spine = layout.index('SpineMid')
    np.testing.assert_array_equal(out[:, :, spine], kp[:, :, spine])
    np.testing.assert_array_equal(out, kp[:, :, layout.flip])
    assert run(build('MSSpatialFlip', p=0.0), kp) is kp
    # another layout gets its own permutation
    msr = clip(num_joints=20)
    out = run(build('MSSpatialFlip', p=1.0), msr, 'msr_action3d_20')
    np.testing.assert_array_equal(out, msr[:, :, get_layout('msr_action3d_20').flip])


def _bone_lengths(kp, layout):
    pairs = np.array(layout.bone_pairs)
    return np.linalg.norm(kp[:, :, pairs[:, 0]] - kp[:, :, pairs[:, 1]], axis=-1)


def test_rotate_preserves_bone_lengths():
    layout = get_layout(KINECT)
    kp = clip()
    rotate = build('MSRotate', seed=0)
    for _ in range(5):
        out = run(rotate, kp)
        assert not np.allclose(out, kp)
        np.testing.assert_allclose(
            _bone_lengths(out, layout), _bone_lengths(kp, layout), atol=1e-5)
    still = run(build('MSRotate', main_angle=0, other_angle=0), kp)
    np.testing.assert_allclose(still, kp, atol=1e-6)
    # the angle stays within main_angle: a point on every axis moves < 31 deg
    out = run(rotate, np.eye(3, dtype=np.float32)[None, None])
    cos = np.clip(np.diag(out[0, 0]), -1, 1)
    assert (np.degrees(np.arccos(cos)) < 31.5).all()


def test_shear_is_unit_diagonal_linear_map():
    kp = clip()
    out = run(build('MSShear', seed=1), kp)
    assert out.shape == kp.shape and out.dtype == np.float32
    flat_in, flat_out = kp.reshape(-1, 3), out.reshape(-1, 3)
    mat_t = np.linalg.lstsq(flat_in, flat_out, rcond=None)[0]
    np.testing.assert_allclose(np.diag(mat_t), 1, atol=1e-4)
    off = mat_t[~np.eye(3, dtype=bool)]
    assert (np.abs(off) <= 0.5 + 1e-4).all() and np.abs(off).sum() > 0
    np.testing.assert_allclose(run(build('MSShear', amplitude=0.0), kp), kp, atol=1e-6)


def test_temporal_crop_shifts_inside_symmetric_padding():
    frames = 50
    kp = np.broadcast_to(
        np.arange(frames, dtype=np.float32)[None, :, None, None],
        (2, frames, 25, 3)).copy()
    crop = build('MSTemporalCrop', seed=0)
    starts = set()
    for _ in range(200):
        out = run(crop, kp)
        assert out.shape == kp.shape
        frame_ids = out[0, :, 0, 0].astype(int)
        padded = np.concatenate(
            [np.arange(8)[::-1],
             np.arange(50), np.arange(42, 50)[::-1]])
        start = int(
            np.flatnonzero([(padded[s:s + 50] == frame_ids).all()
                            for s in range(17)])[0])
        starts.add(start)
    assert starts == set(range(17))


def test_gen_stream_bone_and_motion():
    layout = get_layout(KINECT)
    kp = clip()
    bone = run(build('MSGenStream', stream='bone'), kp)
    assert (bone[:, :, layout.center] == 0).all()
    joint, parent = layout.bone_pairs[layout.index('HandLeft')]
    np.testing.assert_allclose(bone[:, :, joint], kp[:, :, joint] - kp[:, :, parent])
    motion = run(build('MSGenStream', stream='motion'), kp)
    assert (motion[:, -1] == 0).all()
    np.testing.assert_allclose(motion[:, :-1], kp[:, 1:] - kp[:, :-1])
    assert run(build('MSGenStream', stream='joint'), kp) is kp
    with pytest.raises(ValueError, match='stream'):
        build('MSGenStream', stream='angle')


def test_resample_linear_ramp_stays_linear():
    frames = np.arange(100, dtype=np.float32)
    kp = np.zeros((1, 110, 20, 3), np.float32)
    kp[0, :100] = (0.5 * frames + 1)[:, None, None]  # 10 trailing zero frames
    out = build('MSResample', clip_len=50)(dict(keypoint=kp))
    assert out['keypoint'].shape == (1, 50, 20, 3)
    assert out['total_frames'] == 50
    track = out['keypoint'][0, :, 0, 0]
    np.testing.assert_allclose(np.diff(track), 1.0, atol=1e-5)  # 2x faster
    np.testing.assert_allclose(track[0], 0.5 * 0.5 + 1, atol=1e-5)
    # upsampling: linear between the clamped ends (cv2 half-pixel mapping)
    short = kp[:, :10]
    track = build(
        'MSResample', clip_len=50)(dict(keypoint=short))['keypoint'][0, :, 0, 0]
    np.testing.assert_allclose(np.diff(track[3:-3]), 0.5 * 10 / 50, atol=1e-5)
    assert track[0] == short[0, 0, 0, 0] and track[-1] == short[0, 9, 0, 0]


def _posed_clip(seed=0):
    """A Kinect clip whose body turns about y and drifts, plus zero frames."""
    rng = np.random.default_rng(seed)
    kp = clip(seed=seed) * 0.1
    layout = get_layout(KINECT)
    kp[:, :, layout.index('ShoulderLeft')] += [-0.2, 0, 0]
    kp[:, :, layout.index('ShoulderRight')] += [0.2, 0, 0]
    kp[:, :, layout.index('SpineBase')] += [0, -0.5, 0]
    kp[:, :, layout.index('SpineShoulder')] += [0, 0.3, 0]
    angles = np.linspace(-2.5, 2.5, kp.shape[1])
    cos, sin = np.cos(angles), np.sin(angles)
    rot = np.zeros((kp.shape[1], 3, 3))
    rot[:, 0, 0], rot[:, 0, 2], rot[:, 1, 1] = cos, sin, 1
    rot[:, 2, 0], rot[:, 2, 2] = -sin, cos
    kp = np.einsum('tij,mtvj->mtvi', rot, kp) + rng.normal(size=3)
    kp[:, -5:] = 0
    kp[1] = 0  # an absent second person
    return kp.astype(np.float32)


def test_prenormalize_centres_and_aligns_shoulders():
    layout = get_layout(KINECT)
    kp = _posed_clip()
    out = run(build('MSPreNormalize'), kp)
    present = out[0, :-5]
    np.testing.assert_allclose(layout.role_position(present, 'neck'), 0, atol=1e-5)
    line = layout.role_position(present, 'right_shoulder') - \
        layout.role_position(present, 'left_shoulder')
    assert (line[:, 0] > 0).all()
    np.testing.assert_allclose(line[:, 2], 0, atol=1e-5)
    assert (out[:, -5:] == 0).all() and (out[1] == 0).all()
    np.testing.assert_allclose(
        _bone_lengths(out[:1, :-5], layout),
        _bone_lengths(kp[:1, :-5], layout),
        atol=1e-4)


def test_prenormalize_first_frame_and_spine_to_z():
    layout = get_layout(KINECT)
    kp = _posed_clip(seed=1)
    out = run(
        build(
            'MSPreNormalize',
            center='first_frame',
            center_role='pelvis',
            align_spine='z',
            align_shoulders=False), kp)
    first = out[0, 0]
    np.testing.assert_allclose(layout.role_position(first, 'pelvis'), 0, atol=1e-5)
    spine = layout.role_position(first, 'neck') - layout.role_position(first, 'pelvis')
    np.testing.assert_allclose(spine[:2], 0, atol=1e-5)
    assert spine[2] > 0
    with pytest.raises(ValueError, match='up axis'):
        build('MSPreNormalize', up_axis='x')


def test_person_padding_keeps_most_active():
    kp = clip(persons=3)
    kp[0] = kp[0, :1]  # static person
    kp[2] *= 5  # most active
    out = run(build('MSPersonPadding', num_person=2), kp)
    np.testing.assert_array_equal(out, kp[[1, 2]])
    padded = run(build('MSPersonPadding', num_person=2), kp[:1])
    assert padded.shape == (2, 50, 25, 3) and (padded[1] == 0).all()


def test_blur_kernel_normalisation():
    kp = np.ones((1, 50, 25, 3), np.float32)
    blur = build('MSGaussianBlur', p=1.0, sigma=(2.0, 2.0))
    out = run(blur, kp)
    expected = np.exp(-np.arange(-7, 8)**2 / 8.0).sum()  # AimCLR: unnormalised
    np.testing.assert_allclose(out[0, 7:-7], expected, rtol=1e-5)
    assert out[0, 0, 0, 0] < out[0, 25, 0, 0]  # zero padding at the ends
    norm = run(build('MSGaussianBlur', p=1.0, normalize=True), kp)
    np.testing.assert_allclose(norm[0, 7:-7], 1, rtol=1e-5)
    assert run(build('MSGaussianBlur', p=0.0), kp) is kp


def test_noise_and_axis_mask():
    kp = clip()
    out = run(build('MSGaussianNoise', p=1.0, seed=0), kp)
    assert abs(float((out - kp).std()) - 0.01) < 0.001
    masked = run(build('MSAxisMask', p=1.0, seed=0), kp)
    zero_axes = [c for c in range(3) if (masked[..., c] == 0).all()]
    assert len(zero_axes) == 1
    kept = [c for c in range(3) if c not in zero_axes]
    np.testing.assert_array_equal(masked[..., kept], kp[..., kept])
    assert (kp != 0).all()  # inputs are never modified in place


def test_seeded_transforms_reproduce():
    kp = clip()
    outs = []
    for _ in range(2):
        pipe = [build(**dict(cfg, seed=7)) for cfg in EXTREME]
        results = dict(keypoint=kp, skeleton=KINECT)
        for transform in pipe:
            results = transform(results)
        outs.append(results['keypoint'])
    np.testing.assert_array_equal(outs[0], outs[1])


def _multi_item():
    return dict(
        clip_name='c0',
        label=3,
        skeletons={
            KINECT: clip(frames=60),
            'smpl_24': clip(24, frames=40)
        },
        layouts={
            KINECT: KINECT,
            'smpl_24': 'smpl_24'
        },
        views=dict(query=KINECT, query_extreme=KINECT, key='smpl_24'),
        sample_idx=5,
        epoch=1)


def test_multi_view_and_pack():
    view = build(
        'MSMultiView',
        common=[dict(type='MSResample', clip_len=50)],
        pipelines=dict(query=NORMAL, query_extreme=EXTREME),
        default=NORMAL + [dict(type='MSGenStream', stream='bone')])
    pack = build('PackMultiSkeletonInputs')
    results = view(_multi_item())
    assert results['view_skeletons'] == dict(
        query=KINECT, query_extreme=KINECT, key='smpl_24')
    shapes = {v: kp.shape for v, kp in results['inputs_views'].items()}
    assert shapes == dict(
        query=(2, 50, 25, 3), query_extreme=(2, 50, 25, 3), key=(2, 50, 24, 3))
    assert not np.allclose(results['inputs_views']['query'],
                           results['inputs_views']['query_extreme'])
    key = results['inputs_views']['key']
    assert (key[:, :, get_layout('smpl_24').center] == 0).all()  # bone
    packed = pack(results)
    assert set(packed) == {'inputs', 'data_samples'}
    assert all(
        isinstance(t, torch.Tensor) and t.dtype == torch.float32
        for t in packed['inputs'].values())
    sample = packed['data_samples']
    assert sample.gt_label.item() == 3
    assert sample.metainfo['clip_name'] == 'c0'
    assert sample.metainfo['skeletons']['key'] == 'smpl_24'
    assert sample.metainfo['sample_idx'] == 5


def _aligned_item(key_conv, seed=3):
    kp = clip(frames=60)
    # 'copy' is the same skeleton under another convention name: a replayed
    # view must then equal its source exactly
    return dict(clip_name='c0', label=1, skeletons={KINECT: kp, 'copy': kp.copy()},
                layouts={KINECT: KINECT, 'copy': KINECT},
                views=dict(query=KINECT, query_extreme=KINECT, key=key_conv),
                seed=seed, sample_idx=5, epoch=1)


def test_multi_view_replay_aligns_cross_convention_views_only():
    views = dict(query=NORMAL, query_extreme=EXTREME, key=NORMAL)
    plain = build('MSMultiView', pipelines=views)
    aligned = build('MSMultiView', pipelines=views, replay=dict(key='query'))
    out = aligned(_aligned_item('copy'))['inputs_views']
    ref = plain(_aligned_item('copy'))['inputs_views']
    np.testing.assert_array_equal(out['key'], out['query'])  # same draws
    assert not np.allclose(ref['key'], ref['query'])  # independent draws
    for view in ('query', 'query_extreme'):  # the other views draw as before
        np.testing.assert_array_equal(out[view], ref[view])
    # same convention: a replay would copy the query; the key draws its own
    same = aligned(_aligned_item(KINECT))['inputs_views']
    np.testing.assert_array_equal(same['key'], plain(_aligned_item(KINECT))['inputs_views']['key'])
    assert not np.allclose(same['key'], same['query'])
    # another seed, other draws, still aligned
    other = aligned(_aligned_item('copy', seed=4))['inputs_views']
    np.testing.assert_array_equal(other['key'], other['query'])
    assert not np.allclose(other['query'], out['query'])


def test_multi_view_replay_refuses_what_it_cannot_do():
    views = dict(query=NORMAL, key=NORMAL)
    with pytest.raises(ValueError, match='draws its own'):
        build('MSMultiView', pipelines=views, replay=dict(key='query', query='key'))
    aligned = build('MSMultiView', pipelines=views, replay=dict(query='key'))
    with pytest.raises(ValueError, match='comes before its source'):
        aligned(_aligned_item('copy'))
    aligned = build('MSMultiView', pipelines=views, replay=dict(key='query'))
    item = _aligned_item('copy')
    del item['seed']
    with pytest.raises(ValueError, match="per-item generators.*'c0'"):
        aligned(item)


def test_three_view_throughput():
    """Prints samples/s of the AimCLR views (never asserts on time)."""
    view = build(
        'MSMultiView', pipelines=dict(query=NORMAL, query_extreme=EXTREME, key=NORMAL))
    kp = clip()
    item = dict(
        skeletons={KINECT: kp},
        views=dict(query=KINECT, query_extreme=KINECT, key=KINECT),
        label=0,
        clip_name='c')
    for _ in range(50):
        view(dict(item))
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(500):
            out = view(dict(item))
        best = max(best, 500 / (time.perf_counter() - start))
    assert out['inputs_views']['query_extreme'].shape == kp.shape
    print(f'\nAimCLR 3-view transforms (2 x 50 x 25 x 3): {best:.0f} '
          'samples/s on one core')
