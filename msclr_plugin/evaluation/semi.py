"""Label subsets for semi-supervised evaluation (the selection lives in
:mod:`msclr_plugin.datasets.label_subset`, which the dataset uses; kept
importable from here)."""
from msclr_plugin.datasets.label_subset import select_labelled_subset

__all__ = ['select_labelled_subset']
