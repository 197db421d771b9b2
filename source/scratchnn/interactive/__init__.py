"""Interactive widgets for the course notebooks, one module per widget.

- :func:`neuron_playground` (:mod:`.neuron`): one neuron with two inputs, weights on sliders
  (notebook 01).
- :func:`optimizer_race` (:mod:`.race`): SGD, momentum, Nesterov, RMSProp and Adam racing down
  a 2-D loss surface (notebook 03); :func:`race_trajectories` is the computation behind it, no
  widgets.
- :func:`training_scrubber` (:mod:`.scrubber`): a slider over snapshots of training, recorded
  with the :class:`SnapshotRecorder` callback, showing the decision boundary and the loss curve.
- :func:`backprop_scrubber` (:mod:`.backprop`): the same over ``(step, params)`` snapshots of a
  network trained with the student's own functions (notebook 02).
- :func:`regularization_explorer` (:mod:`.regularization`): dropout rate and L2 strength on
  sliders, the train/validation curves of the student's own training function (notebook 04).
- :func:`activation_explorer` (:mod:`.batchnorm`): initialization scale and batch norm on/off,
  the per-layer activation distributions of the student's own forward pass (notebook 05);
  :func:`layer_activations` and :func:`init_network` are the computation behind it.
- :func:`digit_browser` (:mod:`.digits`): test digits with a model's predicted probabilities,
  browsable by class and by mistake (notebook 06); :func:`browse_order` sorts them.

Every builder returns an ``ipywidgets.VBox`` holding its controls and an ``Output`` with the
plot, and exposes them as ``box.controls`` (a dict by name) and ``box.output``, so code (and
tests) can drive a widget by setting ``box.controls[name].value``.

The widgets run the student's own functions, passed as arguments (``activations=``,
``rules=``). Only a default the caller leaves out comes from :mod:`scratchnn.functional`; the
students' course bundle ships these widgets without it, and there a missing function raises
:class:`MissingReferenceError` (a ``TypeError``) that says what to pass.

The widgets need the ``course`` extra (matplotlib and ipywidgets). Both are imported inside
the functions, so ``import scratchnn.interactive`` stays cheap and works without them.
A new widget goes in a module of its own here, re-exported below.
"""

from __future__ import annotations

from ._common import MissingReferenceError
from .backprop import backprop_scrubber
from .batchnorm import activation_explorer, init_network, layer_activations
from .digits import browse_order, digit_browser
from .neuron import neuron_playground
from .race import OPTIMIZERS, SURFACES, RaceResult, Surface, optimizer_race, race_trajectories
from .regularization import regularization_explorer
from .scrubber import SnapshotRecorder, training_scrubber

__all__ = [
    "neuron_playground", "optimizer_race", "race_trajectories", "RaceResult", "Surface",
    "SURFACES", "OPTIMIZERS", "training_scrubber", "SnapshotRecorder", "MissingReferenceError",
    "backprop_scrubber", "regularization_explorer", "activation_explorer", "init_network",
    "layer_activations", "digit_browser", "browse_order",
]
