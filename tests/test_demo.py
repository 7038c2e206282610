"""tools/demo.py: every pretrained row of the main job gets the same step
budget, with its schedule rescaled as ``tools/train.py --steps`` does."""
from mmengine.config import Config, DictAction

from msclr_plugin.utils.compare import MAIN_JOB_STEPS
from msclr_plugin.utils.train_steps import epoch_steps
from .conftest import ROOT, load_tool


def test_demo_rows_get_the_same_steps(tmp_path):
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    demo = load_tool('demo')
    store = str(tmp_path / 'syn')
    # 24 training clips a convention: MS-AimCLR 2 steps an epoch (its pairs
    # in both directions, leftovers mixed), AimCLR 1
    generate_synthetic_store(store, num_clips_per_class_per_subject=2,
                             conventions=('kinectv2_25', 'coco'), num_subjects=6,
                             num_train_subjects=4, num_person=1,
                             classes=['wave_right_hand', 'squat', 'jump'])
    steps = 64
    for name, path, _, pretrained in demo.ROWS:
        if not pretrained:
            continue
        path = str(ROOT / demo.DEMO / path)
        epochs, options = demo.fitted_schedule(path, store, steps)
        # what tools/train.py runs: the config with these --cfg-options
        cfg = Config.fromfile(path)
        cfg.merge_from_dict({'train_dataloader.dataset.ann_file': store,
                             'train_cfg.max_epochs': epochs})
        cfg.merge_from_dict({k: DictAction._parse_iterable(v)
                             for k, v in (o.split('=', 1) for o in options)})
        assert sum(epoch_steps(cfg)) == steps, name
        warmup, step = cfg.param_scheduler
        # the recipe's fractions of training: warm-up an eighth, the lr
        # step at 7/8, the last epoch's checkpoint
        assert warmup['end'] * 8 == epochs, name
        assert step['milestones'] == [epochs * 7 // 8], name
        assert cfg.default_hooks.checkpoint.interval == epochs
        mining = cfg.model.mining_epoch
        assert mining == (epochs if name == 'ms_aimclr' else epochs * 3 // 4), name
    # the default budget: the main job's 512 steps
    assert MAIN_JOB_STEPS == 512


def test_demo_evaluations_of_the_multi_convention_encoders():
    """``--precise-bn`` and ``--paper-eval`` pick linear configs that differ
    in the precise BN alone."""
    demo = load_tool('demo')
    modes = {key: Config.fromfile(str(ROOT / demo.DEMO / name)).to_dict()
             for key, name in demo.MS_EVAL.items()}
    assert modes['sequential'].pop('precise_bn_per_convention') == 'sequential'
    assert modes['train'].pop('precise_bn_per_convention') is True
    assert 'precise_bn_per_convention' not in modes['paper']
    assert modes['sequential'] == modes['train'] == modes['paper']
