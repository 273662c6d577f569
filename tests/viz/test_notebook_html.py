"""Notebook displays: each _repr_html_ is valid HTML holding the key numbers, and every
gn.viz.plot_* returns a matplotlib Figure when no path is given."""
from html.parser import HTMLParser

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

VOID = {"br", "img", "meta", "hr", "input", "link", "col", "wbr", "source"}
SVG_VOID_OK = {"circle", "line", "rect", "image", "path", "polyline", "stop"}


class _Checker(HTMLParser):
    """Collects the text and checks that every non-void tag is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.text, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _check(html: str):
    p = _Checker()
    p.feed(html)
    p.close()
    assert not p.stack, f"unclosed tags {p.stack}"
    return " ".join(p.text), p.tags


def test_tensor_html_shows_shape_dtype_grad_fn_and_values():
    x = gn.tensor([[1.5, -2.25, 3.0]], requires_grad=True)
    y = x * 2
    text, _ = _check(y._repr_html_())
    for needle in ("(1, 3)", "float32", "cpu", "MulBackward", "-4.5", "6."):
        assert needle in text, needle
    big = gn.tensor(np.arange(1000, dtype=np.float32).reshape(10, 100))
    text, _ = _check(big._repr_html_())
    assert "(10, 100)" in text and "..." in text and "999" in text and "499.5" in text
    assert "None (a leaf)" in text


def test_module_html_has_layer_table_and_diagram():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    text, tags = _check(model._repr_html_())
    total = sum(p.array.size for p in model.parameters())
    assert f"{total:,} parameters" in text and "Linear(2→3)" in text and "weight (3, 2)" in text
    assert tags.count("svg") == 1 and tags.count("circle") == 2 + 3 + 1
    assert tags.count("line") == 2 * 3 + 3 * 1
    text, tags = _check(nn.Sequential(nn.ReLU())._repr_html_())
    assert "no diagram" in text and "svg" not in tags


def test_trace_html_shows_the_step():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2))
    t = gn.inspect.trace(model, [[1.0, 2.0]], [[0.5, -0.5]], nn.MSELoss(),
                         gn.optim.SGD(model.parameters(), lr=0.1))
    text, _ = _check(t._repr_html_())
    assert f"{t.loss:.6g}" in text and "W ← W − η·∂L/∂W" in text
    assert repr(t).startswith("<Trace: One training step") and "\n" not in repr(t)


def test_history_html_has_curves_and_last_values():
    h = gn.train.History({"loss": [1.0, 0.625, 0.4375], "val_loss": [1.1, 0.8, 0.7125],
                          "accuracy": [0.5, 0.7, 0.8125]})
    text, tags = _check(h._repr_html_())
    assert "3 epochs" in text and "0.4375" in text and "0.7125" in text and "0.8125" in text
    assert tags.count("svg") == 2 and tags.count("polyline") == 3


def test_plots_without_path_return_figures():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    rng = np.random.default_rng(0)
    gn.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(3 * 8 * 8, 2))
    rnn = nn.RNN(2, 3, batch_first=True)
    viz = gn.viz
    figs = [viz.plot_history({"loss": [1.0, 0.5]}), viz.plot_history({"loss": [1.0]}, None),
            viz.plot_lr([0.1, 0.05]), viz.plot_grad_norms({"w": [1.0, 0.5]}),
            viz.plot_filters(cnn), viz.plot_feature_maps(cnn, rng.random((1, 1, 8, 8))),
            viz.plot_hidden_states(rng.normal(size=(5, 3))),
            viz.plot_hidden_states(rng.normal(size=(1, 4, 2)).astype(np.float32), model=rnn),
            viz.plot_confusion_matrix([0, 1, 1], [0, 1, 0]),
            viz.plot_predictions(rng.random((2, 64)), np.array([[0.2, 0.8], [0.6, 0.4]])),
            viz.plot_forecast([1.0, 2.0], [1.1, 1.9])]
    norms = gn.inspect.GradientNormHistory(every=1)
    norms.norms, norms.steps = {"0.weight": [1.0, 0.5]}, [1, 2]
    figs.append(norms.plot())
    assert all(isinstance(f, Figure) for f in figs)


def test_feature_maps_show_input_and_every_channel():
    pytest.importorskip("matplotlib")
    gn.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU())
    fig = gn.viz.plot_feature_maps(cnn, np.random.default_rng(0).random((1, 1, 8, 8)))
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 1 + 16                    # the input and all 16 channels
    assert "input" in drawn[0].get_ylabel()


def test_hidden_states_ticks_are_time_steps_from_one():
    pytest.importorskip("matplotlib")
    fig = gn.viz.plot_hidden_states(np.zeros((20, 4)))
    ax = fig.axes[0]
    assert [t for t in ax.get_xticks()] == list(range(1, 21))
    assert "1 … 20" in ax.get_xlabel()
