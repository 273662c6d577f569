"""The public API of glassnet.inspect and glassnet.viz: exported, documented, lazy."""
import subprocess
import sys

import glassnet as gn


def test_exports_and_docstrings():
    assert set(gn.inspect.__all__) == {"trace", "Trace", "TraceRecord", "gradcheck", "AnomalyGuard",
                                       "GradientNormHistory", "gradient_norms",
                                       "GradcheckResult", "GradcheckRecord", "detect_anomaly",
                                       "AnomalyError", "watch_forward", "recorded_modules",
                                       "tensors_in", "layer_role", "describe"}
    assert {"plot_history", "plot_lr", "plot_grad_norms", "plot_filters", "plot_feature_maps",
            "plot_hidden_states", "plot_confusion_matrix", "plot_predictions", "plot_forecast",
            "write_report"} <= set(gn.viz.__all__)
    for module in (gn.inspect, gn.viz):
        for name in module.__all__:
            obj = getattr(module, name)
            assert obj.__doc__ and len(obj.__doc__.strip()) > 20, f"{module.__name__}.{name}"
    assert "inspect" in gn.__all__ and "viz" in gn.__all__


def test_importing_glassnet_does_not_import_matplotlib():
    code = "import sys, glassnet; glassnet.viz.plot_history; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
