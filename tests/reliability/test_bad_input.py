"""Bad input everywhere: hypothesis throws random shapes, dtypes (int, bool, float16/64,
object, complex), NaN/Inf, empty arrays and argument values at every public layer of
``gn.nn`` (enumerated from ``gn.nn.__all__``), every loss, optimizer and scheduler.

Each call must either work like PyTorch (same values, compared when PyTorch accepts the
float32 version of the input) or raise a ValueError/TypeError whose message names the
layer (or the argument) — never another exception from deep inside NumPy, never a hang
(every call runs under a timer). Run with ``-s`` to see how many inputs were tried.
"""
import math
import signal
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from reliability_layers import BAD_VALUES, LAYERS, LOSSES, NOT_LAYERS, B

import glassnet as gn
from glassnet import optim

TRIED = Counter()
SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate])     # no shrinking: bounded time
DTYPES = [np.float32, np.float32, np.float64, np.float16, np.int64, np.int32, np.bool_,
          np.uint8, np.complex64, object]
FILLS = ["normal", "normal", "nan", "inf", "-inf", "zeros", "huge"]
TIMEOUT_S = 10


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang


def guarded(fn, *args, **kwargs):
    """Run fn under a timer; return ("ok", value) or ("error", exception)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT_S)
    try:
        return "ok", fn(*args, **kwargs)
    except Hang:
        raise AssertionError(f"{getattr(fn, '__name__', fn)} hung for {TIMEOUT_S} s") from None
    except Exception as e:       # noqa: BLE001 - classified by the caller
        return "error", e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _norm(text):
    """Lower case without '_' and a trailing 1d/2d: BatchNorm2d ~ batch_norm."""
    text = text.lower().replace("_", "")
    return text[:-2] if text[-2:] in ("1d", "2d", "3d") else text


def assert_clear_error(err, *names, what=""):
    """A ValueError/TypeError (or, as in PyTorch for an out-of-range index or dim, an
    IndexError) whose message names one of ``names`` (a layer ``MaxPool2d`` may be named by
    its function ``max_pool2d``)."""
    if not isinstance(err, (ValueError, TypeError, IndexError)):
        raise AssertionError(f"{what}: {type(err).__name__} from deep inside: {err}") from err
    msg = _norm(str(err))
    if not any(_norm(n) in msg for n in names):
        raise AssertionError(f"{what}: {type(err).__name__} does not name {names}: "
                             f"{err}") from err


def torch_works(fn):
    try:
        return True, fn()
    except Exception as e:       # noqa: BLE001 - PyTorch's verdict, any type
        return False, e


def flat_arrays(out):
    """The output arrays of a layer (tuples from RNNs flattened)."""
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in flat_arrays(o)]
    if out is None:
        return []
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()]
    return [np.asarray(out.array if hasattr(out, "array") else out)]


def assert_close(gn_out, torch_out, what):
    a, b = flat_arrays(gn_out), flat_arrays(torch_out)
    assert len(a) == len(b), f"{what}: {len(a)} outputs, PyTorch gives {len(b)}"
    for x, y in zip(a, b):
        assert x.shape == y.shape, f"{what}: shape {x.shape}, PyTorch {y.shape}"
        np.testing.assert_allclose(x.astype(np.float64), y.astype(np.float64), rtol=2e-4,
                                   atol=2e-5, equal_nan=True, err_msg=what)


# -- drawing arrays ----------------------------------------------------------------------------
@st.composite
def arrays(draw, valid_shape, kind="float", high=None):
    """An array near ``valid_shape`` (kept, one dim changed, one dim dropped or added, empty
    batch) or of a random shape, of a random dtype and fill."""
    shape = list(valid_shape)
    how = draw(st.sampled_from(["keep", "keep", "resize", "drop", "add", "empty", "random"]))
    if how == "resize" and shape:
        shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(0, 5))
    elif how == "drop" and shape:
        shape.pop(draw(st.integers(0, len(shape) - 1)))
    elif how == "add":
        shape.insert(draw(st.integers(0, len(shape))), draw(st.integers(1, 3)))
    elif how == "empty" and shape:
        shape[0] = 0
    elif how == "random":
        shape = draw(st.lists(st.integers(0, 4), max_size=5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "index":
        dtype = draw(st.sampled_from([np.int64, np.int64, np.int32, np.float32, np.bool_,
                                      object]))
        arr = rng.integers(-2 if draw(st.booleans()) else 0, (high or 3) + 1, size=shape)
        return arr.astype(dtype), how
    dtype = draw(st.sampled_from(DTYPES))
    arr = rng.standard_normal(shape).astype(np.float32)
    fill = draw(st.sampled_from(FILLS))
    if arr.size and fill in ("nan", "inf", "-inf"):
        arr.reshape(-1)[rng.integers(arr.size)] = float(fill)
    elif fill == "zeros":
        arr[...] = 0
    elif fill == "huge":
        arr *= 1e30
    if dtype not in (np.float32, np.float64, np.float16, np.complex64, object):
        arr = np.nan_to_num(arr, posinf=3, neginf=-3)
    return arr.astype(dtype), how


def wrap(arr, how):
    """The array as a user might pass it: mostly a Tensor, sometimes ndarray or list."""
    if how == "ndarray":
        return arr
    if how == "list":
        return arr.tolist()
    return gn.tensor(arr)


def torch_input(arr, kind):
    if arr.dtype == object or arr.dtype.kind == "c":
        return None
    return torch.tensor(arr.astype(np.int64 if kind == "index" else np.float32))


def build(name, kwargs):
    return getattr(gn.nn, name)(**kwargs)


def twin(name, layer, kwargs, row):
    """The PyTorch layer with the same weights, or None."""
    if row["torch"] is None:
        return None
    ok, t = torch_works(lambda: getattr(torch.nn, name)(**kwargs))
    if not ok:
        return None
    state = {k: torch.tensor(np.asarray(v)) for k, v in layer.state_dict().items()}
    ok, _ = torch_works(lambda: t.load_state_dict(state))
    return t if ok else None


# -- layers ------------------------------------------------------------------------------------
def public_layers():
    names = []
    for name in gn.nn.__all__:
        obj = getattr(gn.nn, name)
        if isinstance(obj, type) and issubclass(obj, gn.nn.Module) and name not in NOT_LAYERS:
            names.append(name)
    return names


def test_every_layer_has_a_row():
    missing = sorted(set(public_layers()) - set(LAYERS) - LOSSES)
    assert not missing, f"add rows for {missing} to tests/reliability/reliability_layers.py"


@pytest.mark.parametrize("name", sorted(LAYERS))
@SETTINGS
@given(data=st.data())
def test_layer_forward_with_bad_inputs(name, data):
    row = LAYERS[name]
    kwargs = data.draw(st.fixed_dictionaries(row["args"]), label="kwargs")
    layer = build(name, kwargs)
    layer.train(row["train"])
    high = kwargs.get("num_embeddings")
    arr, how = data.draw(arrays(row["shape"](kwargs), row["kind"], high), label="input")
    container = data.draw(st.sampled_from(["tensor", "tensor", "tensor", "ndarray", "list"]))
    TRIED["layer inputs"] += 1
    what = f"{name}({kwargs}) on {arr.dtype} {arr.shape} ({how}, as {container})"
    status, x = guarded(wrap, arr, container)
    if status == "error":                        # gn.tensor refused it (object, complex...)
        assert_clear_error(x, "tensor", what=what)
        return
    status, out = guarded(layer, x)
    if status == "error":
        assert_clear_error(out, name, what=what)
        return
    for a in flat_arrays(out):
        assert a.dtype != np.float64 or arr.dtype == np.float64, f"{what}: float64 output"
    t_layer, t_in = twin(name, layer, kwargs, row), torch_input(arr, row["kind"])
    if t_layer is None or t_in is None:
        return
    t_layer.train(row["train"])
    ok = False
    ints_kept = all(a.dtype.kind in "iu" for a in flat_arrays(out))
    if arr.dtype.kind in "iu" and row["kind"] == "float" and ints_kept:   # like torch
        ok, t_out = torch_works(lambda: t_layer(torch.tensor(arr)))
    if not ok:
        ok, t_out = torch_works(lambda: t_layer(t_in))
    if arr.size == 0 or arr.dtype.kind in "bc":
        return                                   # accepted where torch needs a cast: fine
    assert ok, f"{what}: glassnet accepted an input PyTorch rejects ({t_out})"
    if arr.dtype.kind == "f" and np.abs(arr).max(initial=0) > 1e20:
        return                                   # overflow paths may differ; no crash is enough
    assert_close(out, t_out, what)


@pytest.mark.parametrize("name", sorted(LAYERS))
@SETTINGS
@given(data=st.data())
def test_layer_constructor_with_bad_arguments(name, data):
    row = LAYERS[name]
    if not row["args"]:
        return
    kwargs = data.draw(st.fixed_dictionaries(row["args"]), label="valid kwargs")
    arg = data.draw(st.sampled_from(sorted(row["args"])), label="argument")
    kwargs[arg] = data.draw(st.sampled_from(BAD_VALUES), label="bad value")
    TRIED["constructor arguments"] += 1
    what = f"{name}({arg}={kwargs[arg]!r})"
    status, layer = guarded(build, name, kwargs)
    t_ok, _ = torch_works(lambda: getattr(torch.nn, name)(**kwargs))
    if status == "error":
        assert_clear_error(layer, name, arg, what=what)
        return
    if row["torch"] is not None and not t_ok and row["args"][arg] is not B:
        arg_value = kwargs[arg]
        if not isinstance(arg_value, (bool, list, tuple)) and arg_value is not None:
            raise AssertionError(f"{what}: glassnet accepted an argument PyTorch rejects")
    try:
        shape = row["shape"](kwargs)
        arr = (np.zeros(shape, np.int64) if row["kind"] == "index" else
               np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    except Exception:            # noqa: BLE001 - the bad value breaks the shape formula
        return
    status, out = guarded(lambda: layer(gn.tensor(arr)))
    if status == "error":
        assert_clear_error(out, name, arg, what=what + " forward")


# -- losses ------------------------------------------------------------------------------------
LOSS_ARGS = {"reduction": st.sampled_from(["mean", "sum", "none", "avg", None, 3])}


@pytest.mark.parametrize("name", sorted(LOSSES))
@SETTINGS
@given(data=st.data())
def test_loss_with_bad_inputs(name, data):
    reduction = data.draw(LOSS_ARGS["reduction"], label="reduction")
    TRIED["loss calls"] += 1
    status, loss = guarded(getattr(gn.nn, name), reduction=reduction)
    if status == "error":
        assert_clear_error(loss, name, "reduction", what=f"{name}(reduction={reduction!r})")
        return
    classes = name in ("CrossEntropyLoss", "NLLLoss")
    n, c = data.draw(st.integers(0, 4)), data.draw(st.integers(1, 4))
    x, how_x = data.draw(arrays((n, c)), label="input")
    if classes:
        y, how_y = data.draw(arrays((n,), "index", c - 1), label="target")
    else:
        y, how_y = data.draw(arrays((n, c)), label="target")
        if name == "BCELoss" and y.dtype.kind == "f":
            y = np.clip(np.nan_to_num(y), 0, 1).astype(y.dtype)
    if name == "BCELoss" and x.dtype.kind == "f":
        x = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype)
    what = f"{name}(reduction={reduction!r}) on {x.dtype} {x.shape} / {y.dtype} {y.shape}"
    status, xy = guarded(lambda: (gn.tensor(x), gn.tensor(y)))
    if status == "error":
        assert_clear_error(xy, "tensor", what=what)
        return
    status, out = guarded(loss, *xy)
    if status == "error":
        assert_clear_error(out, name, "target", "input", what=what)
        return
    tx, ty = torch_input(x, "float"), torch_input(y, "index" if classes else "float")
    if tx is None or ty is None or x.size == 0 or x.dtype.kind in "bc":
        return
    ok, t_out = torch_works(lambda: getattr(torch.nn, name)(reduction=reduction)(tx, ty))
    if not ok:
        assert not (how_x == how_y == "keep" and y.dtype.kind in "iu"), \
            f"{what}: glassnet accepted what PyTorch rejects ({t_out})"
        return
    if np.abs(x.astype(np.float64)).max(initial=0) < 1e20:
        assert_close(out, t_out, what)


# -- optimizers and schedulers -----------------------------------------------------------------
HYPER = {
    "SGD": ["lr", "momentum", "dampening", "weight_decay", "nesterov"],
    "Adam": ["lr", "betas", "eps", "weight_decay", "amsgrad"],
    "AdamW": ["lr", "betas", "eps", "weight_decay", "amsgrad"],
    "RMSprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
    "Adagrad": ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"],
    "NAdam": ["lr", "betas", "eps", "weight_decay", "momentum_decay",
              "decoupled_weight_decay"],
}
ODD_VALUES = BAD_VALUES + [1e-3, 0.9, (0.9, 0.999), (1.5, 0.9), (0.9, float("nan")), -1e-3]
ODD_PARAMS = ["ok", "empty", "generator", "tensor_not_param", "dicts", "dict_no_params",
              "ints", "single_tensor", "duplicate"]


def make_params(kind, model):
    ps = list(model.parameters())
    return {"ok": lambda: ps, "empty": lambda: [], "generator": lambda: iter(ps),
            "tensor_not_param": lambda: [gn.tensor(np.ones(3, np.float32))],
            "dicts": lambda: [{"params": ps[:1], "lr": 0.1}, {"params": ps[1:]}],
            "dict_no_params": lambda: [{"lr": 0.1}], "ints": lambda: [1, 2],
            "single_tensor": lambda: ps[0], "duplicate": lambda: ps + ps[:1]}[kind]()


@pytest.mark.parametrize("name", sorted(HYPER))
@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_optimizer_constructor_and_step(name, data):
    model = gn.nn.Linear(3, 2)
    params = data.draw(st.sampled_from(ODD_PARAMS), label="params")
    key = data.draw(st.sampled_from(HYPER[name]), label="argument")
    value = data.draw(st.sampled_from(ODD_VALUES), label="value")
    TRIED["optimizer constructions"] += 1
    what = f"{name}(params={params}, {key}={value!r})"
    status, opt = guarded(lambda: getattr(optim, name)(make_params(params, model),
                                                       **{key: value}))
    t_model = torch.nn.Linear(3, 2)
    t_params = {"ok": list(t_model.parameters()), "dicts": [{"params": [t_model.weight],
                "lr": 0.1}, {"params": [t_model.bias]}]}.get(params)
    if status == "error":
        assert_clear_error(opt, name, key, "params", what=what)
        return
    if t_params is not None and not isinstance(value, (bool, object().__class__)):
        ok, err = torch_works(lambda: getattr(torch.optim, name)(t_params, **{key: value}))
        assert ok or isinstance(value, tuple), f"{what}: glassnet accepted, PyTorch: {err}"
    x = gn.tensor(np.ones((4, 3), np.float32))
    model(x).sum().backward()
    status, err = guarded(opt.step)
    if status == "error":
        assert_clear_error(err, name, key, what=what + ".step()")


SCHEDULERS = {
    "StepLR": {"step_size": 2, "gamma": 0.5},
    "ExponentialLR": {"gamma": 0.9},
    "CosineAnnealingLR": {"T_max": 5, "eta_min": 0.0},
    "ReduceLROnPlateau": {"mode": "min", "factor": 0.5, "patience": 1, "threshold": 1e-4,
                          "threshold_mode": "rel", "cooldown": 0, "min_lr": 0.0, "eps": 1e-8},
    "MultiStepLR": {"milestones": [1, 2], "gamma": 0.5},
    "LambdaLR": {"lr_lambda": lambda e: 0.9 ** e},
    "LinearLR": {"start_factor": 0.5, "end_factor": 1.0, "total_iters": 2},
    "OneCycleLR": {"max_lr": 0.5, "total_steps": 10, "pct_start": 0.3, "anneal_strategy": "cos",
                   "div_factor": 25.0, "final_div_factor": 1e4, "three_phase": False},
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_scheduler_constructor_and_steps(name, data):
    kwargs = dict(SCHEDULERS[name])
    key = data.draw(st.sampled_from(sorted(kwargs) + ["optimizer"]), label="argument")
    value = data.draw(st.sampled_from(BAD_VALUES + ["max", "abs", 0.5, 1, 100]), label="value")
    opt = optim.SGD(gn.nn.Linear(2, 1).parameters(), lr=0.1)
    t_opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    TRIED["scheduler constructions"] += 1
    what = f"{name}({key}={value!r})"
    cls = getattr(optim.lr_scheduler, name)
    if key == "optimizer":
        status, sched = guarded(cls, value, **kwargs)
        t_ok, _ = False, None
    else:
        status, sched = guarded(cls, opt, **{**kwargs, key: value})
        t_ok, _ = torch_works(lambda: getattr(torch.optim.lr_scheduler, name)(
            t_opt, **{**kwargs, key: value}))
    if status == "error":
        assert_clear_error(sched, name, key, what=what)
        return
    assert t_ok or isinstance(value, bool), f"{what}: glassnet accepted, PyTorch rejects"
    for _ in range(3):
        status, err = guarded(sched.step, 1.0) if name == "ReduceLROnPlateau" else \
            guarded(sched.step)
        if status == "error":
            assert_clear_error(err, name, key, what=what + ".step()")
            return
        lr = opt.param_groups[0]["lr"]
        assert isinstance(lr, float) and not math.isnan(lr), f"{what}: lr became {lr!r}"


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    total = sum(TRIED.values())
    print(f"\nbad-input suite: {total} inputs tried ({dict(TRIED)})")
