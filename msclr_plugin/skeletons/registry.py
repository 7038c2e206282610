"""Looking up layouts by name, from config dicts, layout files and mmpose
meta files."""
import copy
import importlib.util
import inspect
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

from .builtin import BUILTIN_LAYOUTS
from .layout import SkeletonLayout, joint_key

LayoutLike = Union[str, dict, SkeletonLayout]

_LAYOUTS: Dict[str, SkeletonLayout] = {}
_USER_SPECS: Dict[str, dict] = {}
LAYOUT_FILE_EXTS = ('.py', '.json', '.yaml', '.yml')
_LAYOUT_FIELDS = tuple(inspect.signature(SkeletonLayout).parameters)


def list_layouts() -> List[str]:
    """Names of the built-in and registered layouts."""
    return sorted(set(BUILTIN_LAYOUTS) | set(_USER_SPECS))


def register_layout(spec: Union[dict, SkeletonLayout],
                    force: bool = False) -> SkeletonLayout:
    """Register a user layout so that it can be referred to by name.

    Args:
        spec (dict | SkeletonLayout): A layout, or the keyword arguments of
            :class:`SkeletonLayout`, or ``dict(mmpose_meta=...)`` (see
            :func:`layout_from_mmpose_meta`).
        force (bool): Replace an existing registration of the same name.
            Built-in names can never be replaced.

    Returns:
        SkeletonLayout: The registered layout.
    """
    layout = spec if isinstance(spec, SkeletonLayout) else _from_dict(spec)
    name = layout.name
    if name in BUILTIN_LAYOUTS:
        if layout != get_layout(name):
            raise ValueError(f'{name!r} is a built-in layout; give your '
                             'layout another name')
        return get_layout(name)
    if name in _USER_SPECS and not force:
        if layout != _LAYOUTS[name]:
            old, new = _LAYOUTS[name].to_dict(), layout.to_dict()
            differ = sorted(k for k in set(old) | set(new)
                            if old.get(k) != new.get(k))
            raise ValueError(
                f'a different layout named {name!r} is already in use '
                f'(they differ in {differ}): a layout file edited after a '
                'store was written with it, or two layouts sharing a name; '
                'rename one (register_layout(..., force=True) replaces it)')
        return _LAYOUTS[name]
    _USER_SPECS[name] = layout.to_dict()
    _LAYOUTS[name] = layout
    return layout


def layout_spec(name: str) -> dict:
    """The plain data (joint names, aliases, ...) of a built-in or registered
    layout, without building it."""
    if name in _USER_SPECS:
        return _USER_SPECS[name]
    if name in BUILTIN_LAYOUTS:
        return BUILTIN_LAYOUTS[name]
    return get_layout(name).to_dict()


def get_layout(layout: LayoutLike) -> SkeletonLayout:
    """Resolve a layout given by name, layout file, config dict or instance.

    A dict or a file (:func:`load_layout_file`) is built and registered under
    its name, so that other components can then refer to it by name; a name
    must be built-in or registered. Every tool and config entry that takes a
    layout goes through here, so all of them take all four forms.
    """
    if isinstance(layout, SkeletonLayout):
        return layout
    if isinstance(layout, dict):
        return register_layout(layout)
    if not isinstance(layout, str):
        raise TypeError(f'a layout is a name, a file, a dict or a '
                        f'SkeletonLayout, got {type(layout).__name__}')
    if layout.lower().endswith(LAYOUT_FILE_EXTS):
        return load_layout_file(layout)
    if layout not in _LAYOUTS:
        if layout in BUILTIN_LAYOUTS:
            _LAYOUTS[layout] = SkeletonLayout(
                name=layout, **copy.deepcopy(BUILTIN_LAYOUTS[layout]))
        else:
            raise KeyError(f'unknown skeleton layout {layout!r}; known: '
                           f'{list_layouts()}. Give your own as a layout file '
                           f'({"/".join(LAYOUT_FILE_EXTS)}) or a dict (see '
                           'docs/skeletons.md).')
    return _LAYOUTS[layout]


def shared_joints(layouts: Sequence[LayoutLike]) -> List[List[int]]:
    """The joints that every layout has, matched by name: one list of joint
    indices per layout, row ``j`` of each being the same joint.

    Names match through :func:`joint_key` (``ShoulderLeft`` =
    ``left_shoulder`` = ``Shoulder_L``) and the layouts' ``aliases``; a name
    that two joints of one layout answer to is left out. In the order of
    the first layout.

    Args:
        layouts (Sequence): Layouts (names, dicts or :class:`SkeletonLayout`).

    Returns:
        list[list[int]]: ``len(layouts)`` index lists of equal length
        (empty when the layouts share no joint name).
    """
    tables = []
    for layout in map(get_layout, layouts):
        owners: Dict[str, set] = {}
        for index, name in enumerate(layout.joint_names):
            for key in {joint_key(n) for n in (name, *layout.aliases.get(name, ()))}:
                owners.setdefault(key, set()).add(index)
        tables.append({k: v.pop() for k, v in owners.items() if len(v) == 1})
    # one joint per key and per layout, each joint under one key at most
    keys = [k for k in tables[0] if all(k in t for t in tables)]
    firsts, rows = set(), []
    for key in sorted(keys, key=lambda k: tables[0][k]):
        row = [t[key] for t in tables]
        if row[0] not in firsts:
            firsts.add(row[0])
            rows.append(row)
    return [list(col) for col in zip(*rows)] if rows else [[] for _ in tables]


