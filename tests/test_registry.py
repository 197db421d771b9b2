"""The library's seams (issue 16, section 5): one registry behind every ``get(name)`` and
``load_model``, custom layers, losses, optimizers, schedules and initializers saved and loaded
(in a fresh process too), no model <-> serialization import cycle, layer shapes declared by
methods, and one helper that turns a seed into a generator.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import activations as A
from scratchnn import functional as F
from scratchnn import init, losses
from scratchnn import optimizers as O
from scratchnn import schedules as S
from scratchnn.layers import Dense, Dropout, Flatten

SOURCE = Path(snn.__file__).parent


class Scale(snn.Layer):
    """``out = x * gamma``, one learnable factor per feature: ``(N, D) -> (N, D)``."""

    preserves_shape = True

    def __init__(self, num_features, name=None):
        super().__init__(name)
        self.num_features = num_features
        self.gamma = snn.Parameter(np.full(num_features, 1.5, np.float32), "gamma")
        self._x = None

    def parameters(self):
        return [self.gamma]

    def get_config(self):
        return {"num_features": self.num_features}

    def expected_input_features(self):
        return self.num_features

    def forward(self, x, training=False):
        self._x = x
        return x * self.gamma.value

    def backward(self, grad_out):
        self._needs_forward(self._x)
        self.gamma.grad = np.sum(grad_out * self._x, axis=0)
        return grad_out * self.gamma.value


class Project(snn.Layer):
    """A fixed projection to ``size`` features, declaring its shapes by the two methods."""

    def __init__(self, in_size, size, name=None):
        super().__init__(name)
        self.in_size, self.size = in_size, size
        self.matrix = np.ones((in_size, size), np.float32)

    def get_config(self):
        return {"in_size": self.in_size, "size": self.size}

    def expected_input_features(self):
        return self.in_size

    def output_shape(self, input_shape):
        return (self.size,)

    def forward(self, x, training=False):
        return x @ self.matrix

    def backward(self, grad_out):
        return grad_out @ self.matrix.T


def _data(n=32, features=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, classes, n)


def _config_of(path) -> dict:
    with np.load(path, allow_pickle=False) as f:
        return json.loads(str(f["__config__"]))


# --------------------------------------------------------------------------------------------
# 1. one registry: get(name), aliases, names that cannot be taken, notebook redefinitions
# --------------------------------------------------------------------------------------------

def test_every_get_resolves_through_the_registry_including_your_aliases():
    @snn.register(aliases=("swish_test",))
    class Swish(A.Activation):
        _forward_fn = staticmethod(lambda x: x * F.sigmoid(x))

    @snn.register(aliases=("scaled_mse_test",))
    class ScaledMSE(losses.MSE):
        pass

    @snn.register(aliases=("plain_sgd_test",))
    class PlainSGD(O.SGD):
        pass

    @snn.register(aliases=("halves_test",))
    def halves(shape, rng=None, dtype=np.float32):
        return np.full(shape, 0.5, dtype)

    assert type(A.get("swish_test")) is Swish
    assert type(losses.get("scaled_mse_test")) is ScaledMSE
    assert type(O.get("plain_sgd_test")) is PlainSGD
    assert init.get("Halves_Test") is halves  # initializer names ignore case, as before
    model = snn.Sequential([Dense(3, 2, init="halves_test")], seed=0)
    np.testing.assert_array_equal(model.layers[0].W.value, 0.5)
    model.compile(loss="scaled_mse_test", optimizer="plain_sgd_test")
    assert type(model.loss) is ScaledMSE and type(model.optimizer) is PlainSGD
    # the built-in names and aliases are unchanged
    for name, cls in [("relu", A.ReLU), ("leaky_relu", A.LeakyReLU), ("ReLU", A.ReLU)]:
        assert type(A.get(name)) is cls
    for name, cls in [("cross_entropy", losses.CrossEntropy), ("MSE", losses.MSE),
                      ("categorical_crossentropy", losses.CrossEntropy),
                      ("binary_crossentropy", losses.BinaryCrossEntropy)]:
        assert type(losses.get(name)) is cls
    assert type(O.get("adamw")) is O.AdamW and init.get("he") is init.he_normal


def test_unknown_names_list_the_choices_with_yours_among_them():
    @snn.register(aliases=("hinge_test",))
    class Hinge(losses.MSE):
        pass

    with pytest.raises(ValueError, match=r"unknown loss 'hinge'; choose one of \[.*"
                                         r"'cross_entropy'.*'hinge_test'.*'mse'"):
        losses.get("hinge")
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'; choose one of \[") as info:
        A.get("gelu")
    for name in ("'leaky_relu'", "'relu'", "'sigmoid'", "'softmax'", "'tanh'"):
        assert name in str(info.value)
    assert "Dense" not in str(info.value)  # activations only
    with pytest.raises(ValueError, match=r"unknown optimizer 'lbfgs'; choose one of \[.*'adam'"):
        O.get("lbfgs")
    with pytest.raises(ValueError, match=r"unknown initializer 'kaiming'.*'he_normal'"):
        init.get("kaiming")


def test_a_class_of_yours_never_takes_a_builtin_name(tmp_path):
    class Dense(snn.layers.Dense):  # the same name as the built-in, on purpose
        pass

    class Gelu(A.Activation):
        pass

    # saved and loaded as what it is, not as the built-in of the same name
    model = snn.Sequential([Dense(2, 3), snn.layers.Dense(3, 2)], seed=0)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert [type(layer) for layer in loaded.layers] == [Dense, snn.layers.Dense]
    key = snn.registry.LAYERS.key_of(Dense)
    assert key != "Dense" and key.endswith(".Dense")
    assert [spec["class"] for spec in _config_of(tmp_path / "m.npz")["layers"]] == [key, "Dense"]
    assert snn.registry.LAYERS.get("Dense") is snn.layers.Dense
    with pytest.raises(ValueError, match=r"name 'Dense' is taken by scratchnn.layers.Dense"):
        snn.register(Dense, name="Dense")
    with pytest.raises(ValueError, match=r"name 'relu' is taken by scratchnn.activations.ReLU"):
        snn.register(Gelu, aliases=("relu",))
    assert type(A.get("relu")) is A.ReLU and snn.registry.LAYERS.key_of(Dense) == key


CELL = """
import numpy as np
import scratchnn as snn


