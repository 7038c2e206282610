"""Label new clips with a trained probe (frozen encoder + linear head).

:class:`SkeletonLabeller` takes a linear-evaluation config and a checkpoint
of it (``tools/train.py <linear config>``: ``backbone.*`` and
``cls_head.*``) and labels clips of a store, skeleton arrays of any layout
and videos (through the offline MediaPipe extractor). Every input takes the
path of the config's test data: arrays and videos are first written into a
temporary store made like the training store (the same conventions, units
and body normalisation as recorded in its ``index.json``), then read by the
config's test dataset and pipeline, so a clip labelled from a file gets
exactly the scores it gets as a store clip. Class names come from the
store.
"""
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from mmaction.registry import DATASETS, MODELS
from msclr_plugin.data_prep.common import StoreBuilder
from msclr_plugin.data_prep.video import MediaPipeExtractor
from msclr_plugin.datasets.body_frame import source_frame
from msclr_plugin.datasets.store import SkeletonStore
from msclr_plugin.skeletons import JointRegressor, get_layout
from msclr_plugin.skeletons.registry import LayoutLike

VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mov', '.mkv', '.webm', '.mpg', '.mpeg')


class SkeletonLabeller:
    """A trained probe that labels skeleton clips.

    Args:
        config (str | Config): Linear-evaluation config; its
            ``test_dataloader.dataset`` (store, ``mode``: the reference
            convention, or ``'all'`` for the ensemble) and pipeline are used.
        checkpoint (str): Checkpoint of that config's model (every weight
            of encoder and head, as ``tools/train.py`` saves it).
        store (str, optional): Store whose class names, conventions and
            normalisation are used (and whose clips :meth:`label_store`
            reads). Defaults to the config's test store.
        device (str): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Merged into the config.
    """

    def __init__(self, config, checkpoint: str, store: Optional[str] = None,
                 device: str = 'cpu', cfg_options: Optional[dict] = None) -> None:
        cfg = config if isinstance(config, Config) else Config.fromfile(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if cfg.get('test_dataloader') is None or 'cls_head' not in cfg.model:
            raise ValueError(f'{cfg.filename}: not a linear-evaluation config '
                             '(needs model.cls_head and test_dataloader)')
        self.cfg = cfg
        self.scope = cfg.get('default_scope', 'mmaction')
        with DefaultScope.overwrite_default_scope(self.scope):
            self.model = MODELS.build(cfg.model)
        # every weight from the checkpoint: the encoder's Pretrained init is
        # not run
        load_checkpoint(self.model, checkpoint, map_location='cpu', strict=True,
                        logger='silent')
        self.model.to(device).eval()
        self.data_cfg = cfg.test_dataloader.dataset.to_dict()
        self.store_path = store or self.data_cfg.get('ann_file')
        if not self.store_path or not osp.isdir(self.store_path):
            raise FileNotFoundError(
                f'{self.store_path}: no store for the class names (give '
                "--store, or the config's test_dataloader.dataset.ann_file)")
        self.store = SkeletonStore(self.store_path)
        self.classes = self.store.classes
        self.conventions = list(self.model.backbone.names)
        self.mode = self.data_cfg.get('mode') or 'reference'
        self.batch_size = cfg.test_dataloader.get('batch_size', 16)

    # ------------------------------------------------------------ results
    def class_name(self, label: int) -> str:
        return self.classes[label] if self.classes else f'class {label}'

    def _top(self, clip: str, scores: torch.Tensor, label, topk: int) -> dict:
        scores = scores.float().cpu()
        values, indices = scores.topk(min(topk, scores.numel()))
        return dict(
            clip=clip,
            label=None if label is None else self.class_name(int(label)),
            scores=scores.numpy(),
            top=[(int(i), self.class_name(int(i)), float(v))
                 for v, i in zip(values, indices)])

    # -------------------------------------------------------------- store
    def _label_dataset(self, dataset_cfg: dict, clips: Optional[Sequence[str]],
                       topk: int, labelled: bool) -> List[dict]:
        with DefaultScope.overwrite_default_scope(self.scope):
            dataset = DATASETS.build(dataset_cfg)
        names = dataset.clip_names
        if clips is None:
            positions = list(range(len(names)))
        else:
            where = {n: i for i, n in enumerate(names)}
            unknown = [c for c in clips if c not in where]
            if unknown:
                raise KeyError(
                    f'{dataset_cfg["ann_file"]} (split '
                    f'{dataset_cfg.get("split")}): no clip {unknown[0]!r} '
                    f'({len(names)} clips, e.g. {names[:3]})')
            positions = [where[c] for c in clips]
        out = []
        with torch.no_grad():
            for start in range(0, len(positions), self.batch_size):
                chunk = positions[start:start + self.batch_size]
                samples = self.model.test_step(
                    pseudo_collate([dataset[p] for p in chunk]))
                for p, sample in zip(chunk, samples):
                    out.append(self._top(names[p], sample.pred_score,
                                         dataset.labels[p] if labelled else None,
                                         topk))
        return out

    def label_store(self, clips: Optional[Sequence[str]] = None,
                    split: Optional[str] = None, topk: int = 5) -> List[dict]:
        """Label clips of the store (by name, or every clip of ``split``, or
        every clip), as the config tests them (its ``mode``).

        Returns:
            list[dict]: Per clip ``clip``, ``label`` (its class name in the
            store), ``scores`` (the prediction, ``(num_classes,)``) and
            ``top``: ``[(class index, class name, score), ...]``.
        """
        cfg = dict(self.data_cfg, ann_file=self.store_path, split=split,
                   label_fraction=None)
        return self._label_dataset(cfg, clips, topk, labelled=True)

    # ------------------------------------------------------------- arrays
    def layout_of(self, conv: str):
        return self.store.layout(conv) if conv in self.store.conventions \
            else get_layout(conv)

    def targets(self, layout: LayoutLike) -> Dict[str, JointRegressor]:
        """The model's conventions a clip in ``layout`` is given in, each
        with its regressor: the test convention (or every reachable one for
        the ``'all'`` ensemble), else the first convention reachable by
        :meth:`JointRegressor.between`."""
        layout = get_layout(layout)
        reachable = {}
        for conv in self.conventions:
            try:
                reachable[conv] = JointRegressor.between(layout, self.layout_of(conv))
            except (KeyError, ValueError):
                continue
        if not reachable:
            raise ValueError(
                f'layout {layout.name}: no regressor chain to any convention of '
                f'the model {self.conventions} (docs/skeletons.md, "Regressors '
                'between conventions": name the joints like a built-in layout)')
        if self.mode == 'all':
            return reachable
        test = self.mode
        if test == 'reference':
            convs = self.data_cfg.get('conventions') or list(self.store.conventions)
            test = self.data_cfg.get('reference') or (
                convs[0]['name'] if isinstance(convs[0], dict) else convs[0])
        if test in reachable:
            return {test: reachable[test]}
        first = next(iter(reachable))
        return {first: reachable[first]}

    def label_arrays(self, clips: Dict[str, np.ndarray], layout: LayoutLike,
                     scale: float = 1.0, up: str = '+y', mirror: bool = False,
                     topk: int = 5) -> List[dict]:
        """Label skeleton arrays ``{clip name: (M, T, V, C)}`` of ``layout``
        in the source frame ``scale`` / ``up`` / ``mirror`` (as the
        converters' options). They are regressed to the model's conventions
        (:meth:`targets`), written to a temporary store with the training
        store's normalisation and labelled as store clips.

        Raises:
            ValueError: a clip the store builder rejects (NaN, all zeros,
                wrong joint count), naming it and why.
        """
        targets = self.targets(layout)
        src = dict(scale=scale, up=up, mirror=mirror)
        source_frame(**src)  # a bad up axis fails here, naming it
        specs = {
            conv: dict(layout=self.layout_of(conv), source=src,
                       normalize=self.store.conventions.get(conv, {}).get('normalize'))
            for conv in targets}
        with tempfile.TemporaryDirectory(prefix='msclr_infer_') as tmp:
            builder = StoreBuilder(tmp, specs)
            for name, kp in clips.items():
                kp = np.asarray(kp, np.float32)
                if builder.add(name, 0, {c: reg(kp) for c, reg in
                                         targets.items()}) is None:
                    item = builder.report.items[-1]
                    raise ValueError(f'clip {name}: {item["reason"]}')
            builder.finish(check=False)
            mode = 'all' if self.mode == 'all' else next(iter(targets))
            cfg = dict(self.data_cfg, ann_file=tmp, split=None,
                       conventions=list(targets), mode=mode, reference=None,
                       label_fraction=None)
            return self._label_dataset(cfg, list(clips), topk, labelled=False)

    # -------------------------------------------------------------- video
    def label_video(self, path: str, mirror: bool = False,
                    max_frames: Optional[int] = None,
                    topk: int = 5) -> Tuple[dict, np.ndarray]:
        """Label a video through MediaPipe Pose (``blazepose_33`` world
        landmarks: metres, y down).

        Args:
            path (str): The video.
            mirror (bool): The video is a mirror image (NTU's RGB videos):
                frames are flipped for detection (:class:`MediaPipeExtractor`).
            max_frames (int, optional): Read at most this many frames.

        Returns:
            tuple: The prediction (as :meth:`label_store`'s, plus
            ``missing``: frames without a person) and the image landmarks
            ``(T, 33, 4)`` (normalised x, y of the video's pixels, z,
            visibility) for drawing.

        Raises:
            ValueError: no person found in any frame.
        """
        extractor = MediaPipeExtractor(mirror=mirror, image=True,
                                       max_frames=max_frames)
        skeletons = extractor.extract(path)
        frames = skeletons['blazepose_33'].shape[1]
        if extractor.last_missing == frames:
            raise ValueError(f'{path}: MediaPipe found no person in its '
                             f'{frames} frames')
        name = osp.splitext(osp.basename(path))[0]
        pred = self.label_arrays({name: skeletons['blazepose_33'][..., :3]},
                                 'blazepose_33', up='-y', topk=topk)[0]
        pred['missing'] = extractor.last_missing
        return pred, skeletons['blazepose_33_image'][0]


def draw_video(video: str, landmarks: np.ndarray, text: Sequence[str],
               out: str, layout: LayoutLike = 'blazepose_33') -> int:
    """Write ``video`` with the skeleton and ``text`` lines drawn on every
    frame (mmaction2's skeleton demo), as ``out`` (``.mp4``/``.avi``).

    Args:
        video (str): The input video.
        landmarks (np.ndarray): ``(T, V, >=2)`` normalised image
            coordinates per frame; a frame of zeros (nobody) is not drawn.
        text (Sequence[str]): Lines written at the top left.
        out (str): Output file.
        layout: The landmarks' layout (its bones are drawn).

    Returns:
        int: Frames written.
    """
    import cv2

    from msclr_plugin.data_prep.video import iter_video
    edges = get_layout(layout).edges
    cap = cv2.VideoCapture(video)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    writer, count = None, 0
    for t, frame in enumerate(iter_video(video, len(landmarks))):
        frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        h, w = frame.shape[:2]
        if writer is None:
            codec = 'mp4v' if out.endswith('.mp4') else 'MJPG'
            writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*codec), fps,
                                     (w, h))
            if not writer.isOpened():
                raise ValueError(f'{out}: cannot write a video here')
        thick = max(2, round(h / 270))
        if np.abs(landmarks[t, :, :2]).sum() > 0:
            pts = np.round(landmarks[t, :, :2] * (w, h)).astype(int)
            for a, b in edges:
                cv2.line(frame, tuple(pts[a]), tuple(pts[b]), (0, 255, 0), thick)
            for p in pts:
                cv2.circle(frame, tuple(p), thick + 1, (0, 0, 255), -1)
        for i, line in enumerate(text):
            y = int((i + 1) * 1.6 * 12 * thick)
            cv2.putText(frame, line, (10, y), cv2.FONT_HERSHEY_SIMPLEX, thick / 3,
                        (255, 255, 255), thick, cv2.LINE_AA)
        writer.write(frame)
        count += 1
    if writer is not None:
        writer.release()
    return count
