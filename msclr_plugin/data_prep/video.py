"""Video -> skeletons through pluggable pose extractors.

``SkeletonExtractor.extract(frames_or_video_path)`` returns
``{convention: (M, T, V, C) float32}``. Frames where nobody is detected are
zero-filled and counted in ``extractor.last_missing``.
:class:`MultiFormatExtractor` wraps a user's estimator that returns several
skeleton formats per frame batch (MeTRAbs) and matches the people it finds to
reference (Kinect) bodies.
"""
import contextlib
import itertools
from typing import (Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple, Union)

import numpy as np
import torch

from msclr_plugin.skeletons import get_layout
from msclr_plugin.skeletons.registry import LayoutLike

Frames = Union[str, Sequence[np.ndarray], np.ndarray]

# Kinect v2 camera space from an OpenCV camera frame (x right in the image,
# y down, z forward: MeTRAbs' camera space): Kinect's x points to the
# sensor's left and y up, so both change sign (a rotation, no mirror).
OPENCV_TO_KINECT = ((-1., 0., 0.), (0., -1., 0.), (0., 0., 1.))

# MeTRAbs extraction settings (tools/data/video_to_skeletons.py --preset):
# ``skeleton`` and ``detect`` go to MeTRAbsAdapter, the rest to
# MultiFormatExtractor; ``fov`` None keeps MeTRAbs' default (55 degrees).
METRABS_PRESETS = {
    # ours: every format sliced from one pass, frames un-mirrored (NTU's RGB
    # is a mirror image of the Kinect's view), the Kinect v2 colour camera's
    # field of view, people by detector score, the whole clip
    'recommended': dict(formats=['smplx_42'], skeleton='', mirror=True,
                        fov=84.1, order='score', max_frames=None, detect={}),
    # the MS-CLR authors' extraction: SMPL-X 42 estimated directly, a low
    # detection threshold, no plausibility filter, two detections, MeTRAbs'
    # default field of view, frames as recorded (mirrored), the detector's
    # order, the first 300 frames
    'msclr-reference': dict(
        formats=['smplx_42'], skeleton='smplx_42', mirror=False, fov=None,
        order='detector', max_frames=300,
        detect=dict(detector_threshold=0.01, suppress_implausible_poses=False,
                    max_detections=2)),
}


def iter_video(path: str, max_frames: Optional[int] = None) -> Iterator[np.ndarray]:
    """Decode a video frame by frame into RGB ``(H, W, 3)`` uint8 arrays."""
    import cv2
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f'{path}: cannot open video')
    count = 0
    try:
        while max_frames is None or count < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    if not count:
        raise ValueError(f'{path}: no frame could be decoded')


def read_video(path: str, max_frames: Optional[int] = None) -> List[np.ndarray]:
    """Decode a video into RGB ``(H, W, 3)`` uint8 frames with OpenCV."""
    return list(iter_video(path, max_frames))


class SkeletonExtractor:
    """Base class: turn frames (or a video file) into skeletons.

    Args:
        max_frames (int, optional): Read at most this many frames of a video.

    Subclasses implement :meth:`extract_frames`.
    """

    def __init__(self, max_frames: Optional[int] = None) -> None:
        self.max_frames = max_frames
        self.last_missing = 0

    def extract(self, frames_or_video_path: Frames) -> Dict[str, np.ndarray]:
        """Skeletons of a video file or of RGB frames ``(T, H, W, 3)``.

        Returns:
            dict: ``{convention: (M, T, V, C) float32}``.
        """
        if isinstance(frames_or_video_path, str):
            frames = read_video(frames_or_video_path, self.max_frames)
        else:
            frames = list(frames_or_video_path)
            if not frames:
                raise ValueError('no frames given')
        return self.extract_frames(frames)

    def extract_frames(self, frames: List[np.ndarray]) -> Dict[str, np.ndarray]:
        raise NotImplementedError


