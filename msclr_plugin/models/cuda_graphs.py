"""Training steps captured in CUDA graphs, one graph per input signature."""
import collections
from typing import Callable, Dict, Hashable, List, Tuple

import torch

LossFn = Callable[[Dict[str, torch.Tensor]],
                  Tuple[torch.Tensor, Dict[str, torch.Tensor]]]


class StepGraphs:
    """Replays the forward and backward of a training step from CUDA graphs.

    AimCLR's encoder is small (16-256 channels): on a GPU a step is about a
    thousand short kernels, and launching them one by one from Python costs
    more than running them. A captured graph launches them all at once.

    Captured: zeroing the gradients, ``loss_fn`` (the whole forward,
    including MoCo's momentum update and enqueue) and the backward. The
    optimizer step runs eagerly after the replay, so the learning rate and
    the schedulers behave as usual.

    A signature (``key``) must fix everything the step decides on the host:
    input shapes and dtypes, the convention of each view, the autocast
    state, flags such as AimCLR's mining phase. Its first ``warmup`` steps
    run eagerly on a side stream (cuDNN, cuBLAS and autograd initialise
    there, as capture requires); they also record which parameters get a
    gradient, so that the others keep ``grad=None`` after a replay, exactly
    as after an eager step (SGD then leaves them alone: no weight decay, no
    momentum). The next step is captured, then every step replays: inputs
    are copied into the graph's static buffers and the logged values copied
    out. All graphs share one memory pool (they never run concurrently) and
    one gradient buffer per parameter.

    Args:
        warmup (int): Eager steps of a signature before its capture (at
            least 1). Defaults to 2.
    """

    def __init__(self, warmup: int = 2) -> None:
        if warmup < 1:
            raise ValueError(f'warmup must be >= 1, got {warmup}')
        self.warmup = warmup
        self._eager_steps = collections.Counter()
        self._used: Dict[Hashable, List[bool]] = {}
        self._graphs: Dict[Hashable, tuple] = {}
        self._grads: Dict[int, torch.Tensor] = {}
        self._pool = None
        self._stream = None

    def __len__(self) -> int:
        """Number of captured graphs."""
        return len(self._graphs)

    def _point_grads(self, params: List[torch.nn.Parameter],
                     used: List[bool]) -> List[torch.Tensor]:
        """Give the used parameters their shared buffers, the rest None."""
        grads = []
        for i, (param, use) in enumerate(zip(params, used)):
            if not use:
                param.grad = None
                continue
            buf = self._grads.get(i)
            if buf is None:
                buf = self._grads[i] = torch.zeros_like(param)
            if param.grad is not buf:
                param.grad = buf
            grads.append(buf)
        return grads

    def _eager(self, key: Hashable, params: List[torch.nn.Parameter],
               inputs: Dict[str, torch.Tensor],
               loss_fn: LossFn) -> Dict[str, torch.Tensor]:
        if self._stream is None:
            self._stream = torch.cuda.Stream()
        main = torch.cuda.current_stream()
        self._stream.wait_stream(main)
        with torch.cuda.stream(self._stream):
            for param in params:
                param.grad = None
            loss, log_vars = loss_fn(inputs)
            loss.backward()
            fresh = [p.grad for p in params]
            used = [grad is not None for grad in fresh]
            self._point_grads(params, used)
            for i, grad in enumerate(fresh):
                if grad is not None:
                    self._grads[i].copy_(grad)
        main.wait_stream(self._stream)
        if self._used.setdefault(key, used) != used:
            raise RuntimeError(
                f'the parameters that get gradients changed between two '
                f'steps of one graph signature {key}: the signature misses '
                'a host-side decision of the step')
        return log_vars

    def _capture(self, key: Hashable, params: List[torch.nn.Parameter],
                 inputs: Dict[str, torch.Tensor], loss_fn: LossFn) -> tuple:
        static = {view: x.clone() for view, x in inputs.items()}
        grads = self._point_grads(params, self._used[key])
        graph = torch.cuda.CUDAGraph()
        # thread_local: the DataLoader's pin-memory thread may call CUDA
        # (host allocations) while this thread captures
        with torch.cuda.graph(
                graph, pool=self._pool, capture_error_mode='thread_local'):
            torch._foreach_zero_(grads)
            loss, log_vars = loss_fn(static)
            loss.backward()
        self._pool = graph.pool()
        return graph, static, {k: v.detach() for k, v in log_vars.items()}

    def __call__(self, key: Hashable, params: List[torch.nn.Parameter],
                 inputs: Dict[str, torch.Tensor],
                 loss_fn: LossFn) -> Dict[str, torch.Tensor]:
        """Run one step's forward and backward.

        Args:
            key (Hashable): The step's signature (see the class doc).
            params (list): The trainable parameters, always in one order.
            inputs (dict): ``{view: CUDA tensor}``, shapes fixed by ``key``.
            loss_fn (callable): ``inputs -> (loss, log_vars)``, run under
                the caller's contexts (autocast).

        Returns:
            dict: ``log_vars`` of this step (fresh tensors).
        """
        entry = self._graphs.get(key)
        if entry is None:
            if self._eager_steps[key] < self.warmup:
                self._eager_steps[key] += 1
                return self._eager(key, params, inputs, loss_fn)
            entry = self._graphs[key] = self._capture(key, params, inputs,
                                                      loss_fn)
        graph, static, log_vars = entry
        self._point_grads(params, self._used[key])
        for view, x in inputs.items():
            static[view].copy_(x, non_blocking=True)
        graph.replay()
        return {name: value.clone() for name, value in log_vars.items()}