class Twice(snn.Layer):
    preserves_shape = True

    def forward(self, x, training=False):
        return x * {factor}

    def backward(self, grad_out):
        return grad_out * {factor}


@snn.register(name="cell_test>Thrice")
class Thrice(Twice):
    pass
"""


def test_running_a_notebook_cell_again_replaces_its_classes(tmp_path):
    cell = {"__name__": "notebook_test"}
    exec(CELL.format(factor=2), cell)
    first = cell["Twice"]
    snn.Sequential([first()], seed=0).save(tmp_path / "m.npz")
    exec(CELL.format(factor=3), cell)  # the same cell again, edited: no error
    assert cell["Twice"] is not first
    assert snn.registry.LAYERS.get("notebook_test.Twice") is cell["Twice"]
    assert snn.registry.LAYERS.get("cell_test>Thrice") is cell["Thrice"]
    loaded = snn.load_model(tmp_path / "m.npz")  # the current definition is the one loaded
    assert type(loaded.layers[0]) is cell["Twice"]
    np.testing.assert_array_equal(loaded.predict(np.ones((1, 2))), [[3.0, 3.0]])
    other = {"__name__": "another_module_test"}
    with pytest.raises(ValueError, match=r"'cell_test>Thrice' is taken by notebook_test.Thrice"):
        exec(CELL.format(factor=4), other)


# --------------------------------------------------------------------------------------------
# 2. custom layers, losses, optimizers and schedules: saved and loaded
# --------------------------------------------------------------------------------------------

def test_a_custom_layer_loss_optimizer_and_schedule_round_trip(tmp_path):
    class ScaledMSE(losses.MSE):
        def __init__(self, weight=1.0):
            super().__init__()
            self.weight = float(weight)

        def get_config(self):
            return {"weight": self.weight}

        def forward(self, pred, target):
            return self.weight * super().forward(pred, target)

        def backward(self):
            return self.weight * super().backward()

    class Halving(S.Schedule):
        def __init__(self, lr0, every):
            self.lr0, self.every = lr0, every

        def __call__(self, step):
            return self.lr0 * 0.5 ** (step // self.every)

    class CappedSGD(O.SGD):
        def __init__(self, lr=0.01, cap=1.0, weight_decay=0.0, clip_norm=None):
            super().__init__(lr, weight_decay, clip_norm)
            self.cap = float(cap)

        def get_config(self):
            return {**super().get_config(), "cap": self.cap}

    x, y = _data()
    model = snn.Sequential([Dense(3, 4), Scale(4), Dense(4, 1)], seed=0)
    model.compile(loss=ScaledMSE(2.0), optimizer=CappedSGD(lr=Halving(0.1, 3), cap=0.5))
    model.fit(x, y.astype(np.float32), epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert [type(layer) for layer in loaded.layers] == [Dense, Scale, Dense]
    assert loaded.layers[1].name == "scale_0"
    np.testing.assert_array_equal(loaded.layers[1].gamma.value, model.layers[1].gamma.value)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert type(loaded.loss) is ScaledMSE and loaded.loss.weight == 2.0
    assert type(loaded.optimizer) is CappedSGD and loaded.optimizer.cap == 0.5
    assert type(loaded.optimizer.lr) is Halving
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.current_lr == model.optimizer.current_lr == 0.025
    assert loaded.evaluate(x, y) == model.evaluate(x, y)


def test_a_custom_class_whose_config_cannot_rebuild_it_fails_at_save_time(tmp_path):
    class Weighted(losses.MSE):  # __init__ takes weight, get_config is not overridden
        def __init__(self, weight):
            super().__init__()
            self.weight = weight

    class Shift(snn.Layer):  # the same mistake in a layer
        preserves_shape = True

        def __init__(self, amount, name=None):
            super().__init__(name)
            self.amount = amount

    class Tagged(snn.Layer):  # a config that is not plain JSON
        preserves_shape = True

        def __init__(self, tag=None, name=None):
            super().__init__(name)
            self.tag = tag

        def get_config(self):
            return {"tag": self.tag}

    class Nudge(O.SGD):  # and in an optimizer
        def __init__(self, lr=0.01, nudge=0.1):
            super().__init__(lr)
            self.nudge = nudge

    path = tmp_path / "m.npz"
    with pytest.raises(TypeError, match=r"save: the optimizer Nudge cannot be saved: "
                                        r"Nudge.get_config\(\) returns .*weight_decay"):
        snn.Sequential([Dense(2, 1)], seed=0).compile(optimizer=Nudge()).save(path)
    model = snn.Sequential([Dense(2, 1)], seed=0).compile(loss=Weighted(2.0), optimizer="sgd")
    with pytest.raises(TypeError, match=r"save: the loss Weighted cannot be saved: "
                                        r"Weighted.get_config\(\) returns \{\}.*weight"):
        model.save(path)
    with pytest.raises(TypeError, match=r"save: layer shift_0 \(Shift\) cannot be saved: "
                                        r".*get_config must return the constructor's arg"):
        snn.Sequential([Dense(2, 2), Shift(1.0)], seed=0).save(path)
    with pytest.raises(TypeError, match=r"save: layer tagged_0 \(Tagged\) cannot be saved: "
                                        r".*not JSON serializable"):
        snn.Sequential([Tagged(object())], seed=0).save(path)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_a_class_that_is_not_registered_at_load_time_is_named_with_the_fix(tmp_path):
    model = snn.Sequential([Dense(3, 4), Scale(4)], seed=0)
    model.save(tmp_path / "m.npz")
    config = _config_of(tmp_path / "m.npz")
    key = snn.registry.LAYERS.key_of(Scale)
    assert config["layers"][1]["class"] == key == f"{__name__}.Scale"
    config["layers"][1]["class"] = "elsewhere.Scale"  # saved where the module had that name
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        arrays = dict(f)
    arrays["__config__"] = np.array(json.dumps(config))
    np.savez(tmp_path / "moved.npz", **arrays)
    with pytest.raises(ValueError) as info:
        snn.load_model(tmp_path / "moved.npz")
    message = str(info.value)
    for part in ("no layer class 'elsewhere.Scale' is registered",
                 "(registered under another name: [", repr(key),
                 "define or import it before loading",
                 "scratchnn.register(YourClass, name='elsewhere.Scale')"):
        assert part in message, message
    snn.register(Scale, name="elsewhere.Scale")  # what the message says: now it loads
    try:
        loaded = snn.load_model(tmp_path / "moved.npz")
        assert type(loaded.layers[1]) is Scale
    finally:
        snn.register(Scale, name=key)


CUSTOM_PARTS = '''
import numpy as np
import scratchnn as snn


class Gain(snn.Layer):
    """out = x * gain, with a saved buffer ``gain``."""

    preserves_shape = True

    def __init__(self, num_features, name=None):
        super().__init__(name)
        self.num_features = num_features
        self.gain = np.ones(num_features, np.float32)

    def get_config(self):
        return {"num_features": self.num_features}

    def buffers(self):
        return {"gain": self.gain}

    def set_buffer(self, key, value):
        if key != "gain":
            super().set_buffer(key, value)
        self.gain = value.astype(self.dtype)

    def forward(self, x, training=False):
        return x * self.gain

    def backward(self, grad_out):
        return grad_out * self.gain


class DoubledCrossEntropy(snn.losses.CrossEntropy):
    def forward(self, pred, target):
        return 2.0 * super().forward(pred, target)

    def backward(self):
        return 2.0 * super().backward()
'''

LOAD = """
import sys
import numpy as np
import scratchnn as snn
if sys.argv[3] == "import":
    import custom_parts  # noqa: F401  (its classes register themselves)