class MediaPipeExtractor(SkeletonExtractor):
    """MediaPipe Pose (``solutions.pose``) -> ``blazepose_33``.

    Output ``'blazepose_33'``: world landmarks (metres, hip-centred, in
    MediaPipe's axes: x to the image right, y down), visibility as a 4th
    channel. With ``image=True`` also ``'blazepose_33_image'``: normalised
    image landmarks ``x y z visibility``.

    Needs the optional ``mediapipe==0.10.21`` (the only release whose wheel
    ships the pose model; it needs numpy<2 and protobuf<5).

    Args:
        mirror (bool): Flip every frame horizontally before detection, and
            map image x back with ``x -> 1 - x``. NTU's RGB videos are
            mirrored relative to Kinect space: flipping un-mirrors them, so
            world landmarks (and left/right) are those of the true view,
            while image landmarks still index the original video's pixels.
            This reproduces ``*_mediapipe0.10.21_flipped.npz`` exactly.
            Defaults to False.
        image (bool): Also return the image landmarks. Defaults to False.
        model_complexity (int): 0, 1 or 2 (only 1 ships in the wheel).
        min_detection_confidence (float): Passed to MediaPipe.
        with_visibility (bool): Keep visibility as the last channel.
        max_frames (int, optional): See :class:`SkeletonExtractor`.
    """

    layouts = {'blazepose_33': 'blazepose_33', 'blazepose_33_image': 'blazepose_33'}

    def __init__(self,
                 mirror: bool = False,
                 image: bool = False,
                 model_complexity: int = 1,
                 min_detection_confidence: float = 0.5,
                 with_visibility: bool = True,
                 max_frames: Optional[int] = None) -> None:
        super().__init__(max_frames)
        try:
            import mediapipe as mp
        except ImportError as err:
            raise ImportError(
                'MediaPipeExtractor needs mediapipe: pip install '
                'mediapipe==0.10.21 "numpy<2" "protobuf<5" (optional extra; '
                f'import failed: {err})') from None
        self._pose_cls = mp.solutions.pose.Pose
        self.mirror = mirror
        self.image = image
        self.kwargs = dict(
            static_image_mode=False,
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence)
        self.with_visibility = with_visibility

    def extract_frames(self, frames: List[np.ndarray]) -> Dict[str, np.ndarray]:
        num_joints = get_layout('blazepose_33').num_joints
        world = np.zeros((1, len(frames), num_joints, 4), np.float32)
        image = np.zeros_like(world)
        found = np.zeros(len(frames), bool)
        with self._pose_cls(**self.kwargs) as pose:
            for t, frame in enumerate(frames):
                frame = np.ascontiguousarray(frame[:, ::-1] if self.mirror else frame)
                result = pose.process(frame)
                if result.pose_world_landmarks is None:
                    continue
                found[t] = True
                for out, marks in ((world, result.pose_world_landmarks),
                                   (image, result.pose_landmarks)):
                    pts = np.array([[m.x, m.y, m.z, m.visibility]
                                    for m in marks.landmark], np.float32)
                    if len(pts) != num_joints:
                        raise ValueError(f'MediaPipe returned {len(pts)} '
                                         f'landmarks, blazepose_33 has '
                                         f'{num_joints}')
                    out[0, t] = pts
        self.last_missing = int((~found).sum())
        if self.mirror:
            image[0, found, :, 0] = 1 - image[0, found, :, 0]
        channels = 4 if self.with_visibility else 3
        out = {'blazepose_33': world[..., :channels]}
        if self.image:
            out['blazepose_33_image'] = image[..., :channels]
        return out


