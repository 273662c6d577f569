from ..tensor import skip


def run_linear(*a, **k):
    skip("kernel schedules")
