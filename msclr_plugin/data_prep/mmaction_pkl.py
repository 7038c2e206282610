"""mmaction2 / pyskl skeleton annotation pickles -> skeleton store.

Input (e.g. ``ntu60_3danno.pkl``): ``{'split': {name: [frame_dir, ...]},
'annotations': [{'frame_dir', 'label', 'keypoint' (M, T, V, C),
'total_frames', ...}]}``. Pickles execute code when loaded: only import
files you trust (mmaction2's own loader has the same requirement).
"""
import pickle
from typing import Dict, Optional

import numpy as np

from msclr_plugin.skeletons import get_layout
from msclr_plugin.skeletons.registry import LayoutLike

from .common import ConversionError, SkipReport, check_keypoint


def _fit_persons(kp: np.ndarray, num_person: int) -> np.ndarray:
    """Pad with zero bodies or cut to ``num_person`` (the store needs one M
    per convention)."""
    if kp.shape[0] >= num_person:
        return kp[:num_person]
    pad = np.zeros((num_person - kp.shape[0], ) + kp.shape[1:], kp.dtype)
    return np.concatenate([kp, pad])


def import_mmaction_pkl(pkl: str,
                        out: str,
                        layout: LayoutLike = 'kinectv2_25',
                        convention: Optional[str] = None,
                        num_person: int = 2,
                        with_score: bool = False,
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
        progress (callable, optional): Wraps the annotation iterator.

    Returns:
        dict: ``kept``, ``skipped`` (:class:`SkipReport`), ``index``.

    Raises:
        ConversionError: the file is not such a pickle.
    """
    from msclr_plugin.datasets.store import SkeletonStoreWriter
    layout = get_layout(layout)
    convention = convention or layout.name
    try:
        with open(pkl, 'rb') as f:
            data = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError) as err:
        raise ConversionError(f'{pkl}: cannot load pickle ({err})') from None
    if not isinstance(data, dict) or 'annotations' not in data:
        raise ConversionError(f'{pkl}: expected a dict with "annotations" '
                              f'(and "split"), got {type(data).__name__}')
    report = SkipReport()
    writer = SkeletonStoreWriter(out, {convention: layout.name})
    index_of = {}
    annos = data['annotations']
    for anno in (progress(annos) if progress else annos):
        name = str(anno.get('frame_dir', f'#{len(index_of)}'))
        where = f'{pkl}, clip {name}, convention {convention}'
        try:
            if 'keypoint' not in anno or 'label' not in anno:
                raise ConversionError(f'{where}: lacks "keypoint" or "label"')
            kp = np.asarray(anno['keypoint'], dtype=np.float32)
            if with_score and 'keypoint_score' in anno:
                kp = np.concatenate(
                    [kp, np.asarray(anno['keypoint_score'], np.float32)[..., None]], -1)
            kp = check_keypoint(kp, layout, where)
            total = anno.get('total_frames')
            if total is not None and int(total) != kp.shape[1]:
                raise ConversionError(f'{where}: total_frames {total} but '
                                      f'keypoint has {kp.shape[1]} frames')
            if name in index_of:
                raise ConversionError(f'{where}: duplicate frame_dir')
        except ConversionError as err:
            report.add(name, str(err), 'bad annotation')
            continue
        index_of[name] = writer.add(name, int(anno['label']),
                                    {convention: _fit_persons(kp, num_person)})
    splits = {}
    for split, names in (data.get('split') or {}).items():
        missing = [n for n in names if n not in index_of]
        splits[split] = [index_of[n] for n in names if n in index_of]
        if missing:
            report.add(
                f'split {split}', f'{len(missing)} clips of split '
                f'{split} are not in the store (first: {missing[0]})',
                'split refers to a skipped/absent clip')
    writer.set_splits(splits)
    writer.skipped = report.items
    writer.meta = dict(source=f'mmaction2 pickle {pkl}')
    kept = len(writer.clip_names)
    return dict(kept=kept, skipped=report, index=writer.close())