class MMPoseExtractor(SkeletonExtractor):
    """Wraps an mmpose inferencer (e.g. ``mmpose.apis.MMPoseInferencer``).

    The inferencer is called as ``inferencer(frames_or_path, **call_kwargs)``
    and must yield one result per frame, mmpose style:
    ``{'predictions': [[{'keypoints': [[x, y(, z)], ...],
    'keypoint_scores': [...]}, ...]]}`` (one list of instances per image).
    The ``max_person`` instances of highest mean score are kept per frame;
    scores become the last channel.

    Args:
        inferencer (callable): The mmpose inferencer object (not built here:
            mmpose's models need mmdet/torchvision).
        layout (str | dict | SkeletonLayout): Layout of its keypoints, e.g.
            ``'coco'``; the joint count is checked.
        convention (str, optional): Output name. Defaults to the layout's.
        max_person (int): Bodies kept per frame (M). Defaults to 2.
        call_kwargs (dict, optional): Extra arguments of each call.
        max_frames (int, optional): See :class:`SkeletonExtractor`.
    """

    def __init__(self,
                 inferencer,
                 layout: LayoutLike = 'coco',
                 convention: Optional[str] = None,
                 max_person: int = 2,
                 call_kwargs: Optional[dict] = None,
                 max_frames: Optional[int] = None) -> None:
        super().__init__(max_frames)
        self.inferencer = inferencer
        self.layout = get_layout(layout)
        self.convention = convention or self.layout.name
        self.layouts = {self.convention: self.layout.name}
        self.max_person = max_person
        self.call_kwargs = call_kwargs or {}

    def extract(self, frames_or_video_path: Frames) -> Dict[str, np.ndarray]:
        # mmpose reads video paths itself; frames go in as a list
        if isinstance(frames_or_video_path, str):
            results = self.inferencer(frames_or_video_path, **self.call_kwargs)
        else:
            results = self.inferencer(list(frames_or_video_path), **self.call_kwargs)
        return self._collect(results)

    def extract_frames(self, frames: List[np.ndarray]) -> Dict[str, np.ndarray]:
        return self._collect(self.inferencer(frames, **self.call_kwargs))

    def _collect(self, results: Iterable[dict]) -> Dict[str, np.ndarray]:
        per_frame = []
        dims = None
        for t, result in enumerate(results):
            preds = result['predictions']
            instances = preds[0] if preds and isinstance(preds[0], list) else preds
            bodies = []
            for inst in instances:
                kp = np.asarray(inst['keypoints'], np.float32)
                if kp.ndim != 2 or kp.shape[0] != self.layout.num_joints:
                    raise ValueError(
                        f'frame {t}: mmpose keypoints of shape {kp.shape}, '
                        f'layout {self.layout.name} has '
                        f'{self.layout.num_joints} joints')
                score = np.asarray(
                    inst.get('keypoint_scores', np.ones(len(kp))),
                    np.float32).reshape(-1, 1)
                bodies.append(np.concatenate([kp, score], 1))
                dims = dims or bodies[-1].shape[1]
            bodies.sort(key=lambda b: -float(b[:, -1].mean()))
            per_frame.append(bodies[:self.max_person])
        if not per_frame:
            raise ValueError('the inferencer returned no frame')
        self.last_missing = sum(not b for b in per_frame)
        out = np.zeros(
            (self.max_person, len(per_frame), self.layout.num_joints, dims or 3),
            np.float32)
        for t, bodies in enumerate(per_frame):
            for m, body in enumerate(bodies):
                if body.shape[1] != out.shape[-1]:
                    raise ValueError(f'frame {t}: keypoint dimension '
                                     f'{body.shape[1] - 1} changes')
                out[m, t] = body
        if not np.isfinite(out).all():
            raise ValueError('mmpose keypoints hold NaN')
        return {self.convention: out}


