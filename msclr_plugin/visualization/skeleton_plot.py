"""Drawing one clip in all its skeleton conventions, side by side.

Plain functions on matplotlib's Agg backend (no display needed). Inputs are
``{convention: keypoint (M, T, V, C)}`` plus the layouts, which give the
edges; persons that are all zero over the clip (padding) are not drawn.
Data is taken as Y up (Kinect camera space); matplotlib's vertical axis shows
data Y and its depth axis data Z. Two-channel data is drawn in the plane.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import animation  # noqa: E402

from msclr_plugin.skeletons import get_layout  # noqa: E402

Skeletons = Dict[str, np.ndarray]
PERSON_COLOURS = ('tab:blue', 'tab:red', 'tab:green', 'tab:purple')


def _display(kp: np.ndarray) -> np.ndarray:
    """``(..., C)`` data -> ``(..., 3)`` matplotlib (x, depth, up)."""
    kp = np.asarray(kp, dtype=np.float64)
    if kp.shape[-1] < 2:
        raise ValueError(f'keypoints need 2 or 3 channels, got {kp.shape}')
    if kp.shape[-1] == 2:
        return np.stack([kp[..., 0], np.zeros_like(kp[..., 0]), kp[..., 1]],
                        -1)
    return np.stack([kp[..., 0], kp[..., 2], kp[..., 1]], -1)


def visible_persons(kp: np.ndarray) -> list:
    """Indices of the persons of ``(M, T, V, C)`` that are not all zero."""
    return [m for m in range(kp.shape[0]) if np.any(kp[m] != 0)]


def _limits(points: np.ndarray) -> Tuple[np.ndarray, float]:
    """Centre and half side of a cube holding ``(N, 3)`` points."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    return (lo + hi) / 2, max(float((hi - lo).max()) / 2, 0.1) * 1.05


def _check(skeletons: Skeletons, layouts) -> Dict[str, object]:
    if not skeletons:
        raise ValueError('nothing to draw: no conventions given')
    layouts = layouts or {}
    out = {}
    for name, kp in skeletons.items():
        layout = get_layout(layouts.get(name, name))
        if np.ndim(kp) != 4 or np.shape(kp)[2] != layout.num_joints:
            raise ValueError(
                f'convention {name}: expected (M, T, {layout.num_joints}, '
                f'C) for layout {layout.name}, got {np.shape(kp)}')
        out[name] = layout
    return out


class _Panel:
    """One 3D subplot: a convention's persons as line and point artists."""

    def __init__(self, ax, name: str, kp: np.ndarray, layout,
                 elev: float, azim: float) -> None:
        self.ax, self.layout = ax, layout
        self.pts = _display(kp)  # (M, T, V, 3)
        self.persons = visible_persons(kp)
        centre, half = _limits(
            self.pts[self.persons].reshape(-1, 3) if self.persons else
            np.zeros((1, 3)))
        for axis, c in zip('xyz', centre):
            getattr(ax, f'set_{axis}lim')(c - half, c + half)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(name)
        ax.set_xlabel('x')
        ax.set_ylabel('z (depth)')
        ax.set_zlabel('y (up)')
        ax.tick_params(labelsize=6)

    def draw(self, frame: int, alpha: float = 1.0) -> list:
        artists = []
        for m in self.persons:
            colour = PERSON_COLOURS[m % len(PERSON_COLOURS)]
            joints = self.pts[m, frame]
            for a, b in self.layout.edges:
                seg = joints[[a, b]]
                artists += self.ax.plot(
                    seg[:, 0], seg[:, 1], seg[:, 2], color=colour,
                    alpha=alpha, lw=1.5)
            artists.append(
                self.ax.scatter(joints[:, 0], joints[:, 1], joints[:, 2],
                                s=6, color='k', alpha=alpha))
        return artists


def _figure(skeletons: Skeletons, layouts, title: Optional[str],
            elev: float, azim: float, panel_size: float):
    layouts = _check(skeletons, layouts)
    fig = plt.figure(figsize=(panel_size * len(skeletons), panel_size + 0.4))
    panels = []
    for i, (name, kp) in enumerate(skeletons.items()):
        ax = fig.add_subplot(1, len(skeletons), i + 1, projection='3d')
        panels.append(_Panel(ax, name, np.asarray(kp), layouts[name], elev,
                             azim))
    if title:
        fig.suptitle(title, fontsize=10)
    return fig, panels


