"""Video -> skeleton extractors: MediaPipe on the real NTU video (when the
optional mediapipe==0.10.21 is installed) and the mmpose plumbing with a
stand-in inferencer."""
import importlib.util
import sys

import numpy as np
import pytest

from msclr_plugin.data_prep.video import (MediaPipeExtractor, MMPoseExtractor,
                                          SkeletonExtractor)

HAS_MEDIAPIPE = importlib.util.find_spec('mediapipe') is not None
NO_MEDIAPIPE = 'the optional mediapipe==0.10.21 is not installed' + (
    f' (it needs numpy<2; this environment has numpy {np.__version__})'
    if int(np.__version__.split('.')[0]) >= 2 else '') + (
        ': MSCLR_EXTRAS="mmpose video" bash tools/setup_env.sh, '
        'docs/install.md')
CLIP = 'S001C001P001R001A001'


class FakeInferencer:
    """Yields mmpose-style results: one list of instances per frame."""

    def __init__(self, frames, num_joints=17, dims=2):
        self.frames, self.num_joints, self.dims = frames, num_joints, dims
        self.calls = []

    def __call__(self, inputs, **kwargs):
        self.calls.append((inputs, kwargs))
        rng = np.random.default_rng(0)
        for t in range(self.frames):
            instances = []
            for score in ([0.3, 0.9, 0.6] if t != 2 else []):
                instances.append(
                    dict(
                        keypoints=rng.normal(size=(self.num_joints,
                                                   self.dims)).tolist(),
                        keypoint_scores=[score] * self.num_joints,
                        bbox=[[0, 0, 10, 10]]))
            yield dict(predictions=[instances], visualization=[])


def test_mmpose_plumbing():
    fake = FakeInferencer(frames=4)
    ext = MMPoseExtractor(
        fake, layout='coco', max_person=2, call_kwargs=dict(show=False))
    out = ext.extract('video.mp4')
    kp = out['coco']
    assert kp.shape == (2, 4, 17, 3)
    assert fake.calls == [('video.mp4', dict(show=False))]
    # ranked by mean score: 0.9 first, then 0.6; 0.3 dropped
    np.testing.assert_allclose(kp[0, 0, :, 2], 0.9, rtol=1e-6)
    np.testing.assert_allclose(kp[1, 0, :, 2], 0.6, rtol=1e-6)
    assert not kp[:, 2].any() and ext.last_missing == 1  # empty frame
    frames = np.zeros((4, 8, 8, 3), np.uint8)
    assert ext.extract(frames)['coco'].shape == (2, 4, 17, 3)
    assert isinstance(fake.calls[-1][0], list)


def test_mmpose_wrong_joint_count():
    ext = MMPoseExtractor(FakeInferencer(frames=2, num_joints=18), 'coco')
    with pytest.raises(ValueError, match='layout coco has 17 joints'):
        ext.extract('video.mp4')


def test_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        SkeletonExtractor().extract([np.zeros((4, 4, 3), np.uint8)])
    with pytest.raises(ValueError, match='no frames'):
        SkeletonExtractor().extract([])


def test_mediapipe_missing_message(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mediapipe', None)  # import fails
    with pytest.raises(ImportError, match='mediapipe==0.10.21'):
        MediaPipeExtractor()


@pytest.mark.skipif(not HAS_MEDIAPIPE, reason=NO_MEDIAPIPE)
def test_mediapipe_reproduces_shared_npz(shared_data):
    sample = shared_data / 'ntu_sample'
    ref = np.load(sample / f'{CLIP}_mediapipe0.10.21_flipped.npz')
    ext = MediaPipeExtractor(mirror=True, image=True, max_frames=5)
    out = ext.extract(str(sample / f'{CLIP}_rgb.avi'))
    assert out['blazepose_33'].shape == (1, 5, 33, 4)
    assert ext.last_missing == 0
    np.testing.assert_allclose(out['blazepose_33'][0], ref['pose_world'][:5], atol=1e-3)
    np.testing.assert_allclose(
        out['blazepose_33_image'][0], ref['pose_image'][:5], atol=1e-3)
    # without the flip, MediaPipe sees the mirrored video: different pose
    plain = MediaPipeExtractor(
        mirror=False,
        max_frames=5).extract(str(sample / f'{CLIP}_rgb.avi'))['blazepose_33']
    assert np.abs(plain[0] - ref['pose_world'][:5]).max() > 0.1
