from .inference import SkeletonLabeller, draw_video  # noqa: F401