try:
    model = snn.load_model(sys.argv[1])
except ValueError as exc:
    print(exc)
    sys.exit(3)
np.save(sys.argv[2], model.predict(np.load("x.npy")))
print(type(model.layers[1]).__module__, type(model.loss).__name__)
"""


@pytest.fixture(scope="module")
def custom_parts(tmp_path_factory):
    """A module of custom classes, imported here and importable by a fresh process."""
    folder = tmp_path_factory.mktemp("custom")
    (folder / "custom_parts.py").write_text(CUSTOM_PARTS)
    sys.path.insert(0, str(folder))
    try:
        yield folder, importlib.import_module("custom_parts")
    finally:
        sys.path.remove(str(folder))


def test_custom_classes_load_in_a_fresh_process_that_imports_them(custom_parts):
    folder, parts = custom_parts
    x, y = _data(features=2, classes=3)
    model = snn.Sequential([Dense(2, 3), parts.Gain(3), Dense(3, 3)], seed=0)
    model.layers[1].set_buffer("gain", np.array([0.5, 2.0, 3.0]))
    model.compile(loss=parts.DoubledCrossEntropy(), optimizer="adam")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(folder / "model.npz")
    np.save(folder / "x.npy", x)
    done = subprocess.run([sys.executable, "-c", LOAD, "model.npz", "out.npy", "import"],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["custom_parts", "DoubledCrossEntropy"]
    np.testing.assert_array_equal(np.load(folder / "out.npy"), model.predict(x))

    missing = subprocess.run([sys.executable, "-c", LOAD, "model.npz", "out.npy", "no"],
                             cwd=folder, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 3, missing.stderr
    assert "no layer class 'custom_parts.Gain' is registered" in missing.stdout
    assert "define or import it before loading" in missing.stdout
    assert "scratchnn.register" in missing.stdout


# --------------------------------------------------------------------------------------------
# 3. initializers: objects and registered functions round-trip
# --------------------------------------------------------------------------------------------

def test_initializer_objects_round_trip_through_save_and_load(tmp_path):
    class Constant(init.Initializer):
        __slots__ = ("value",)

        def __init__(self, value=0.0):
            self.value = float(value)

        def __call__(self, shape, rng=None, dtype=np.float32):
            return np.full(shape, self.value, dtype)

        def get_config(self):
            return {"value": self.value}

    layers = [Dense(3, 4, init=init.Normal(0.05)), Dense(4, 4, init=Constant(0.25)),
              Dense(4, 2, init="normal")]
    model = snn.Sequential(layers, seed=0)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert isinstance(loaded.layers[0].init, init.Normal) and loaded.layers[0].init.std == 0.05
    assert [spec["config"]["init"] for spec in _config_of(tmp_path / "m.npz")["layers"]] == [
        {"class": "Normal", "config": {"std": 0.05}},
        {"class": snn.registry.INITIALIZERS.key_of(Constant), "config": {"value": 0.25}},
        "normal"]
    assert type(loaded.layers[1].init) is Constant and loaded.layers[1].init.value == 0.25
    assert [layer.get_config() for layer in loaded.layers] == \
        [layer.get_config() for layer in model.layers]
    # the loaded configs re-initialize exactly as the originals did
    rebuilt = snn.Sequential([Dense(**layer.get_config()) for layer in loaded.layers], seed=0)
    for a, b in zip(rebuilt.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_initializer_functions_are_saved_once_registered(tmp_path):
    def thirds(shape, rng=None, dtype=np.float32):
        return np.full(shape, 1 / 3, dtype)

    model = snn.Sequential([Dense(2, 3, init=thirds)], seed=0)
    with pytest.raises(TypeError, match=r"save: layer dense_0 \(Dense\) cannot be saved: "
                                        r"cannot save the initializer .*thirds.*"
                                        r"scratchnn.register"):
        model.save(tmp_path / "m.npz")
    lambda_layer = Dense(2, 3, init=lambda shape, rng, dtype: np.zeros(shape, dtype))
    assert repr(lambda_layer) == "Dense(name='dense')"  # repr does not fail
    snn.register(thirds)
    model.save(tmp_path / "m.npz")
    key = snn.registry.INITIALIZERS.key_of(thirds)
    assert key.endswith("<locals>.thirds")
    assert _config_of(tmp_path / "m.npz")["layers"][0]["config"]["init"] == key
    loaded = snn.load_model(tmp_path / "m.npz")
    assert init.get(loaded.layers[0].init) is thirds


# --------------------------------------------------------------------------------------------
# 4. no import cycle between the model and the saving code
# --------------------------------------------------------------------------------------------

def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(module, at top level)`` for every import of a scratchnn module in ``path``."""
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "")
                                                 .startswith("scratchnn")):
            names = [node.module or ""] + [alias.name for alias in node.names]
            found += [(name.rsplit(".", 1)[-1], id(node) in top) for name in names]
    return found


