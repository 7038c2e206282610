"""t-SNE map of a checkpoint's embeddings, by class and by convention.

The clips of the config's test (or val) dataset, a ``MultiSkeletonDataset``,
are embedded in every convention it holds (the dataset is switched to mode
``'single'``: each clip once per convention) by the model's backbone, pooled
as ``tools/knn_eval.py`` does; at most ``--max-points`` points (a seeded
random choice of clips, all conventions of each) go through an exact t-SNE.
Two panels side by side: points coloured by class, and by convention (one
marker each). Next to the PNG, ``<out>.npz`` holds ``coords`` (N, 2),
``labels``, ``conventions`` and ``clip_names``.

Example:
    python tools/analysis/plot_embeddings.py \
        configs/msclr/linear/linear_ms_aimclr_msr3d_xsub.py \
        work_dirs/exp1/ms_aimclr/epoch_8.pth --out docs/figures/tsne_ms_aimclr.png
"""
import argparse
import os
import os.path as osp

import matplotlib
import numpy as np
from mmengine.config import Config
from mmengine.runner import Runner
from torch.utils.data import Subset

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from mmaction.registry import DATASETS
from msclr_plugin.datasets import MultiSkeletonDataset
from msclr_plugin.evaluation.knn import (extract_features, load_model,
                                         sequential_loader_cfg)
from msclr_plugin.utils.cli import add_cfg_options
from msclr_plugin.visualization import tsne

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

MARKERS = 'osD^vP*Xph<>'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument(
        '--split-dataloader',
        choices=['test', 'val'],
        default='test',
        help='embed the dataset of test_dataloader or val_dataloader')
    parser.add_argument(
        '--max-points',
        type=int,
        default=2000,
        help='points at most (clips x conventions); exact t-SNE is O(N^2)')
    parser.add_argument('--perplexity', type=float, default=30.)
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the clip choice and map')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def choose_items(dataset: MultiSkeletonDataset, max_points: int,
                 seed: int) -> np.ndarray:
    """Indices of a 'single'-mode dataset: every convention of a seeded
    random choice of at most ``max_points // num_conventions`` clips.

    Args:
        dataset (MultiSkeletonDataset): In mode ``'single'``.
        max_points (int): Items at most.
        seed (int): Seed of the choice.

    Returns:
        np.ndarray: Sorted item indices (convention-major).
    """
    num_conv, num_clips = len(dataset.conv_names), dataset.num_clips
    keep = min(num_clips, max_points // num_conv)
    if keep < 1:
        raise SystemExit(f'error: --max-points {max_points} is below the '
                         f'{num_conv} conventions of one clip')
    clips = np.sort(
        np.random.default_rng(seed).choice(num_clips, keep, replace=False))
    return (np.arange(num_conv)[:, None] * num_clips + clips).ravel()


def draw(coords: np.ndarray, labels: np.ndarray, conventions: np.ndarray,
         class_names, title: str, out: str) -> None:
    """Two scatter panels of a 2-D map: by class and by convention.

    Args:
        coords (np.ndarray): ``(N, 2)`` map.
        labels (np.ndarray): ``(N,)`` class indices.
        conventions (np.ndarray): ``(N,)`` convention names.
        class_names (Sequence[str], optional): Names by class index.
        title (str): Figure title.
        out (str): PNG path.
    """
    classes = np.unique(labels)
    # tab20 keeps neighbouring classes distinct; beyond 20, sample a
    # continuous map
    cmap = plt.get_cmap('tab20' if len(classes) <= 20 else 'turbo',
                        max(len(classes), 2))
    fig, (by_class, by_conv) = plt.subplots(1, 2, figsize=(15, 6.5))
    for i, c in enumerate(classes):
        name = f'{c}: {class_names[c]}' if class_names else str(c)
        sel = labels == c
        by_class.scatter(*coords[sel].T, s=8, color=cmap(i), label=name)
    by_class.set_title('by class')
    by_class.legend(
        loc='upper left', bbox_to_anchor=(1, 1), fontsize=6, markerscale=1.5,
        ncol=int(np.ceil(len(classes) / 25)), title='class')
    for i, conv in enumerate(dict.fromkeys(conventions)):
        sel = conventions == conv
        by_conv.scatter(*coords[sel].T, s=10, alpha=0.6,
                        marker=MARKERS[i % len(MARKERS)], color=f'C{i % 10}',
                        label=conv)
    by_conv.set_title('by convention')
    by_conv.legend(loc='best', fontsize=8, markerscale=1.5)
    for ax in (by_class, by_conv):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    key = f'{args.split_dataloader}_dataloader'
    if cfg.get(key) is None:
        raise SystemExit(f'error: {args.config} has no {key}')
    model = load_model(cfg, args.checkpoint, args.device)
    loader_cfg = sequential_loader_cfg(cfg[key])
    dataset = DATASETS.build(dict(loader_cfg['dataset'], mode='single'))
    if not isinstance(dataset, MultiSkeletonDataset):
        raise SystemExit(f'error: the {key} dataset is a '
                         f'{type(dataset).__name__}, not a '
                         'MultiSkeletonDataset')
    dataset.full_init()
    indices = choose_items(dataset, args.max_points, args.seed)
    loader_cfg['dataset'] = Subset(dataset, indices.tolist())
    feats, labels = extract_features(model, Runner.build_dataloader(loader_cfg))
    conventions = np.asarray(dataset.conv_names)[dataset.pairs_of(indices)[0]]
    try:
        coords = tsne(feats.numpy(), args.perplexity, seed=args.seed)
    except ValueError as err:
        raise SystemExit(f'error: {err}')

    ckpt = osp.join(osp.basename(osp.dirname(osp.abspath(args.checkpoint))),
                    osp.basename(args.checkpoint))
    title = (f'{cfg.model.type} {ckpt} ({osp.basename(args.config)}): '
             f'{len(indices) // len(dataset.conv_names)} '
             f'{args.split_dataloader} clips x {len(dataset.conv_names)} '
             f'conventions, t-SNE perplexity {args.perplexity:g}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    draw(coords, labels.numpy(), conventions,
         dataset.metainfo.get('classes'), title, args.out)
    np.savez(
        osp.splitext(args.out)[0] + '.npz',
        coords=coords,
        labels=labels.numpy(),
        conventions=conventions,
        clip_names=np.asarray(
            [dataset.clip_names[i % dataset.num_clips] for i in indices]))
    print(f'{len(coords)} points -> {args.out}')
    return dict(coords=coords, labels=labels.numpy(), conventions=conventions)


if __name__ == '__main__':
    main()
