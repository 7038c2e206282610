"""mmaction2 / pyskl skeleton annotation pickles -> skeleton store.

Input (e.g. ``ntu60_3danno.pkl``): ``{'split': {name: [frame_dir, ...]},
'annotations': [{'frame_dir', 'label', 'keypoint' (M, T, V, C),
'total_frames', ...}]}``. The file is read with a restricted unpickler
(:func:`~msclr_plugin.datasets.safe_pickle.load_pickle`: numpy arrays and
built-in containers only), so a crafted pickle cannot run code.
"""
import pickle
from typing import Dict, Optional, Sequence, Union

import numpy as np

from msclr_plugin.datasets.body_frame import source_frame
from msclr_plugin.datasets.safe_pickle import UnsafePickleError, load_pickle
from msclr_plugin.datasets.store import label_problem
from msclr_plugin.skeletons import get_layout
from msclr_plugin.skeletons.registry import LayoutLike

from .common import ConversionError, StoreBuilder, fit_persons


def _label_index(label, classes: Optional[Sequence[str]],
                 num_classes: Optional[int], where: str) -> int:
    """An annotation's label as a class index, or ConversionError."""
    if isinstance(label, (str, np.str_)):
        if not classes:
            raise ConversionError(
                f'{where}: label {label!r} is a name; give the class list '
                '(classes=[...], --classes FILE) to map names to indices',
                'string label without a class list')
        if label not in classes:
            raise ConversionError(f'{where}: label {label!r} is not in the '
                                  'class list', 'unknown class')
        return list(classes).index(label)
    if isinstance(label, (bool, np.bool_)) or \
            not isinstance(label, (int, np.integer)):
        raise ConversionError(f'{where}: label {label!r} is not an integer',
                              'bad label')
    if label < 0 or (num_classes is not None and label >= num_classes):
        raise ConversionError(f'{where}: {label_problem(label, num_classes)}',
                              'label out of range')
    return int(label)


def import_mmaction_pkl(pkl: str,
                        out: str,
                        layout: LayoutLike = 'kinectv2_25',
                        convention: Optional[str] = None,
                        num_person: int = 2,
                        with_score: bool = False,
                        classes: Optional[Sequence[str]] = None,
                        num_classes: Optional[int] = None,
                        source: Optional[dict] = None,
                        preprocess: Union[str, dict, None] = 'none',
                        check: bool = True,
                        progress=None) -> Dict:
    """Import an mmaction2-style annotation pickle into a store.

    Args:
        pkl (str): The pickle file.
        out (str): Output store directory.
        layout (str | dict | SkeletonLayout): Layout of ``keypoint``
            (``'kinectv2_25'`` for NTU 3D, ``'coco'`` for 2D HRNet).
        convention (str, optional): Convention name in the store. Defaults to
            the layout's name.
        num_person (int): Bodies per clip (padded with zeros / cut).
        with_score (bool): Append ``keypoint_score`` as a last channel when
            present (2D annotations).
        classes (Sequence[str], optional): Class names: string labels map
            through them, integer labels must index them.
        num_classes (int, optional): Class count when there are no names;
            labels outside ``[0, num_classes)`` are skipped.
        source (dict, optional): Units and axes of 3D ``keypoint``
            (:func:`~msclr_plugin.datasets.body_frame.source_frame` keys);
            None: already Kinect-like (metres, y up), as NTU's.
        preprocess (str | dict): Body normalisation (3D only).
        check (bool): Run the store checker at the end. Defaults to True.
        progress (callable, optional): Wraps the annotation iterator.

    Returns:
        dict: ``kept``, ``skipped`` (:class:`SkipReport`), ``index``,
        ``check``.

    Raises:
        ConversionError: the file is not such a pickle, or refers to a
        global other than numpy arrays and built-in containers (named).
    """
    layout = get_layout(layout)
    convention = convention or layout.name
    try:
        data = load_pickle(pkl)
    except UnsafePickleError as err:
        raise ConversionError(str(err)) from None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError,
            ImportError, ValueError, TypeError) as err:
        raise ConversionError(f'{pkl}: cannot load pickle ({err})') from None
    if not isinstance(data, dict) or 'annotations' not in data:
        raise ConversionError(f'{pkl}: expected a dict with "annotations" '
                              f'(and "split"), got {type(data).__name__}')
    moved = source and source_frame(**source) != source_frame()
    if with_score and (moved or preprocess not in (None, 'none')):
        raise ValueError('2D keypoints with scores: source axes and body '
                         'normalisation apply to 3D keypoints only')
    builder = StoreBuilder(
        out, {
            convention:
            dict(layout=layout, source=source, coords=2 if with_score else None)
        },
        normalize=preprocess,
        classes=classes,
        num_classes=num_classes,
        tool='tools/data/import_mmaction_pkl.py',
        source_options=True)
    num_classes = len(classes) if classes else num_classes
    index_of = {}
    annos = data['annotations']
    for anno in (progress(annos) if progress else annos):
        name = str(anno.get('frame_dir', f'#{len(index_of)}')) \
            if isinstance(anno, dict) else f'#{len(index_of)}'
        where = f'{pkl}, clip {name}, convention {convention}'
        try:
            if not isinstance(anno, dict) or 'keypoint' not in anno or \
                    'label' not in anno:
                raise ConversionError(f'{where}: lacks "keypoint" or "label"',
                                      'bad annotation')
            label = _label_index(anno['label'], classes, num_classes, where)
            kp = np.asarray(anno['keypoint'], dtype=np.float32)
            if with_score and 'keypoint_score' in anno:
                kp = np.concatenate(
                    [kp, np.asarray(anno['keypoint_score'], np.float32)[..., None]], -1)
            total = anno.get('total_frames')
            if total is not None and kp.ndim == 4 and int(total) != kp.shape[1]:
                raise ConversionError(f'{where}: total_frames {total} but '
                                      f'keypoint has {kp.shape[1]} frames',
                                      'bad annotation')
            if name in index_of:
                raise ConversionError(f'{where}: duplicate frame_dir',
                                      'bad annotation')
            if kp.ndim == 4:
                kp = fit_persons(kp, num_person)
        except (ConversionError, ValueError, TypeError) as err:
            builder.skip(name, str(err), getattr(err, 'kind', None) or 'bad annotation')
            continue
        idx = builder.add(name, label, {convention: kp}, pkl)
        if idx is not None:
            index_of[name] = idx
    splits = {}
    for split, names in (data.get('split') or {}).items():
        missing = [n for n in names if n not in index_of]
        splits[split] = [index_of[n] for n in names if n in index_of]
        if missing:
            builder.skip(
                f'split {split}', f'{len(missing)} clips of split '
                f'{split} are not in the store (first: {missing[0]})',
                'split refers to a skipped/absent clip')
    return builder.finish(
        splits, meta=dict(source=f'mmaction2 pickle {pkl}'), check=check)