def test_model_and_serialization_do_not_import_each_other_in_functions():
    serialization = _imports(SOURCE / "serialization.py")
    model = _imports(SOURCE / "model.py")
    assert not [name for name, _ in serialization if name == "model"], serialization
    assert ("serialization", True) in model and ("serialization", False) not in model
    assert snn.registry.MODELS.get("Sequential") is snn.Sequential


# --------------------------------------------------------------------------------------------
# 5. shapes: Sequential asks the layers
# --------------------------------------------------------------------------------------------

def test_a_size_mismatch_with_a_custom_layer_is_caught_at_construction():
    with pytest.raises(ValueError, match="Sequential: scale_0 expects 4 input features but the "
                                         "previous layer outputs 3"):
        snn.Sequential([Dense(2, 3), Scale(4)])
    with pytest.raises(ValueError, match="Sequential: dense_1 expects 5 input features but the "
                                         "previous layer outputs 6"):
        snn.Sequential([Dense(2, 3), Project(3, 6), A.ReLU(), Dense(5, 2)])
    with pytest.raises(ValueError, match="project_0 expects 3 input features but the previous "
                                         "layer outputs 4"):
        snn.Sequential([Dense(2, 4), Project(3, 6)])


def test_input_output_features_and_summary_come_from_the_layer_methods():
    model = snn.Sequential([Project(5, 6), A.ReLU(), Scale(6)], seed=0)
    assert model.input_features == 5 and model.output_features == 6
    summary = model.summary(print_fn=None)
    assert re.search(r"project_0 +Project +\(None, 6\) ", summary), summary
    assert re.search(r"scale_0 +Scale +\(None, 6\) ", summary), summary
    with pytest.raises(ValueError, match=r"predict: the model expects x of shape \(N, 5\)"):
        model.predict(np.ones((2, 4)))
    flat = snn.Sequential([Flatten(), Project(6, 2)], seed=0)  # output_shape(None) is None
    assert flat.input_features is None and flat.output_features == 2
    assert "(None, ?)" in flat.summary(print_fn=None)


