"""Video -> skeletons through pluggable pose extractors.

``SkeletonExtractor.extract(frames_or_video_path)`` returns
``{convention: (M, T, V, C) float32}``. Frames where nobody is detected are
zero-filled and counted in ``extractor.last_missing``.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from msclr_plugin.skeletons import get_layout
from msclr_plugin.skeletons.registry import LayoutLike

Frames = Union[str, Sequence[np.ndarray], np.ndarray]


def read_video(path: str, max_frames: Optional[int] = None) -> List[np.ndarray]:
    """Decode a video into RGB ``(H, W, 3)`` uint8 frames with OpenCV."""
    import cv2
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f'{path}: cannot open video')
    frames = []
    try:
        while max_frames is None or len(frames) < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise ValueError(f'{path}: no frame could be decoded')
    return frames


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