def plot_conventions(skeletons: Skeletons,
                     layouts: Optional[Dict[str, object]] = None,
                     frames: Union[int, Sequence[int], None] = None,
                     title: Optional[str] = None,
                     out: Optional[str] = None,
                     elev: float = 15.0,
                     azim: float = -70.0,
                     panel_size: float = 4.0):
    """Draw one clip's conventions side by side, one 3D subplot each.

    Args:
        skeletons (dict): ``{convention: (M, T, V, C)}``; all share the view.
        layouts (dict, optional): ``{convention: layout}``; a convention
            missing here is looked up by its own name.
        frames (int | Sequence[int], optional): The frame to draw, or frames
            overlaid (earlier ones fainter). Defaults to the middle frame.
        title (str, optional): Figure title.
        out (str, optional): Save the figure as PNG here.
        elev (float): View elevation in degrees.
        azim (float): View azimuth in degrees.
        panel_size (float): Inches per subplot.

    Returns:
        matplotlib.figure.Figure: The figure (close it when done).
    """
    fig, panels = _figure(skeletons, layouts, title, elev, azim, panel_size)
    for panel, kp in zip(panels, skeletons.values()):
        num_frames = np.shape(kp)[1]
        picks = [num_frames // 2] if frames is None else (
            [frames] if np.isscalar(frames) else list(frames))
        for k, f in enumerate(picks):
            if not -num_frames <= f < num_frames:
                raise IndexError(f'frame {f} out of range for a clip of '
                                 f'{num_frames} frames')
            panel.draw(f, alpha=(k + 1) / len(picks))
    if out:
        fig.savefig(out, dpi=100)
    return fig


def animate_conventions(skeletons: Skeletons,
                        out: str,
                        layouts: Optional[Dict[str, object]] = None,
                        title: Optional[str] = None,
                        fps: float = 15.0,
                        step: int = 1,
                        elev: float = 15.0,
                        azim: float = -70.0,
                        panel_size: float = 3.0) -> str:
    """Write an animated GIF of the whole clip, conventions side by side.

    Conventions with fewer frames hold their last frame.

    Args:
        skeletons (dict): ``{convention: (M, T, V, C)}``.
        out (str): The GIF path.
        layouts (dict, optional): As in :func:`plot_conventions`.
        title (str, optional): Figure title.
        fps (float): GIF frame rate.
        step (int): Draw every ``step``-th frame.
        elev (float): View elevation in degrees.
        azim (float): View azimuth in degrees.
        panel_size (float): Inches per subplot.

    Returns:
        str: ``out``.
    """
    fig, panels = _figure(skeletons, layouts, title, elev, azim, panel_size)
    lengths = [np.shape(kp)[1] for kp in skeletons.values()]
    drawn = []

    def update(frame):
        while drawn:
            drawn.pop().remove()
        for panel, length in zip(panels, lengths):
            drawn.extend(panel.draw(min(frame, length - 1)))
        return drawn

    anim = animation.FuncAnimation(
        fig, update, frames=range(0, max(lengths), max(1, int(step))),
        blit=False)
    anim.save(out, writer=animation.PillowWriter(fps=fps), dpi=72)
    plt.close(fig)
    return out


def load_store_clip(root: str, clip: Union[int, str],
                    conventions: Optional[Sequence[str]] = None):
    """One clip of a skeleton store, ready for the functions above.

    Args:
        root (str): Store directory.
        clip (int | str): Clip index or clip name.
        conventions (Sequence[str], optional): Defaults to all of the store.

    Returns:
        tuple: ``(skeletons, layouts, title)``; the title names the clip,
        its class and says SYNTHETIC when the store's meta does.
    """
    from msclr_plugin.datasets.store import SkeletonStore
    store = SkeletonStore(root)
    if isinstance(clip, str) and not clip.isdigit():
        try:
            idx = store.clip_names.index(clip)
        except ValueError:
            raise KeyError(f'{root}: no clip named {clip!r}') from None
    else:
        idx = int(clip)
        if not 0 <= idx < len(store):
            raise IndexError(f'{root}: clip index {idx} out of range '
                             f'[0, {len(store)})')
    names = list(conventions or store.conventions)
    missing = [c for c in names if c not in store.conventions]
    if missing:
        raise KeyError(f'{root}: no conventions {missing}; the store has '
                       f'{sorted(store.conventions)}')
    skeletons = {c: store.get(idx, c) for c in names}
    layouts = {c: store.layout(c) for c in names}
    label = int(store.labels[idx])
    cls = store.classes[label] if store.classes else f'label {label}'
    title = f'{store.clip_names[idx]} ({cls})'
    if store.index.get('meta', {}).get('synthetic'):
        title = 'SYNTHETIC ' + title
    return skeletons, layouts, title