def test_attributes_that_happen_to_share_a_name_are_not_probed():
    class Tagged(snn.Layer):
        preserves_shape = True

        def __init__(self, name=None):
            super().__init__(name)
            self.num_features = 99    # a note of the layer's own, not a size for Sequential
            self.out_features = "n/a"

        def forward(self, x, training=False):
            return x

        def backward(self, grad_out):
            return grad_out

    model = snn.Sequential([Dense(2, 3), Tagged(), Dense(3, 2)], seed=0)
    assert model.input_features == 2 and model.output_features == 2
    assert re.search(r"tagged_0 +Tagged +\(None, 3\) ", model.summary(print_fn=None))


# --------------------------------------------------------------------------------------------
# 6. one helper turns a seed into a generator
# --------------------------------------------------------------------------------------------

def test_only_the_rng_helper_calls_default_rng():
    callers = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr",
                                                      getattr(node.func, "id", None)) \
                    == "default_rng":
                callers.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert {caller.split(":")[0] for caller in callers} == {"rng.py"}, callers


@pytest.mark.parametrize("make", [
    lambda seed: snn.Sequential([Dense(2, 2)], seed=seed),
    lambda seed: Dense(2, 2, seed=seed),
    lambda seed: Dropout(0.5, seed=seed),
    lambda seed: init.he_normal((2, 2), seed),
    lambda seed: snn.gradcheck.check_layer(Dense(2, 2, seed=0), np.ones((2, 2)), seed=seed),
], ids=["Sequential", "Dense", "Dropout", "he_normal", "check_layer"])
def test_every_seed_is_an_int_none_or_a_generator(make):
    for bad in (True, 1.5, "0"):
        with pytest.raises(TypeError, match=r"(seed|rng) must be an int, None or an "
                                            r"np.random.Generator, got"):
            make(bad)
    make(None)
    make(3)
    make(np.random.default_rng(0))


