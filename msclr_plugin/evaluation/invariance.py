"""What the input alone gives, and how alike a clip's conventions look.

The raw-joints control (issue 21): the evaluation pipeline's output (the
resampled, centred coordinates), with no encoder, as the features of kNN
and the linear probe, and the joints two conventions share by name
(:func:`msclr_plugin.skeletons.shared_joints`) as those of cross-convention
retrieval. Invariance diagnostics of any features: a convention-identity
probe (can a linear classifier tell the convention from the feature?), its
nonlinear counterpart (do a clip's nearest neighbours come from every
convention?), the mean cosine of a clip's renderings against that of other
clips, and a per-convention centring of features that removes what a mean
offset alone tells apart.
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.runner import Runner

from msclr_plugin.datasets.collate import batch_labels
from msclr_plugin.skeletons import shared_joints
from .knn import sequential_loader_cfg

Features = Dict[str, Tuple[torch.Tensor, torch.Tensor]]


def extract_convention_inputs(loader_cfg: dict,
                              conventions: Sequence[str]) -> Features:
    """The pipeline outputs of every clip of a dataloader's dataset, once per
    convention, in dataset order (row ``i`` is the same clip in every
    convention), without a model.

    Args:
        loader_cfg (dict): A dataloader config of a
            :class:`MultiSkeletonDataset` with an un-augmented pipeline; its
            ``mode`` is replaced by each convention in turn.
        conventions (Sequence[str]): Conventions to read.

    Returns:
        dict: ``{convention: (inputs (N, M, T, V, C), labels (N,))}``.
    """
    out = {}
    for conv in conventions:
        cfg = sequential_loader_cfg(loader_cfg)
        cfg['dataset'] = dict(cfg['dataset'], mode=conv)
        inputs, labels = [], []
        for batch in Runner.build_dataloader(cfg):
            views = batch['inputs']
            if len(views) != 1:
                raise ValueError(f'mode {conv!r} gave the views {list(views)}; '
                                 'expected one')
            view = next(iter(views.values()))
            inputs.extend(view if isinstance(view, (list, tuple)) else view.unbind(0))
            labels.extend(batch_labels(batch))
        if not inputs:
            raise ValueError(f'the dataloader of {conv} yielded no clip')
        out[conv] = (torch.stack(inputs).float(), torch.tensor(labels, dtype=torch.long))
    return out


def flat(inputs: Features, joints: Dict[str, Sequence[int]] = None) -> Features:
    """Each clip's coordinates as one vector (of the given joints only,
    ``{convention: joint indices}``; all joints of the conventions not in
    it)."""
    joints = joints or {}
    return {conv: ((x if conv not in joints else x[..., list(joints[conv]), :]).flatten(1), y)
            for conv, (x, y) in inputs.items()}


def shared_joint_features(inputs: Features) -> Features:
    """:func:`flat` of the joints that every convention of ``inputs`` has by
    name (raises when there are none)."""
    convs = list(inputs)
    rows = shared_joints(convs)
    if not rows[0]:
        raise ValueError(f'the conventions {convs} share no joint name')
    return flat(inputs, dict(zip(convs, rows)))


def convention_probe(train: Features, test: Features, steps: int = 100,
                     weight_decay: float = 1e-4) -> dict:
    """Accuracy of a logistic regression that predicts the convention of a
    frozen feature: trained on the training clips of every convention,
    tested on the test clips (other clips). Near ``1 / S`` when a clip's
    conventions are indistinguishable, 1.0 when the features encode the
    convention.

    Features are standardised with the training set's statistics; L-BFGS,
    full batch, from zero weights (deterministic).

    Args:
        train (dict): ``{convention: (features, labels)}`` (labels unused).
        test (dict): The same conventions.
        steps (int): L-BFGS iterations.
        weight_decay (float): L2 penalty on the weights.

    Returns:
        dict: ``top1`` (in [0, 1]), ``chance`` (1 / S), ``per_convention``.
    """
    convs = list(train)
    x = torch.cat([train[c][0] for c in convs]).double()
    y = torch.cat([torch.full((len(train[c][0]), ), i) for i, c in enumerate(convs)])
    mean, std = x.mean(0), x.std(0).clamp_min(1e-12)
    x = (x - mean) / std
    weight = torch.zeros(x.shape[1], len(convs), dtype=x.dtype, requires_grad=True)
    bias = torch.zeros(len(convs), dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], max_iter=steps, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ weight + bias, y) + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    per_conv = {}
    with torch.no_grad():
        for i, conv in enumerate(convs):
            xt = (test[conv][0].double() - mean) / std
            per_conv[conv] = float(((xt @ weight + bias).argmax(1) == i).double().mean())
    return dict(top1=sum(per_conv.values()) / len(convs), chance=1 / len(convs),
                per_convention=per_conv)


@torch.no_grad()
def convention_mixing(test: Features, k: int = 20) -> dict:
    """How mixed the conventions are among each test clip's nearest
    neighbours: the nonlinear counterpart of :func:`convention_probe`.

    The features of every convention are pooled; for each, its ``k``
    nearest others by cosine (itself excluded) are found and the fraction
    from another convention taken. ``score`` is that fraction over the
    fraction of other-convention items in the pool, so 1 when a feature
    does not tell the conventions apart and 0 when every neighbour shares
    the query's convention.

    Args:
        test (dict): ``{convention: (features (N_c, C), labels)}``.
        k (int): Neighbours per item (at most the other items: all of
            them in a pool of ``k`` or fewer).

    Returns:
        dict: ``score``, ``other_convention_fraction``, ``chance_fraction``
        and ``k`` (the one used).
    """
    feats = [F.normalize(f.double(), dim=1) for f, _ in test.values()]
    conv = torch.cat([torch.full((len(f), ), i) for i, f in enumerate(feats)])
    x = torch.cat(feats)
    n = len(x)
    if len(feats) < 2 or k < 1:
        raise ValueError(f'convention_mixing needs two conventions and k >= 1; got '
                         f'{len(feats)} and k={k}')
    k = min(k, n - 1)
    other = torch.zeros((), dtype=torch.double)
    for rows in torch.arange(n).split(1024):
        sim = x[rows] @ x.T
        sim[torch.arange(len(rows)), rows] = -float('inf')
        nearest = sim.topk(k, dim=1).indices
        other += (conv[nearest] != conv[rows, None]).double().sum()
    fraction = float(other / (n * k))
    counts = torch.bincount(conv).double()
    chance = float((counts * (n - counts)).sum() / (counts * (n - 1)).sum())
    return dict(score=fraction / chance, other_convention_fraction=fraction,
                chance_fraction=chance, k=k)


def centre_per_convention(train: Features, *others: Features) -> Tuple[Features, ...]:
    """Each convention's features minus that convention's mean over the
    training clips, in ``train`` and every other set: what a per-convention
    mean offset alone would tell apart, removed (test clips never enter a
    mean). A linear convention probe on centred features is at chance (a
    convex loss whose class means agree has its optimum at zero weights);
    :func:`convention_mixing` and retrieval are not.

    Returns:
        tuple: The centred ``train``, then each of ``others``.
    """
    means = {conv: f.mean(0, keepdim=True) for conv, (f, _) in train.items()}
    return tuple({conv: (f - means[conv], y) for conv, (f, y) in feats.items()}
                 for feats in (train, *others))


@torch.no_grad()
def pair_cosines(test: Features) -> dict:
    """Mean cosine similarity of a clip's renderings and of other clips.

    Args:
        test (dict): ``{convention: (features (N, C), labels)}``, the same
            clips in the same order for every convention (N > 1).

    Returns:
        dict: ``same_clip_other_conv`` (a clip's features in two
        conventions), ``other_clip_same_conv`` (two clips in one
        convention), ``other_clip_other_conv`` (two clips, two
        conventions); each the mean over all such pairs.
    """
    feats = [F.normalize(f.double(), dim=1) for f, _ in test.values()]
    n = feats[0].shape[0]
    if n < 2:
        raise ValueError('pair_cosines needs at least two clips')
    sums = [f.sum(0) for f in feats]
    same_clip, cross, same_conv = [], [], []
    for a, fa in enumerate(feats):
        same_conv.append((sums[a].dot(sums[a]) - n) / (n * (n - 1)))
        for b, fb in enumerate(feats):
            if a != b:
                diagonal = (fa * fb).sum()
                same_clip.append(diagonal / n)
                cross.append((sums[a].dot(sums[b]) - diagonal) / (n * (n - 1)))
    out = dict(other_clip_same_conv=float(torch.stack(same_conv).mean()))
    if same_clip:
        out.update(same_clip_other_conv=float(torch.stack(same_clip).mean()),
                   other_clip_other_conv=float(torch.stack(cross).mean()))
    return out
