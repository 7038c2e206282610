"""Skeleton drawing: msclr_plugin.visualization and tools/analysis/draw_skeletons.py."""
import importlib.util
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from msclr_plugin.data_prep.synthetic import generate_synthetic_store
from msclr_plugin.skeletons import get_layout
from msclr_plugin.visualization import (animate_conventions, load_store_clip,
                                        plot_conventions, visible_persons)

ROOT = Path(__file__).resolve().parents[1]
NTU = 'S001C001P001R001A001'


def _tool():
    spec = importlib.util.spec_from_file_location(
        'draw_skeletons', ROOT / 'tools' / 'analysis' / 'draw_skeletons.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _ink(path):
    """Fraction of clearly non-white pixels of an image."""
    img = np.asarray(Image.open(path).convert('L'))
    return (img < 200).mean()


@pytest.fixture(scope='module')
def store_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('draw') / 'store')
    generate_synthetic_store(root, num_clips_per_class_per_subject=1,
                             num_subjects=2, classes=['wave_right_hand'])
    return root


def test_png_one_subplot_per_convention(store_root, tmp_path):
    skeletons, layouts, title = load_store_clip(store_root,
                                                'SYN_P001A001R001')
    assert title.startswith('SYNTHETIC') and 'wave_right_hand' in title
    out = tmp_path / 'clip.png'
    fig = plot_conventions(skeletons, layouts, frames=[0, 10], title=title,
                           out=str(out))
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == list(skeletons)
    for ax, (conv, kp) in zip(axes, skeletons.items()):
        # M=2 with a zero second person: two overlaid frames of one person
        assert visible_persons(kp) == [0]
        assert len(ax.lines) == 2 * len(layouts[conv].edges)
    plt.close(fig)
    assert out.stat().st_size > 10_000
    assert _ink(out) > 0.01


def test_gif_written_with_all_frames(tmp_path):
    kp = np.random.default_rng(0).normal(size=(1, 7, 17, 3)).astype(
        np.float32)
    out = animate_conventions({'coco': kp, 'copy': kp}, str(tmp_path / 'a.gif'),
                              layouts={'copy': 'coco'}, step=2)
    img = Image.open(out)
    assert img.format == 'GIF' and img.n_frames == 4
    assert Path(out).stat().st_size > 1000


def test_two_persons_and_2d_input():
    lay = get_layout('openpose')
    kp = np.random.default_rng(1).normal(size=(2, 3, lay.num_joints, 2))
    fig = plot_conventions({'openpose': kp}, frames=1)
    assert len(fig.axes[0].lines) == 2 * len(lay.edges)
    plt.close(fig)


def test_bad_input_names_the_convention(store_root):
    with pytest.raises(ValueError, match='convention coco'):
        plot_conventions({'coco': np.zeros((1, 4, 25, 3))})
    with pytest.raises(IndexError, match='frame 9'):
        plot_conventions({'coco': np.ones((1, 4, 17, 3))}, frames=9)
    with pytest.raises(KeyError, match='no clip named'):
        load_store_clip(store_root, 'nope')


def test_tool_from_store(store_root, tmp_path):
    png, gif = tmp_path / 's.png', tmp_path / 's.gif'
    _tool().main([
        '--store', store_root, '--clip', '1', '--conventions', 'coco',
        '--out-png', str(png), '--out-gif', str(gif), '--step', '20'
    ])
    assert _ink(png) > 0.005 and Image.open(gif).n_frames >= 2


def test_real_ntu_clip_with_mediapipe(shared_data, tmp_path):
    """The NTU sample next to its MediaPipe world landmarks; y-down data is
    turned about z so that both bodies stand upright with the same side
    on the same side of the figure."""
    tool = _tool()
    folder = shared_data / 'ntu_sample'
    skel = folder / f'{NTU}.skeleton'
    npz = f'{folder / (NTU + "_mediapipe0.10.21_flipped.npz")}:pose_world'
    kinect = tool.load_array(str(skel))
    blaze = tool.y_down_to_up(tool.load_array(npz))
    assert kinect.shape[1:] == (103, 25, 3) and blaze.shape == (1, 103, 33, 3)
    k, b = get_layout('kinectv2_25'), get_layout('blazepose_33')
    for lay, kp in ((k, kinect[0]), (b, blaze[0])):
        up = lay.role_position(kp, 'head')[:, 1] - lay.role_position(
            kp, 'pelvis')[:, 1]
        assert (up > 0.3).all()
    side_k = (k.role_position(kinect[0], 'left_shoulder') -
              k.role_position(kinect[0], 'right_shoulder'))[:, 0]
    side_b = (b.role_position(blaze[0], 'left_shoulder') -
              b.role_position(blaze[0], 'right_shoulder'))[:, 0]
    assert np.mean(np.sign(side_k) == np.sign(side_b)) > 0.9
    png = tmp_path / 'ntu.png'
    tool.main([
        '--input', f'kinectv2_25={skel}', '--input', f'blazepose_33={npz}',
        '--y-down', 'blazepose_33', '--frames', '0', '50', '100',
        '--out-png', str(png)
    ])
    assert png.stat().st_size > 10_000 and _ink(png) > 0.01