def test_a_generator_is_shared_not_copied():
    with pytest.raises(ValueError, match="Dense: seed must be a non-negative int, got -1"):
        Dense(2, 2, seed=-1)
    rng = np.random.default_rng(0)
    assert snn.Sequential([Dense(2, 2)], seed=rng).rng is rng
    assert Dropout(0.5, seed=rng).rng is rng
    assert snn.data.DataLoader(np.zeros((4, 2)), seed=rng).rng is rng
    assert snn.rng.as_generator(rng) is rng
    a, b = snn.rng.as_generator(7), snn.rng.as_generator(7)
    assert a is not b and a.integers(1 << 30) == b.integers(1 << 30)


def test_the_docs_describe_registration():
    doc = (SOURCE.parents[1] / "docs" / "library.md").read_text()
    section = doc[doc.index("### Saving your own layers"):]
    section = section[:section.index("\n## ")]
    for needle in ("snn.register", "get_config", "load_model", "__main__.", "expected_input_"
                   "features", "fresh process"):
        assert needle in section, needle
    assert "raises `TypeError` for others" not in doc  # the old limitation is gone


def test_find_key_is_none_for_an_unregistered_object_and_the_key_otherwise():
    def unregistered(y_true, y_pred):
        return 0.0

    metrics = snn.registry.METRICS
    assert metrics.find_key(unregistered) is None
    with pytest.raises(TypeError, match="not a registered"):
        metrics.key_of(unregistered)
    assert metrics.find_key(snn.metrics.accuracy) == metrics.key_of(snn.metrics.accuracy)
