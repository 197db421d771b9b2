"""The training fast path gives the same numbers as the plain path, and never touches what it
does not own: the flat parameter buffer (one optimizer update for all parameters), gradients
written into reused arrays, and ReLU in place after a Dense layer inside a Sequential."""

import copy

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn import optimizers
from scratchnn.activations import ReLU
from scratchnn.core import Layer, Parameter
from scratchnn.layers import Dense
from scratchnn.model import Sequential


def _data(n=96, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)


def _mlp(seed=1, relu=ReLU, dtype=np.float32):
    return Sequential([Dense(6, 16), relu(), Dense(16, 8), relu(), Dense(8, 3)], seed=seed,
                      dtype=dtype)


def _unflatten(model):
    """Give every parameter its own array again: the optimizer then goes parameter by
    parameter (the group is no longer intact)."""
    for p in model.parameters():
        p.value = p.value.copy()


OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(0.05),
    "momentum": lambda: optimizers.Momentum(0.05, nesterov=True),
    "rmsprop": lambda: optimizers.RMSProp(0.01, weight_decay=0.01),
    "adam": lambda: optimizers.Adam(0.01, weight_decay=0.001),
    "adamw": lambda: optimizers.AdamW(0.01, weight_decay=0.05),
    "adagrad": lambda: optimizers.Adagrad(0.05, weight_decay=0.01),
    # issue 17: decay with exclusions, coupled and decoupled
    "momentum_exclude": lambda: optimizers.Momentum(0.05, weight_decay=0.05,
                                                    exclude_from_weight_decay=["b"]),
    "adamw_exclude": lambda: optimizers.AdamW(0.01, weight_decay=0.05,
                                              exclude_from_weight_decay=["b", "dense_2.*"]),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_flat_update_trains_exactly_like_the_per_parameter_one(name):
    x, y = _data()
    flat, plain = _mlp(), _mlp()
    _unflatten(plain)
    for model in (flat, plain):
        model.compile("cross_entropy", OPTIMIZERS[name](), metrics=[])
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)  # 18 steps: past two flushes
    assert flat.optimizer._flat_cache is not None  # the flat path really ran ...
    assert plain.optimizer._flat_cache is None  # ... and the other did not
    for a, b in zip(flat.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # the state a user reads is the same either way (views of the flat state, or arrays)
    sa, sb = flat.optimizer.state_dict(), plain.optimizer.state_dict()
    assert sa["iterations"] == sb["iterations"] == 18
    for pname, entry in sa["state"].items():
        for key, value in entry.items():
            np.testing.assert_array_equal(value, sb["state"][pname][key])


def test_a_deep_copied_model_trains_on_its_own_arrays():
    """A deep copy's views no longer share one buffer: the optimizer must notice and update
    the copy's own arrays (not a stale flat buffer), and leave the original alone."""
    x, y = _data()
    original = _mlp()
    before = original.get_weights()
    clone = copy.deepcopy(original)
    reference = _mlp()
    for model in (clone, reference):
        model.compile("cross_entropy", optimizers.Adam(0.01), metrics=[])
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b, c in zip(clone.get_weights(), reference.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    for a, c in zip(original.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, c)


class Scale(Layer):
    """A custom layer with a parameter, assigning a new gradient array in backward."""

    preserves_shape = True

    def __init__(self, features=3, name=None):
        super().__init__(name)
        self.features = features
        self.s = Parameter(np.ones(features, np.float32), "s")
        self._x = None

    def parameters(self):
        return [self.s]

    def get_config(self):
        return {"features": self.features}

    def forward(self, x, training=False):
        self._x = x
        return x * self.s.value

    def backward(self, grad_out):
        self.s.grad = np.sum(grad_out * self._x, axis=0)
        return grad_out * self.s.value


def test_gradients_a_custom_layer_assigns_join_the_flat_update():
    x, y = _data()
    models = []
    for flat in (True, False):
        model = Sequential([Dense(6, 8), ReLU(), Dense(8, 3), Scale(3)], seed=3)
        if not flat:
            _unflatten(model)
        model.compile("cross_entropy", optimizers.Adam(0.02), metrics=[])
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        models.append(model)
    assert models[0].optimizer._flat_cache is not None
    for a, b in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(models[0].layers[-1].s.value, np.ones(3))  # it did train


def test_a_parameter_reassigned_by_the_user_is_still_trained():
    x, y = _data()
    model = _mlp()
    model.compile("cross_entropy", optimizers.SGD(0.1), metrics=[])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    layer = model.layers[0]
    layer.W.value = np.zeros_like(layer.W.value)  # the user's own array: no longer a view
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert np.abs(layer.W.value).sum() > 0


class PlainReLU(ReLU):
    """A subclass overriding forward: the in-place path must not be used for it."""

    def forward(self, x, training=False):
        self.seen = x
        return super().forward(x, training)


def test_relu_in_place_trains_exactly_like_the_plain_relu():
    x, y = _data()
    fast, plain = _mlp(relu=ReLU), _mlp(relu=PlainReLU)
    assert fast._plan()[0] == [False, True, False, True, False]
    assert plain._plan()[0] == [False] * 5
    for model in (fast, plain):
        model.compile("cross_entropy", optimizers.Adam(0.01), metrics=[])
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(fast.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # and the subclass saw the Dense output unmodified (no ReLU applied to it in place)
    assert (plain.layers[1].seen < 0).any()


def test_what_the_user_passes_in_is_never_overwritten():
    x, _ = _data()
    x_copy = x.copy()
    model = Sequential([ReLU(), Dense(6, 4), ReLU()], seed=0)  # ReLU first and last
    out = model.forward(x, training=True)
    np.testing.assert_array_equal(x, x_copy)
    grad = np.ones_like(out)
    model.backward(grad)
    np.testing.assert_array_equal(grad, np.ones_like(out))
    relu = ReLU()
    relu.forward(x)
    g = np.full_like(x, 2.0)
    relu.backward(g)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(g, 2.0)


class KeepsOutput(Dense):
    """Overrides forward and keeps its output: its output is not a temporary any more."""

    def forward(self, x, training=False):
        self.kept = super().forward(x, training)
        return self.kept


def test_a_layer_that_keeps_its_output_does_not_get_it_overwritten():
    x, _ = _data()
    model = Sequential([KeepsOutput(6, 8), ReLU(), Dense(8, 2)], seed=0)
    model.forward(x, training=True)
    assert (model.layers[0].kept < 0).any()
    np.testing.assert_allclose(model.layers[0].kept, F.dense(x, model.layers[0].W.value,
                                                             model.layers[0].b.value))


def test_dense_writes_its_gradients_into_one_reused_array_per_parameter():
    rng = np.random.default_rng(2)
    layer = Dense(5, 4, seed=0)
    x, g = rng.standard_normal((7, 5)).astype(np.float32), \
        rng.standard_normal((7, 4)).astype(np.float32)
    layer.forward(x)
    gx = layer.backward(g)
    ref_x, ref_W, ref_b = F.dense_backward(g, x, layer.W.value)
    np.testing.assert_allclose(gx, ref_x, rtol=1e-6)
    np.testing.assert_allclose(layer.W.grad, ref_W, rtol=1e-6)
    np.testing.assert_allclose(layer.b.grad, ref_b, rtol=1e-6)
    first = layer.W.grad
    layer.backward(2 * g)
    assert layer.W.grad is first  # overwritten in place, as documented
    np.testing.assert_allclose(layer.W.grad, 2 * ref_W, rtol=1e-6)


def test_loading_and_set_weights_keep_the_flat_buffer(tmp_path):
    """Weights are restored into the model's arrays, not swapped for new ones, so a loaded
    model trains on the flat path too."""
    import scratchnn as snn

    x, y = _data()
    model = _mlp()
    model.compile("cross_entropy", optimizers.Adam(0.01), metrics=[])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert loaded._flat.intact(loaded.parameters())
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    loaded.set_weights(model.get_weights())
    assert loaded._flat.intact(loaded.parameters())
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert loaded.optimizer._flat_cache is not None


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, None])
@pytest.mark.parametrize("layout", ["c", "fortran"])
def test_the_one_pass_input_check_finds_non_finite_values_and_only_those(bad, layout):
    """fit's input check is one dot product over the data; huge finite values overflow it to
    inf, and then the exact search must clear them instead of rejecting the data."""
    from scratchnn.model import _as_float_input

    x = np.full((50, 7), 3e37 if bad is None else 0.5, np.float32)
    if bad is not None:
        x[31, 4] = bad
    x = np.asfortranarray(x) if layout == "fortran" else x
    if bad is None:
        assert _as_float_input(x, np.float32, "fit") is x
    else:
        with pytest.raises(ValueError, match=r"NaN or inf \(first at index \(31, 4\)\)"):
            _as_float_input(x, np.float32, "fit")
