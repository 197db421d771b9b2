"""Live training feedback: verbose levels, ProgressBar and LivePlot (in a real Jupyter kernel)."""

import re

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

import scratchnn as snn
from scratchnn.activations import ReLU
from scratchnn.layers import Dense

matplotlib.use("Agg")


def _model():
    model = snn.Sequential([Dense(2, 8), ReLU(), Dense(8, 2)], seed=0)
    model.compile("cross_entropy", snn.optimizers.Adam(0.05), metrics=["accuracy"])
    return model


@pytest.fixture
def xor():
    return snn.datasets.xor(n_samples=64, seed=0)


def test_verbose_0_prints_nothing(xor, capsys):
    _model().fit(*xor, epochs=3, batch_size=16, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_2_prints_one_line_per_epoch(xor, capsys):
    _model().fit(*xor, epochs=4, batch_size=16, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4, lines
    assert all(re.match(r"Epoch \d/4 - loss: [0-9.e-]+ - accuracy: ", line) for line in lines)


def test_verbose_1_shows_a_tqdm_bar_per_epoch_with_metrics(xor, capsys):
    _model().fit(*xor, epochs=2, batch_size=16, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err, err
    assert "4/4" in err, "the bar should count the 4 batches of an epoch"
    assert "accuracy=" in err and "loss=" in err, "the postfix should show loss and metrics"


def test_liveplot_outside_jupyter_draws_once_at_the_end(xor):
    live = snn.callbacks.LivePlot()
    history = _model().fit(*xor, epochs=5, batch_size=16, verbose=0, callbacks=[live])
    assert live.redraws == 1, "outside Jupyter LivePlot must wait for the end of training"
    loss_axis = live.figure.axes[0]
    assert list(loss_axis.lines[0].get_ydata()) == pytest.approx(history.history["loss"])


LIVEPLOT_CELL = """
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import scratchnn as snn
from scratchnn.layers import Dense
from scratchnn.activations import ReLU
x, y = snn.datasets.xor(n_samples=64, seed=0)
model = snn.Sequential([Dense(2, 8), ReLU(), Dense(8, 2)], seed=0)
model.compile("cross_entropy", "adam", metrics=["accuracy"])
live = snn.callbacks.LivePlot()
model.fit(x, y, epochs=4, batch_size=16, validation_data=(x, y), verbose=0, callbacks=[live])
print("redraws", live.redraws)
"""


def test_liveplot_updates_one_display_in_place_in_a_kernel():
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(LIVEPLOT_CELL))
    updates = []
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    original = client.process_message

    def spy(msg, cell, cell_index):
        if msg["msg_type"] == "update_display_data":
            updates.append(msg["content"]["transient"]["display_id"])
        return original(msg, cell, cell_index)

    client.process_message = spy
    client.execute()
    outputs = nb.cells[0].outputs
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(images) == 1, f"expected one figure updated in place, got {len(images)}"
    # one display per training run, then an update per epoch (4) and one at the end
    assert len(updates) == 4 and len(set(updates)) == 1, updates
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "redraws 5" in text, text