def load_layout_file(path: str) -> SkeletonLayout:
    """Build and register the layout held by a file.

    The file holds the keyword arguments of :class:`SkeletonLayout` (or
    ``mmpose_meta=...``), either at its top level or under a key ``layout``:
    a ``.json`` or ``.yaml``/``.yml`` file (read as plain data: loading it
    runs no code) or a ``.py`` file read like an mmengine config (it runs as
    Python, as configs do). ``name`` defaults to the file name without its
    extension.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a layout; the message names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'layout file {path} does not exist')
    ext = osp.splitext(path)[1].lower()
    try:
        if ext == '.json':
            with open(path) as f:
                spec = json.load(f)
        elif ext == '.py':
            from mmengine.config import Config
            spec = Config.fromfile(path).to_dict()
        else:
            import yaml
            with open(path) as f:
                spec = yaml.safe_load(f)
    except Exception as err:  # parsers raise many types
        raise ValueError(f'layout file {path}: cannot read it '
                         f'({type(err).__name__}: {err})') from None
    if isinstance(spec, dict) and isinstance(spec.get('layout'), dict):
        spec = spec['layout']
    if not isinstance(spec, dict):
        raise ValueError(f'layout file {path}: expected a mapping of layout '
                         f'fields, got {type(spec).__name__}')
    spec = dict(spec)
    spec.setdefault('name', osp.splitext(osp.basename(path))[0])
    try:
        return register_layout(spec)
    except (KeyError, ValueError, TypeError, IndexError) as err:
        msg = err.args[0] if err.args else err
        raise ValueError(f'layout file {path}: {msg}') from None


def _from_dict(spec: dict) -> SkeletonLayout:
    spec = dict(spec)
    if 'mmpose_meta' in spec:
        return layout_from_mmpose_meta(spec.pop('mmpose_meta'), **spec)
    missing = {'name', 'joint_names', 'edges', 'center'} - set(spec)
    if missing:
        raise KeyError(f'layout dict {spec.get("name", "")!r} lacks '
                       f'{sorted(missing)}')
    unknown = set(spec) - set(_LAYOUT_FIELDS)
    if unknown:
        raise KeyError(f'layout dict {spec["name"]!r}: unknown fields '
                       f'{sorted(unknown)}; fields: {list(_LAYOUT_FIELDS)}')
    return SkeletonLayout(**spec)


def _mmpose_meta_file(source: str) -> str:
    if osp.isfile(source):
        return source
    spec = importlib.util.find_spec('mmpose')  # locates, does not import
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f'{source!r} is neither a file nor resolvable: mmpose is not '
            'installed (pip install --no-deps mmpose==1.3.2, see '
            'docs/install.md), or pass the path of a dataset meta file')
    path = osp.join(
        osp.dirname(spec.origin), '.mim', 'configs', '_base_', 'datasets',
        f'{source}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'mmpose has no dataset meta {source!r} '
                                f'({path} does not exist)')
    return path


def layout_from_mmpose_meta(source: str,
                            name: Optional[str] = None,
                            center: Union[int, str, None] = None,
                            roles: Optional[dict] = None,
                            **kwargs) -> SkeletonLayout:
    """Build a layout from an mmpose dataset meta file.

    The file is read as a plain config (``dataset_info`` with
    ``keypoint_info``, ``skeleton_info`` and the ``swap`` names), so mmpose's
    models, and their dependencies, are never imported.

    Args:
        source (str): A dataset name under mmpose's
            ``.mim/configs/_base_/datasets`` (e.g. ``'coco_wholebody'``,
            ``'halpe26'``, ``'h36m'``) or the path of such a file.
        name (str, optional): Layout name. Defaults to
            ``'mmpose_<dataset_name>'``.
        center (int | str, optional): Centre joint. Defaults to the graph
            centre (least eccentricity; ties to the lowest index) of the
            component holding joint 0.
        roles (dict, optional): Semantic anchors, see :class:`SkeletonLayout`.
        **kwargs: Passed on to :class:`SkeletonLayout`.
    """
    from mmengine.config import Config
    path = _mmpose_meta_file(source)
    info = Config.fromfile(path)['dataset_info']
    keypoints = sorted(info['keypoint_info'].values(), key=lambda k: k['id'])
    names = [k['name'] for k in keypoints]
    index = {n: i for i, n in enumerate(names)}
    flip = [index[k['swap']] if k.get('swap') else k['id'] for k in keypoints]
    edges = []
    for link in info.get('skeleton_info', {}).values():
        a, b = link['link']
        if frozenset((a, b)) not in {frozenset(e) for e in edges}:
            edges.append((a, b))
    if name is None:
        name = f"mmpose_{info.get('dataset_name', osp.basename(path)[:-3])}"
    if center is None:
        probe = SkeletonLayout(name, names, edges, 0, flip,
                               required_roles=(), verbose=False)
        comp = probe.components[0]
        ecc = probe.hop_distance[comp][:, comp].max(axis=1)
        center = comp[int(ecc.argmin())]
    return SkeletonLayout(
        name,
        names,
        edges,
        center,
        flip,
        roles=roles,
        description=kwargs.pop('description', f'mmpose dataset meta {path}'),
        **kwargs)
