"""Drawing skeletons (matplotlib, Agg) and t-SNE maps of embeddings;
imported on demand, registers nothing."""
from .skeleton_plot import (animate_conventions, load_store_clip,
                            plot_conventions, visible_persons)
from .tsne import tsne

__all__ = [
    'plot_conventions', 'animate_conventions', 'load_store_clip',
    'visible_persons', 'tsne'
]