def _numpy(value) -> np.ndarray:
    """A numpy copy of a numpy / torch / TensorFlow array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu()
    if hasattr(value, 'numpy'):
        value = value.numpy()
    return np.asarray(value)


class MeTRAbsAdapter:
    """Calls a MeTRAbs model once per frame batch and slices every format.

    MeTRAbs (github.com/isarandi/metrabs) estimates all the joints it was
    trained on in one pass (``skeleton=''``); each skeleton format is a
    subset of them, ``model.per_skeleton_indices[format]`` (both its
    TensorFlow SavedModels and its PyTorch port have the attribute). The
    model is the user's, loaded from their disk: nothing is downloaded here.

    Args:
        model: The loaded model, with ``detect_poses_batched`` and
            ``per_skeleton_indices``.
        formats (Sequence[str]): MeTRAbs format names, e.g. ``'smplx_42'``.
        to_input (callable, optional): Turns the ``(B, H, W, 3)`` uint8 numpy
            batch into the model's input (TensorFlow takes it as it is; the
            PyTorch port wants a ``(B, 3, H, W)`` tensor on its device).
        skeleton (str): ``''`` (default): all joints in one pass, each format
            sliced from them; a format name: the model estimates that
            skeleton directly (``formats`` must be just it), as the MS-CLR
            authors' extraction calls it (``skeleton='smplx_42'``).
        **detect_kwargs: Passed to ``detect_poses_batched`` (e.g.
            ``intrinsic_matrix``, ``detector_threshold``, ``max_detections``).

    A PyTorch model (an ``nn.Module``, the port) runs under
    ``torch.inference_mode()``: no autograd graph is recorded.

    Returns (call): one dict per image, ``{format: (P, V, 3)}`` in the
    model's camera space (millimetres, x right, y down, z forward) and
    ``'scores'``: ``(P,)`` detector confidences.
    """

    def __init__(self,
                 model,
                 formats: Sequence[str],
                 to_input: Optional[Callable] = None,
                 skeleton: str = '',
                 **detect_kwargs) -> None:
        known = getattr(model, 'per_skeleton_indices', None)
        if known is None or not hasattr(model, 'detect_poses_batched'):
            raise TypeError('MeTRAbsAdapter needs a MeTRAbs model (with '
                            'detect_poses_batched and per_skeleton_indices)')
        missing = [f for f in formats if f not in known]
        if missing:
            raise KeyError(f'the MeTRAbs model has no format {missing}; it has '
                           f'{sorted(known)}')
        if skeleton and list(formats) != [skeleton]:
            raise ValueError(f'skeleton={skeleton!r} estimates that format only; '
                             f'formats must be [{skeleton!r}], got {list(formats)}')
        self.model = model
        self.skeleton = skeleton
        # with one skeleton the model returns exactly its joints
        self.indices = {f: slice(None) if skeleton else
                        _numpy(known[f]).astype(np.int64) for f in formats}
        names = getattr(model, 'per_skeleton_joint_names', {})
        self.joint_names = {
            f: [n.decode() if isinstance(n, bytes) else str(n)
                for n in _numpy(names[f]).tolist()]
            for f in formats if f in names
        }
        self.to_input = to_input
        self.detect_kwargs = detect_kwargs

    def __call__(self, images: np.ndarray) -> List[Dict[str, np.ndarray]]:
        batch = self.to_input(images) if self.to_input else images
        with (torch.inference_mode() if isinstance(self.model, torch.nn.Module)
              else contextlib.nullcontext()):
            pred = self.model.detect_poses_batched(batch, skeleton=self.skeleton,
                                                   **self.detect_kwargs)
        out = []
        for i, poses in enumerate(pred['poses3d']):
            poses = _numpy(poses).reshape(-1, *_numpy(poses).shape[-2:])
            item = {f: poses[:, idx] for f, idx in self.indices.items()}
            if 'boxes' in pred:
                item['scores'] = _numpy(pred['boxes'][i]).reshape(-1, 5)[:, 4]
            out.append(item)
        return out


def _match(refs: np.ndarray, cands: np.ndarray,
           gate: float) -> Tuple[List[int], float]:
    """The lowest-cost matching of reference points to candidates.

    Each present reference takes a distinct candidate or none (cost
    ``gate``), so no pair farther apart than ``gate`` is chosen.

    Returns:
        (list[int], float): candidate index per reference (-1: none, and for
        absent references), and the cost.
    """
    present = [m for m in range(len(refs)) if np.isfinite(refs[m]).all()]
    dist = np.linalg.norm(refs[present][:, None] - cands[None], axis=-1) \
        if len(cands) else np.zeros((len(present), 0))
    best, best_cost = None, np.inf
    for choice in itertools.product(range(-1, len(cands)), repeat=len(present)):
        taken = [c for c in choice if c >= 0]
        if len(taken) != len(set(taken)):
            continue
        cost = sum(dist[i, c] if c >= 0 else gate for i, c in enumerate(choice))
        if cost < best_cost:
            best, best_cost = choice, cost
    out = [-1] * len(refs)
    for m, c in zip(present, best or ()):
        out[m] = c
    return out, best_cost


def associate_people(candidates: Sequence[np.ndarray],
                     reference: np.ndarray,
                     max_distance: float = 0.5) -> Tuple[np.ndarray, Dict]:
    """Match estimated people to reference bodies by pelvis distance.

    The two cameras differ (NTU: the RGB camera sits beside the depth camera,
    and a monocular estimate's absolute depth has its own error), so the
    estimates are first aligned by one translation per clip: the median
    offset of a matching without a distance limit. Then, frame by frame,
    each reference body takes the nearest distinct estimated person within
    ``max_distance`` (metres, after alignment) or none.

    Args:
        candidates (Sequence[np.ndarray]): Per frame, ``(P_t, 3)`` pelvis
            positions of the estimated people in detector order, in the
            reference's axes and units.
        reference (np.ndarray): ``(M, T, 3)`` pelvis of the reference bodies,
            NaN where a body is absent.
        max_distance (float): Farthest accepted pair. Defaults to 0.5.

    Returns:
        tuple: ``assign`` ``(M, T)`` (index of the matched person, -1 for
        none) and counts: ``unmatched`` (present reference bodies without a
        person, summed over frames), ``extra`` (people matched to no body),
        ``reordered`` (frames whose matching differs from the detector's
        order), ``offset`` (the alignment, reference minus estimate).
    """
    num_bodies, num_frames = reference.shape[:2]
    if len(candidates) != num_frames:
        raise ValueError(f'{len(candidates)} frames of estimates, the reference '
                         f'has {num_frames}')
    # no distance limit, but an unmatched body costs more than any pair
    first = [_match(reference[:, t], candidates[t], 1e9)[0]
             for t in range(num_frames)]
    diffs = [reference[m, t] - candidates[t][c] for t, assign in enumerate(first)
             for m, c in enumerate(assign) if c >= 0]
    offset = np.median(diffs, axis=0) if diffs else np.zeros(3)
    assign = np.full((num_bodies, num_frames), -1, np.int64)
    counts = dict(unmatched=0, extra=0, reordered=0)
    for t in range(num_frames):
        assign[:, t] = _match(reference[:, t], candidates[t] + offset,
                              max_distance)[0]
        present = np.isfinite(reference[:, t]).all(-1)
        matched = [int(c) for c in assign[:, t] if c >= 0]
        counts['unmatched'] += int((present & (assign[:, t] < 0)).sum())
        counts['extra'] += len(candidates[t]) - len(matched)
        counts['reordered'] += int(matched != list(range(len(matched))))
    counts['offset'] = [float(v) for v in offset]
    return assign, counts


class MultiFormatExtractor(SkeletonExtractor):
    """Several skeleton formats of the same people from one estimator pass.

    For estimators that return several skeleton conventions per frame batch,
    each a fixed linear map of one latent estimate (MeTRAbs: wrap the model
    in :class:`MeTRAbsAdapter`). The estimator is any callable taking a
    ``(B, H, W, 3)`` uint8 RGB batch and returning one dict per image:
    ``{format: (P, V, 3)}`` for every requested format (the same P people in
    every format) and optionally ``'scores'`` ``(P,)``.

    Every estimate is brought into the reference's frame: ``axes`` (a 3x3
    rotation) then ``scale``; the defaults take MeTRAbs' camera space
    (millimetres, x right, y down) to Kinect v2 camera space (metres, x to
    the sensor's left, y up). People become bodies either by detector score
    (no reference) or, given the clip's reference skeleton (NTU's Kinect
    bodies, in the store's order), by :func:`associate_people`; frames where
    the reference has no body are then dropped, as the NTU converter drops
    them, so the output has the store's frame count.

    Args:
        estimator (callable): See above.
        formats (Sequence[str] | dict): Format names (each also the layout),
            or ``{format: layout}``.
        batch_size (int): Frames per estimator call. Defaults to 16.
        max_person (int): Bodies without a reference. Defaults to 2.
        mirror (bool): Flip every frame horizontally before estimation.
            NTU's RGB videos are mirror images of the Kinect's view: flipped,
            the estimator sees the true scene, so its left is Kinect's left.
        scale (float): Multiplies the rotated coordinates (0.001: mm -> m).
        axes (array-like): ``(3, 3)`` rotation into the reference's axes.
            Defaults to :data:`OPENCV_TO_KINECT`.
        reference_layout (str | dict | SkeletonLayout): Layout of the
            reference skeleton. Defaults to ``'kinectv2_25'``.
        anchor (str, optional): The format whose pelvis role is matched.
            Defaults to the first.
        max_distance (float): See :func:`associate_people`.
        max_frames (int, optional): See :class:`SkeletonExtractor`.
        order (str): Without a reference, which people become the bodies:
            ``'score'`` (default: by detector score) or ``'detector'`` (the
            order the estimator returns them, as the MS-CLR authors'
            extraction keeps them).

    Attributes:
        last_report (dict): Counts of the last clip: ``frames`` (read),
            ``no_detection`` (frames without anybody), ``dropped`` (frames
            without a reference body), and with a reference those of
            :func:`associate_people`; without one, ``extra`` (people beyond
            ``max_person``).
    """

    def __init__(self,
                 estimator: Callable,
                 formats: Union[Sequence[str], Dict[str, LayoutLike]],
                 batch_size: int = 16,
                 max_person: int = 2,
                 mirror: bool = False,
                 scale: float = 0.001,
                 axes=OPENCV_TO_KINECT,
                 reference_layout: LayoutLike = 'kinectv2_25',
                 anchor: Optional[str] = None,
                 max_distance: float = 0.5,
                 max_frames: Optional[int] = None,
                 order: str = 'score') -> None:
        super().__init__(max_frames)
        if order not in ('score', 'detector'):
            raise ValueError(f"order must be 'score' or 'detector', got {order!r}")
        self.order = order
        if not isinstance(formats, dict):
            formats = {f: f for f in formats}
        if not formats:
            raise ValueError('no format requested')
        self.estimator = estimator
        self.layouts = {f: get_layout(l) for f, l in formats.items()}
        names = getattr(estimator, 'joint_names', {})
        for fmt, layout in self.layouts.items():
            _check_joint_names(fmt, names.get(fmt), layout)
        self.batch_size = batch_size
        self.max_person = max_person
        self.mirror = mirror
        self.transform = np.asarray(axes, np.float64).T * scale
        if self.transform.shape != (3, 3):
            raise ValueError(f'axes must be 3x3, got {np.shape(axes)}')
        self.reference_layout = get_layout(reference_layout)
        self.anchor = anchor or next(iter(self.layouts))
        if self.anchor not in self.layouts:
            raise KeyError(f'anchor {self.anchor!r} is not a requested format '
                           f'{sorted(self.layouts)}')
        self.max_distance = max_distance
        self.last_report: Dict = {}

    def extract(self, frames_or_video_path: Frames,
                reference: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """Skeletons of a video file (streamed) or of RGB frames.

        Args:
            frames_or_video_path: A video path or ``(T, H, W, 3)`` frames.
            reference (np.ndarray, optional): ``(M, T, V, 3)`` reference
                skeleton of the same frames (zeros where a body is absent).

        Returns:
            dict: ``{format: (M, T', V, 3) float32}``.
        """
        if isinstance(frames_or_video_path, str):
            frames = iter_video(frames_or_video_path, self.max_frames)
        else:
            frames = iter(frames_or_video_path)
        people = []  # per frame: {format: (P, V, 3)} in the reference's frame
        batch = list(itertools.islice(frames, self.batch_size))
        while batch:
            people.extend(self._estimate(batch, len(people)))
            batch = list(itertools.islice(frames, self.batch_size))
        if not people:
            raise ValueError('no frames given')
        return self._bodies(people, reference)

    def _estimate(self, batch: List[np.ndarray], start: int) -> List[Dict]:
        images = np.stack([f[:, ::-1] if self.mirror else f for f in batch])
        results = self.estimator(np.ascontiguousarray(images))
        if len(results) != len(batch):
            raise ValueError(f'the estimator returned {len(results)} results '
                             f'for {len(batch)} frames (from frame {start})')
        out = []
        for t, result in enumerate(results, start):
            item, count = {}, None
            for fmt, layout in self.layouts.items():
                if fmt not in result:
                    raise KeyError(f'frame {t}: the estimator returned no '
                                   f'{fmt!r} (it returned {sorted(result)})')
                pts = np.asarray(_numpy(result[fmt]), np.float64)
                pts = pts.reshape(-1, *pts.shape[-2:]) if pts.size else \
                    np.zeros((0, layout.num_joints, 3))
                if pts.shape[1:] != (layout.num_joints, 3):
                    raise ValueError(f'frame {t}: format {fmt} has shape '
                                     f'{pts.shape}, layout {layout.name} wants '
                                     f'(P, {layout.num_joints}, 3)')
                if count is not None and len(pts) != count:
                    raise ValueError(f'frame {t}: {len(pts)} people in {fmt}, '
                                     f'{count} in another format')
                if not np.isfinite(pts).all():
                    raise ValueError(f'frame {t}: format {fmt} holds NaN')
                count = len(pts)
                item[fmt] = pts @ self.transform
            if self.order == 'score' and 'scores' in result and count:
                order = np.argsort(-_numpy(result['scores']).reshape(-1),
                                   kind='stable')
                item = {f: v[order] for f, v in item.items()}
            out.append(item)
        return out

    def _bodies(self, people: List[Dict],
                reference: Optional[np.ndarray]) -> Dict[str, np.ndarray]:
        num_frames = len(people)
        counts = [len(p[self.anchor]) for p in people]
        report = dict(frames=num_frames, no_detection=sum(c == 0 for c in counts),
                      dropped=0)
        if reference is None:
            assign = np.full((self.max_person, num_frames), -1, np.int64)
            for t, count in enumerate(counts):
                kept = min(count, self.max_person)
                assign[:kept, t] = np.arange(kept)
            report['extra'] = sum(max(c - self.max_person, 0) for c in counts)
            keep = np.ones(num_frames, bool)
        else:
            reference = np.asarray(reference, np.float64)
            if reference.ndim != 4 or reference.shape[1] != num_frames or \
                    reference.shape[2] != self.reference_layout.num_joints:
                raise ValueError(
                    f'reference of shape {reference.shape}, expected (M, '
                    f'{num_frames}, {self.reference_layout.num_joints}, 3) for '
                    f'the {num_frames} frames read')
            present = np.abs(reference[..., :3]).sum(axis=(-1, -2)) > 0
            pelvis = self.reference_layout.role_position(reference[..., :3],
                                                         'pelvis')
            pelvis[~present] = np.nan
            anchor = self.layouts[self.anchor]
            assign, assoc = associate_people(
                [anchor.role_position(p[self.anchor], 'pelvis') for p in people],
                pelvis, self.max_distance)
            report.update(assoc)
            keep = present.any(0)
            report['dropped'] = int((~keep).sum())
        out = {}
        for fmt, layout in self.layouts.items():
            kp = np.zeros((len(assign), num_frames, layout.num_joints, 3),
                          np.float32)
            for m, t in zip(*np.nonzero(assign >= 0)):
                kp[m, t] = people[t][fmt][assign[m, t]]
            out[fmt] = kp[:, keep]
        self.last_report = report
        self.last_missing = report['no_detection']
        return out


def _check_joint_names(fmt: str, names: Optional[Sequence[str]],
                       layout) -> None:
    """An estimator's joint names against the layout: the same names in
    another order is an error. Names from another vocabulary (MeTRAbs
    ``kinectv2_25`` says ``lsho`` where the layout says ``ShoulderLeft``)
    are checked by count only."""
    if names is None:
        return
    if len(names) != layout.num_joints:
        raise ValueError(f'format {fmt}: the estimator has {len(names)} joints, '
                         f'layout {layout.name} {layout.num_joints}')
    ours = [n.lower() for n in layout.joint_names]
    theirs = [n.lower() for n in names]
    if set(ours) == set(theirs) and ours != theirs:
        first = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
        raise ValueError(f'format {fmt}: joint {first} is {names[first]!r} for '
                         f'the estimator, {layout.joint_names[first]!r} in layout '
                         f'{layout.name}: another joint order')
