"""Sequential: whole-model gradient check, structure, weights, dtypes, determinism, input
validation (clear errors naming the argument/layer and the shapes) and no mutation of the
caller's arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import scratchnn as snn
from scratchnn import activations as A
from scratchnn import losses
from scratchnn import optimizers as O
from scratchnn.layers import BatchNorm, Dense, Dropout, Flatten


def mlp(seed=0, dtype=np.float32, d_in=4, hidden=8, classes=3, dropout=0.0, batchnorm=False):
    layers = [Dense(d_in, hidden)]
    if batchnorm:
        layers.append(BatchNorm(hidden))
    layers.append(A.ReLU())
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(hidden, classes))
    return snn.Sequential(layers, seed=seed, dtype=dtype)


def toy_data(n=60, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int) if classes == 3 \
        else (x[:, 0] > 0).astype(int)
    return x.astype(np.float32), y


# --------------------------------------------------------------------------------------------
# Whole-model gradient check (float64)
# --------------------------------------------------------------------------------------------

LOSSES = {
    "cross_entropy": (lambda: losses.CrossEntropy(), 3),
    "cross_entropy_probs": (lambda: losses.CrossEntropy(from_logits=False), 3),
    "binary_cross_entropy": (lambda: losses.BinaryCrossEntropy(), 1),
    "mse": (lambda: losses.MSE(), 2),
}


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
# The draws near a ReLU kink or with a nearly constant batch-norm feature are skipped by design
# (assume below); some seeds skip most of their first draws, which Hypothesis' health check
# reported as an error (seen once in a full run; reproducible on the code before issue 16).
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(n=st.integers(4, 8), d=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_sequential_gradients_match_central_differences(numgrad, grad_close, loss_name, n, d,
                                                        seed):
    make_loss, out = LOSSES[loss_name]
    rng = np.random.default_rng(seed)
    head = [A.Softmax()] if loss_name == "cross_entropy_probs" else []
    model = snn.Sequential([Dense(d, 5), A.ReLU(), Dropout(0.3), Dense(5, 4), BatchNorm(4),
                            A.Tanh(), Dense(4, 3), A.Sigmoid(), Dense(3, out), *head],
                           seed=seed, dtype=np.float64)
    bn = model.layers[4]
    bn.gamma.value = rng.uniform(0.5, 2, 4)
    bn.beta.value = rng.standard_normal(4)
    x = rng.standard_normal((n, d))
    # keep the first ReLU's inputs out of reach of its kink: a perturbation of size 2h of one
    # entry of x, W or b moves them by at most 2h * max(1, |x|, |W|)
    step = 2.5e-4
    W = model.layers[0].W.value
    z = x @ W + model.layers[0].b.value
    assume(np.min(np.abs(z)) > 2.5 * step * max(1.0, np.abs(x).max(), np.abs(W).max()))
    if loss_name == "mse":
        y = rng.standard_normal((n, out))
    elif loss_name == "binary_cross_entropy":
        y = rng.integers(0, 2, (n, 1)).astype(float)
    else:
        y = rng.integers(0, out, n)
    loss = make_loss()
    mask_seed = int(rng.integers(2**31))

    def objective(v=x):
        model.layers[2].rng = np.random.default_rng(mask_seed)  # a fixed dropout mask
        return loss.forward(model.forward(v, training=True), y)

    # batch norm is strongly curved when a feature barely varies over the batch compared with
    # the values that feed it: skip such draws, where the O(h^4) truncation error of the
    # finite difference (not the backward pass) would dominate
    h = x
    model.layers[2].rng = np.random.default_rng(mask_seed)
    for layer in model.layers[:3]:
        h = layer.forward(h, training=True)
    u = model.layers[3].forward(h)
    assume(np.min(u.std(axis=0)) > 0.1 * max(1.0, np.abs(h).max(), np.abs(x).max()))

    objective()
    grad_x = model.backward(loss.backward())
    analytic = [p.grad.copy() for p in model.parameters()]
    assert all(g.dtype == np.float64 for g in analytic)
    grad_close(grad_x, numgrad(objective, x, h=step), floor=3e-5)
    for p, a in zip(model.parameters(), analytic, strict=True):
        original = p.value

        def of_param(v, p=p):
            p.value = v
            return objective()

        try:
            numeric = numgrad(of_param, original, h=step)
        finally:
            p.value = original
        if p is model.layers[3].b:
            # a bias right before training-mode batch norm cancels out: its gradient is 0
            assert np.max(np.abs(a)) < 1e-12 and np.max(np.abs(numeric)) < 1e-9
        else:
            grad_close(a, numeric, floor=3e-5)


def test_backward_without_input_gradient_gives_the_same_parameter_gradients():
    class NoBackward(A.Activation):  # identity whose backward must not be reached
        def backward(self, grad_out):
            raise AssertionError("a layer before the first parameter layer was visited")

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 2, 2)), rng.integers(0, 3, 6)
    model = snn.Sequential([NoBackward(), Flatten(), Dense(4, 5), BatchNorm(5), A.Tanh(),
                            Dense(5, 3)], seed=0, dtype=np.float64)
    loss = losses.CrossEntropy()
    loss.forward(model.forward(x, training=True), y)
    grad = loss.backward()
    assert model.backward(grad, input_grad=False) is None
    partial = [p.grad.copy() for p in model.parameters()]
    model.layers[0] = A.Activation()  # a plain identity: now backpropagate down to dL/dx
    model.layers[0].forward(x)
    grad_x = model.backward(grad)
    assert grad_x.shape == x.shape
    for a, p in zip(partial, model.parameters(), strict=True):
        np.testing.assert_array_equal(a, p.grad)
    gx, gW, gb = snn.functional.dense_backward(grad, rng.standard_normal((6, 4)),
                                               rng.standard_normal((4, 3)), input_grad=False)
    assert gx is None and gW.shape == (4, 3) and gb.shape == (3,)


# --------------------------------------------------------------------------------------------
# Structure and weights
# --------------------------------------------------------------------------------------------

def test_parameter_names_and_keras_weight_order():
    model = snn.Sequential([Dense(4, 6), BatchNorm(6), A.ReLU(), Dense(6, 2)], seed=0)
    assert [p.name for p in model.parameters()] == [
        "dense_0.W", "dense_0.b", "batchnorm_0.gamma", "batchnorm_0.beta", "dense_1.W",
        "dense_1.b"]
    # Keras order: Dense W (in, out) then b; BatchNorm gamma, beta, running mean and variance
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 6), (6,), (6,), (6,), (6,), (6,), (6, 2), (2,)]
    bn = model.layers[1]
    expected = [model.layers[0].W.value, model.layers[0].b.value, bn.gamma.value,
                bn.beta.value, bn.running_mean, bn.running_var, model.layers[3].W.value,
                model.layers[3].b.value]
    for w, e in zip(weights, expected, strict=True):
        np.testing.assert_array_equal(w, e)
        assert not np.shares_memory(w, e)  # copies, not views
    assert model.count_params() == 4 * 6 + 6 + 12 + 6 * 2 + 2
    assert model.input_features == 4 and model.output_features == 2


def test_set_weights_writes_in_place_and_checks_shapes():
    model = mlp()
    values = [p.value for p in model.parameters()]
    rng = np.random.default_rng(1)
    new = [rng.standard_normal(w.shape) for w in model.get_weights()]  # float64 input
    model.set_weights(new)
    for p, v, w in zip(model.parameters(), values, new, strict=True):
        assert p.value is v and p.value.dtype == np.float32
        np.testing.assert_allclose(p.value, w, rtol=1e-6)
    with pytest.raises(ValueError, match="set_weights: the model has 4 weight arrays, got 3"):
        model.set_weights(new[:3])
    bad = list(new)
    bad[0] = np.zeros((8, 4))
    with pytest.raises(ValueError, match=r"set_weights: dense_0.W has shape \(4, 8\), got "
                                         r"\(8, 4\)"):
        model.set_weights(bad)


def test_same_seed_same_model_and_generator_seed():
    a, b, c = mlp(seed=5), mlp(seed=5), mlp(seed=6)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    d = mlp(seed=np.random.default_rng(5))
    assert d.rng is not None and d.get_weights()[0].shape == (4, 8)


def test_construction_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        snn.Sequential([])
    with pytest.raises(TypeError, match="item 1 is int, not a Layer"):
        snn.Sequential([Dense(2, 2), 3])
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        snn.Sequential([Dense(2, 2)], dtype=np.int32)
    with pytest.raises(ValueError, match="dense_1 expects 5 input features but the previous "
                                         "layer outputs 4"):
        snn.Sequential([Dense(2, 4), A.ReLU(), Dense(5, 1)])
    with pytest.raises(ValueError, match="batchnorm_0 expects 3 input features"):
        snn.Sequential([Dense(2, 4), BatchNorm(3)])


def test_compile_errors_and_uncompiled_use():
    model = mlp()
    x, y = toy_data()
    with pytest.raises(RuntimeError, match="fit: call model.compile"):
        model.fit(x, y, verbose=0)
    with pytest.raises(RuntimeError, match="evaluate: call model.compile"):
        model.evaluate(x, y)
    assert model.predict(x).shape == (60, 3)  # predict needs no compile
    with pytest.raises(ValueError, match="unknown metric 'top_k'"):
        model.compile(metrics=["top_k"])
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile(loss="nope")
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer="nope")
    assert model.compile(metrics="accuracy").metrics == ["accuracy"]


def test_summary_lists_layers_and_params():
    model = snn.Sequential([Dense(4, 6), BatchNorm(6), A.ReLU(), Dropout(0.2), Dense(6, 2)])
    lines = []
    text = model.summary(print_fn=lines.append)
    assert lines == [text]
    for name in ("dense_0", "batchnorm_0", "relu_0", "dropout_0", "dense_1", "(None, 6)",
                 "(None, 2)", f"Total params: {model.count_params():,}"):
        assert name in text


# --------------------------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam", "adamw"])
def test_dtype_is_kept_through_training(dtype, optimizer):
    model = mlp(dtype=dtype, dropout=0.2, batchnorm=True)
    opt = O.get(optimizer)
    opt.weight_decay = 0.01
    opt.clip_norm = 5.0
    model.compile("cross_entropy", opt)
    values = [p.value for p in model.parameters()]
    x, y = toy_data()
    model.fit(x.astype(np.float64), y, epochs=2, batch_size=16, verbose=0,
              validation_split=0.2)
    for p, v in zip(model.parameters(), values, strict=True):
        assert p.value is v  # updated in place
        assert p.value.dtype == dtype and p.grad.dtype == dtype
    for layer in model.layers:
        for buf in layer.buffers().values():
            assert buf.dtype == dtype
    for state in opt.state.values():
        for s in state.values():
            if isinstance(s, np.ndarray):
                assert s.dtype == dtype
    assert model.predict(x).dtype == dtype
    assert model.forward(x.astype(np.float64)).dtype == dtype


# --------------------------------------------------------------------------------------------
# Eval mode and determinism
# --------------------------------------------------------------------------------------------

def test_predict_and_evaluate_are_deterministic_eval_mode():
    model = mlp(dropout=0.5, batchnorm=True)
    model.compile("cross_entropy", "adam")
    x, y = toy_data()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    stats = [b.copy() for b in model.layers[1].buffers().values()]
    p1, p2 = model.predict(x), model.predict(x)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(p1, model.forward(x, training=False))
    np.testing.assert_array_equal(model.predict(x, batch_size=7), p1)  # batching is invisible
    e1, e2 = model.evaluate(x, y), model.evaluate(x, y, batch_size=5)
    assert e1 == e2 or all(e1[k] == pytest.approx(e2[k], rel=1e-6) for k in e1)
    assert e1 == model.evaluate(x, y)
    assert set(e1) == {"loss", "accuracy"}
    # eval mode never moves the batch-norm statistics
    for b, s in zip(model.layers[1].buffers().values(), stats, strict=True):
        np.testing.assert_array_equal(b, s)
    # and training mode really is different (dropout active)
    assert not np.array_equal(model.forward(x, training=True), p1)


def test_train_step_updates_the_parameters():
    model = mlp(dtype=np.float64)
    model.compile("cross_entropy", O.SGD(lr=0.1))
    x, y = toy_data()
    before = model.get_weights()
    loss, out = model.train_step(x.astype(np.float64), y)
    assert isinstance(loss, float) and out.shape == (60, 3)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(),
                                                          strict=True))


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------

@pytest.fixture
def compiled():
    model = mlp()
    model.compile("cross_entropy", "adam")
    return model


def test_wrong_feature_count(compiled):
    x, y = toy_data()
    for call in (lambda: compiled.fit(x[:, :3], y, verbose=0),
                 lambda: compiled.evaluate(x[:, :3], y)):
        with pytest.raises(ValueError, match=r"expects x of shape \(N, 4\) \(dense_0\), got x "
                                             r"of shape \(60, 3\)"):
            call()
    with pytest.raises(ValueError, match=r"predict: the model expects x of shape \(N, 4\).*"
                                         r"\(60, 3\)"):
        compiled.predict(x[:, :3])
    with pytest.raises(ValueError, match=r"predict.*\(N, 4\).*\(4,\)"):
        compiled.predict(x[0])
    with pytest.raises(ValueError, match=r"fit \(validation_data\).*\(N, 4\).*\(5, 2\)"):
        compiled.fit(x, y, validation_data=(x[:5, :2], y[:5]), verbose=0)


def test_wrong_feature_count_behind_flatten():
    model = snn.Sequential([Flatten(), Dense(6, 2)], seed=0)
    # named from the sample shape before any layer runs (since the CNN work of issue 17)
    with pytest.raises(ValueError, match=r"x of shape \(3, 2, 4\).*dense_0 expects 6 input "
                                         r"features but the previous layer outputs 8"):
        model.predict(np.zeros((3, 2, 4)))
    assert model.predict(np.zeros((3, 2, 3))).shape == (3, 2)


def test_labels_out_of_range(compiled):
    x, y = toy_data()
    y = y.copy()
    y[7] = 3
    with pytest.raises(ValueError, match="CrossEntropy: label 3 is out of range for 3 classes"):
        compiled.fit(x, y, verbose=0)
    y[7] = -1
    with pytest.raises(ValueError, match="label -1 is out of range"):
        compiled.evaluate(x, y)
    with pytest.raises(ValueError, match=r"CrossEntropy: targets of shape \(60, 4\)"):
        compiled.fit(x, np.zeros((60, 4)), verbose=0)
    with pytest.raises(TypeError, match="integer class labels"):
        compiled.fit(x, np.full(60, 0.5), verbose=0)


def test_mismatched_lengths(compiled):
    x, y = toy_data()
    with pytest.raises(ValueError, match=r"fit: x has 60 samples \(shape \(60, 4\)\) but y has "
                                         r"shape \(59,\)"):
        compiled.fit(x, y[:-1], verbose=0)
    with pytest.raises(ValueError, match=r"evaluate: x has 60 samples.*\(61,\)"):
        compiled.evaluate(x, np.append(y, 0))
    with pytest.raises(ValueError, match=r"x has 5 samples.*y has shape \(4,\)"):
        compiled.fit(x, y, validation_data=(x[:5], y[:4]), verbose=0)


def test_empty_data(compiled):
    empty = np.zeros((0, 4), np.float32)
    with pytest.raises(ValueError, match=r"fit: x is empty \(shape \(0, 4\)\)"):
        compiled.fit(empty, np.zeros(0, int), verbose=0)
    with pytest.raises(ValueError, match=r"predict: x is empty"):
        compiled.predict(empty)
    with pytest.raises(ValueError, match=r"evaluate: x is empty"):
        compiled.evaluate(empty, np.zeros(0, int))
    with pytest.raises(ValueError, match=r"predict: x is empty \(shape \(\)\)"):
        compiled.predict(np.float32(1.0))


@pytest.mark.parametrize("bad", [0, -4, 2.5, True, None])
def test_bad_batch_size(compiled, bad):
    x, y = toy_data()
    with pytest.raises(ValueError, match=f"fit: batch_size must be a positive integer, got "
                                         f"{bad!r}"):
        compiled.fit(x, y, batch_size=bad, verbose=0)
    with pytest.raises(ValueError, match="evaluate: batch_size"):
        compiled.evaluate(x, y, batch_size=bad)
    with pytest.raises(ValueError, match="predict: batch_size"):
        compiled.predict(x, batch_size=bad)


def test_other_fit_arguments(compiled):
    x, y = toy_data()
    with pytest.raises(ValueError, match="fit: epochs must be a non-negative integer, got -1"):
        compiled.fit(x, y, epochs=-1, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\), got 1.0"):
        compiled.fit(x, y, validation_split=1.0, verbose=0)
    with pytest.raises(ValueError, match="validation_split=0.001 of 60 samples leaves no"):
        compiled.fit(x, y, validation_split=0.001, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be \(x_val, y_val\) or"):
        compiled.fit(x, y, validation_data=(x,), verbose=0)
    history = compiled.fit(x, y, epochs=0, verbose=0)
    assert history.history == {}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_input(compiled, bad):
    x, y = toy_data()
    x = x.copy()
    x[3, 2] = bad
    with pytest.raises(ValueError, match=r"fit: x of shape \(60, 4\) contains NaN or inf "
                                         r"\(first at index \(3, 2\)\)"):
        compiled.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"predict: x of shape \(60, 4\) contains NaN or inf"):
        compiled.predict(x)
    with pytest.raises(ValueError, match=r"evaluate: x .*NaN or inf"):
        compiled.evaluate(x, y)
    with pytest.raises(ValueError, match=r"fit \(validation_data\): x .*NaN or inf"):
        compiled.fit(np.zeros((50, 4)), y[:50], validation_data=(x, y), verbose=0)
    model = mlp(classes=2)
    model.compile("mse", "sgd", metrics=[])
    with pytest.raises(ValueError, match=r"fit: y of shape \(60, 2\) contains NaN or inf"):
        model.fit(np.zeros((60, 4)), np.full((60, 2), bad), verbose=0)


def test_non_numeric_input(compiled):
    with pytest.raises(TypeError, match="predict: x must be a numeric array, got dtype <U1"):
        compiled.predict(np.array([["a", "b", "c", "d"]]))


def test_integer_inputs_are_cast(compiled):
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (40, 4))  # int64
    y = (x[:, 0] > 0).astype(np.int32)
    history = compiled.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    out = compiled.predict(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, compiled.predict(x.astype(np.float32)), rtol=1e-6)
    assert set(compiled.evaluate(x, y)) == {"loss", "accuracy"}
    # a binary model with integer 0/1 targets and bool inputs
    model = snn.Sequential([Dense(4, 1)], seed=0)
    model.compile("binary_cross_entropy", "sgd")
    model.fit(x > 0, y, epochs=1, verbose=0)
    assert model.predict(x > 0).shape == (40, 1)


# --------------------------------------------------------------------------------------------
# The caller's arrays are never mutated
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, y_kind", [("cross_entropy", "labels"),
                                          ("cross_entropy", "one_hot"),
                                          ("binary_cross_entropy", "binary"),
                                          ("mse", "regression")])
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
def test_fit_evaluate_predict_do_not_mutate_inputs(loss, y_kind, x_dtype):
    x, labels = toy_data(n=50)
    x = x.astype(x_dtype)
    classes = {"labels": 3, "one_hot": 3, "binary": 1, "regression": 2}[y_kind]
    y = {"labels": labels, "one_hot": np.eye(3, dtype=x_dtype)[labels],
         "binary": (labels > 0).astype(x_dtype),
         "regression": np.random.default_rng(0).standard_normal((50, 2)).astype(x_dtype)}[y_kind]
    model = mlp(classes=classes, dropout=0.3, batchnorm=True)
    model.compile(loss, "adam", metrics=[] if loss == "mse" else ["accuracy"])
    xv, yv = x[:10].copy(), y[:10].copy()
    copies = [a.copy() for a in (x, y, xv, yv)]
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_data=(xv, yv))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, validation_split=0.2)
    model.evaluate(x, y)
    model.predict(x)
    for a, c in zip((x, y, xv, yv), copies, strict=True):
        np.testing.assert_array_equal(a, c)
        assert a.dtype == c.dtype
