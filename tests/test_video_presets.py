"""tools/data/video_to_skeletons.py --preset: the MeTRAbs call each preset
makes, checked on a stand-in model (a torch module, as the PyTorch port):
skeleton, detection options, field of view, mirroring, frame count, the
order of people, and inference mode."""
import numpy as np
import pytest
import torch

from msclr_plugin.skeletons import get_layout
from .conftest import load_tool

CALLS = []  # (skeleton, kwargs, inference mode, first image) per call
FRAMES = 310


class StandInPort(torch.nn.Module):
    """MeTRAbs-like: all joints of smplx_42 and smpl_24 in one pass, or one
    skeleton directly; two people a frame, the first with the lower
    detector score."""

    def __init__(self):
        super().__init__()
        self.per_skeleton_indices = {'smplx_42': np.arange(42),
                                     'smpl_24': np.arange(42, 66)}
        self.per_skeleton_joint_names = {
            f: list(get_layout(f).joint_names) for f in self.per_skeleton_indices}

    def detect_poses_batched(self, images, skeleton='ERROR', **kwargs):
        CALLS.append((skeleton, kwargs, torch.is_inference_mode_enabled(),
                      np.array(images[0])))
        joints = 66 if skeleton == '' else len(self.per_skeleton_indices[skeleton])
        people = np.stack([np.full((joints, 3), 100.), np.full((joints, 3), 200.)])
        boxes = np.array([[0, 0, 1, 1, .5], [0, 0, 1, 1, .9]])
        return dict(poses3d=[people] * len(images), boxes=[boxes] * len(images))


def stand_in(path):
    return StandInPort()


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    """310 frames, bright on the left half: mirroring shows."""
    import cv2
    path = str(tmp_path_factory.mktemp('video') / 'S001C001P001R001A001_rgb.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 30, (32, 24))
    frame = np.zeros((24, 32, 3), np.uint8)
    frame[:, :16] = 255
    for _ in range(FRAMES):
        writer.write(frame)
    writer.release()
    return path


def _run(video, out, *options):
    CALLS.clear()
    tool = load_tool('data/video_to_skeletons')
    tool.main([video, '--out', str(out), '--strip-suffix', '_rgb', '--model', 'x',
               '--estimator-factory', 'tests.test_video_presets:stand_in',
               *options])
    with np.load(out / 'S001C001P001R001A001.npz') as data:
        return dict(data)


def test_msclr_reference_preset(video, tmp_path):
    out = _run(video, tmp_path, '--preset', 'msclr-reference')
    assert {c[0] for c in CALLS} == {'smplx_42'}  # SMPL-X 42 directly
    assert all(c[1] == dict(detector_threshold=0.01,
                            suppress_implausible_poses=False, max_detections=2)
               for c in CALLS)  # MeTRAbs' own 55 degree field of view
    assert all(c[2] for c in CALLS)  # inference mode for a torch model
    assert CALLS[0][3][:, :16].mean() > 200  # not mirrored
    assert list(out) == ['smplx_42'] and out['smplx_42'].shape == (2, 300, 42, 3)
    # the detector's order: the first person detected is body 0
    np.testing.assert_allclose(out['smplx_42'][:, 0, 0], [[-.1, -.1, .1],
                                                          [-.2, -.2, .2]])


def test_recommended_preset(video, tmp_path):
    out = _run(video, tmp_path, '--preset', 'recommended')
    assert {c[0] for c in CALLS} == {''}  # one pass, formats sliced
    assert all(c[1] == dict(default_fov_degrees=84.1) for c in CALLS)
    assert all(c[2] for c in CALLS)
    assert CALLS[0][3][:, :16].mean() < 50  # mirrored
    assert out['smplx_42'].shape == (2, FRAMES, 42, 3)  # every frame
    np.testing.assert_allclose(out['smplx_42'][:, 0, 0], [[-.2, -.2, .2],
                                                          [-.1, -.1, .1]])


def test_explicit_options_override_a_preset(video, tmp_path):
    out = _run(video, tmp_path, '--preset', 'msclr-reference', '--fov', '60',
               '--max-frames', '20', '--metrabs-option', 'max_detections=1')
    assert all(c[1] == dict(detector_threshold=0.01, suppress_implausible_poses=False,
                            max_detections=1, default_fov_degrees=60.)
               for c in CALLS)
    assert out['smplx_42'].shape[1] == 20
    with pytest.raises(SystemExit):
        load_tool('data/video_to_skeletons').parse_args(
            [video, '--out', str(tmp_path), '--preset', 'recommended',
             '--extractor', 'mediapipe'])


def test_tensorflow_is_an_opt_in_extra():
    """TensorFlow (MeTRAbs SavedModels) is an extra of its own, in no
    default of tools/setup_env.sh (which CI runs through run_tests.sh)."""
    from .conftest import ROOT
    script = (ROOT / 'tools' / 'setup_env.sh').read_text()
    default = next(line for line in script.splitlines()
                   if line.startswith('extras=${MSCLR_EXTRAS-'))
    assert 'metrabs-tf' not in default and '*" metrabs-tf "*)' in script
    assert 'metrabs-tf = ["tensorflow' in (ROOT / 'pyproject.toml').read_text()
