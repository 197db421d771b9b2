"""Saving and loading (scratchnn.serialization): exact round trips, and every malformed or
tampered file rejected with a clear ValueError (never unpickled)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import activations as A
from scratchnn import losses
from scratchnn import optimizers as O
from scratchnn.layers import BatchNorm, Dense, Dropout, Flatten


def full_model(dtype=np.float32, seed=0):
    return snn.Sequential([Flatten(), Dense(6, 8), BatchNorm(8), A.LeakyReLU(0.2), Dropout(0.3),
                           Dense(8, 8, init="xavier_uniform"), A.Tanh(), Dense(8, 4),
                           A.Sigmoid(), Dense(4, 3), A.Softmax()], seed=seed, dtype=dtype)


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2, 3)), rng.integers(0, 3, n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    x, y = data()
    model = full_model(dtype)
    model.compile(losses.CrossEntropy(from_logits=False),
                  O.Momentum(lr=0.05, beta=0.8, nesterov=True, weight_decay=1e-3, clip_norm=2.0),
                  metrics=["accuracy", "f1_score"])
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = snn.load_model(path)
    assert loaded.dtype == dtype
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert [layer.get_config() for layer in loaded.layers] == \
        [layer.get_config() for layer in model.layers]
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):  # incl. BN stats
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.predict(x).dtype == dtype
    # compile settings survive
    assert isinstance(loaded.loss, losses.CrossEntropy) and loaded.loss.from_logits is False
    assert type(loaded.optimizer) is O.Momentum
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.metrics == ["accuracy", "f1_score"]
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    # and the loaded model trains on
    loaded.fit(x, y, epochs=1, verbose=0)


def test_round_trip_of_an_uncompiled_model_and_default_compile(tmp_path):
    model = snn.Sequential([Dense(3, 2)], seed=1)
    snn.save_model(model, tmp_path / "m.npz")
    loaded = snn.load_model(str(tmp_path / "m.npz"))
    assert loaded.loss is None and loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(np.eye(3)), model.predict(np.eye(3)))
    model.compile()
    model.save(tmp_path / "c.npz")
    loaded = snn.load_model(tmp_path / "c.npz")
    assert type(loaded.optimizer) is O.Adam and isinstance(loaded.loss, losses.CrossEntropy)
    assert loaded.metrics == ["accuracy"]


@pytest.mark.parametrize("loss", [losses.MSE(), losses.BinaryCrossEntropy(from_logits=False)])
@pytest.mark.parametrize("optimizer", [O.SGD(lr=0.3), O.RMSProp(lr=0.02, rho=0.8, eps=1e-6),
                                       O.Adam(lr=0.002, beta1=0.8, beta2=0.99),
                                       O.AdamW(lr=0.01, weight_decay=0.05)],
                         ids=lambda o: type(o).__name__)
def test_every_loss_and_optimizer_is_restored(tmp_path, loss, optimizer):
    # probabilities need a Sigmoid head (compile refuses them after a Dense, issue 17)
    head = [A.Sigmoid()] if isinstance(loss, losses.BinaryCrossEntropy) else []
    model = snn.Sequential([Dense(2, 1), *head], seed=0)
    model.compile(loss, optimizer, metrics=[])
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert type(loaded.loss) is type(loss) and loaded.loss.get_config() == loss.get_config()
    assert type(loaded.optimizer) is type(optimizer)
    assert loaded.optimizer.get_config() == optimizer.get_config()


def test_save_never_pickles_and_writes_the_documented_layout(tmp_path):
    model = snn.Sequential([Dense(2, 3), BatchNorm(3)], seed=0)
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["__config__", "buffer:batchnorm_0.running_mean",
                                   "buffer:batchnorm_0.running_var", "param:batchnorm_0.beta",
                                   "param:batchnorm_0.gamma", "param:dense_0.W",
                                   "param:dense_0.b"]
        config = json.loads(str(f["__config__"]))
    assert config["format"] == "scratchnn-model" and config["dtype"] == "float32"
    assert [spec["class"] for spec in config["layers"]] == ["Dense", "BatchNorm"]
    assert list(tmp_path.iterdir()) == [tmp_path / "m.npz"]  # no temporary file left behind


# --------------------------------------------------------------------------------------------
# Malformed and tampered files
# --------------------------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    """A good file and its arrays (config decoded)."""
    model = snn.Sequential([Dense(3, 4), BatchNorm(4), A.ReLU(), Dense(4, 2)], seed=0)
    model.compile("cross_entropy", O.Adam(lr=0.01))
    path = tmp_path / "good.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    config = json.loads(str(arrays["__config__"]))
    return tmp_path, arrays, config


def write(tmp_path, arrays, config=None, name="bad.npz"):
    arrays = dict(arrays)
    if config is not None:
        arrays["__config__"] = np.array(json.dumps(config))
    path = tmp_path / name
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def rejected(path, match):
    with pytest.raises(ValueError, match=match) as info:
        snn.load_model(path)
    assert "is not a valid scratchnn model file" in str(info.value)
    assert str(path) in str(info.value)


def test_good_file_loads(saved):
    tmp_path, arrays, config = saved
    snn.load_model(write(tmp_path, arrays, config))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="load_model: no such file"):
        snn.load_model(tmp_path / "nope.npz")


@pytest.mark.parametrize("content", [b"", b"hello, I am not a zip file\n", b"PK\x03\x04broken",
                                     b"\x93NUMPY garbage"])
def test_not_a_zip(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    rejected(path, "cannot read it as .npz")


def test_a_plain_npy_file_is_not_a_model(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.arange(5.0))
    rejected(path, "npz")


def test_truncated_file(saved):
    tmp_path, _, _ = saved
    data = (tmp_path / "good.npz").read_bytes()
    path = tmp_path / "short.npz"
    path.write_bytes(data[: len(data) // 2])
    rejected(path, "cannot read it as .npz")


def test_pickled_arrays_are_refused(saved):
    tmp_path, arrays, config = saved
    arrays["param:dense_0.b"] = np.array([{"evil": 1}] * 4, dtype=object)
    rejected(write(tmp_path, arrays, config), "cannot read it as .npz|pickle")


def test_missing_config(saved):
    tmp_path, arrays, _ = saved
    del arrays["__config__"]
    rejected(write(tmp_path, arrays), "__config__ entry is missing")


@pytest.mark.parametrize("raw", ["{not json", "", "[1, 2", "null]"])
def test_bad_json(saved, raw):
    tmp_path, arrays, _ = saved
    arrays["__config__"] = np.array(raw)
    rejected(write(tmp_path, arrays), "not valid JSON")


@pytest.mark.parametrize("config, match", [
    ([1, 2, 3], "does not identify a scratchnn model"),
    ({"format": "keras"}, "does not identify a scratchnn model"),
])
def test_config_of_something_else(saved, config, match):
    tmp_path, arrays, _ = saved
    rejected(write(tmp_path, arrays, config), match)


def test_bad_version_dtype_and_layer_list(saved):
    tmp_path, arrays, config = saved
    for key, value, match in [("version", 99, "unsupported format version 99"),
                              ("dtype", "int8", "unsupported dtype 'int8'"),
                              ("layers", [], "layer list is missing or empty"),
                              ("layers", "Dense", "layer list is missing or empty")]:
        rejected(write(tmp_path, arrays, {**config, key: value}), match)


def test_unknown_layer_class(saved):
    tmp_path, arrays, config = saved
    config["layers"][2]["class"] = "os.system"
    rejected(write(tmp_path, arrays, config), "unknown or malformed layer entry")
    config["layers"][2]["class"] = "Layer"  # exists in scratchnn, but not a saveable layer
    rejected(write(tmp_path, arrays, config), "unknown or malformed layer entry")


@pytest.mark.parametrize("layer_config, match", [
    ({"in_features": "3", "out_features": 4}, "bad layer config"),
    ({"in_features": 3, "out_features": 4, "evil": True}, "bad layer config"),
    ({"in_features": 3, "out_features": 4, "init": "nope"}, "bad layer config|unknown"),
    ({"in_features": 5, "out_features": 4}, "do not fit together|missing|shape"),
])
def test_bad_layer_config(saved, layer_config, match):
    tmp_path, arrays, config = saved
    config["layers"][0]["config"] = layer_config
    rejected(write(tmp_path, arrays, config), match)


def test_layer_without_name(saved):
    tmp_path, arrays, config = saved
    del config["layers"][0]["name"]
    rejected(write(tmp_path, arrays, config), "has no name")


def test_layers_that_do_not_fit_together(saved):
    tmp_path, arrays, config = saved
    config["layers"][3]["config"]["in_features"] = 5
    arrays["param:dense_1.W"] = np.zeros((5, 2), np.float32)
    rejected(write(tmp_path, arrays, config), "do not fit together")


@pytest.mark.parametrize("key, shape", [("param:dense_0.W", (4, 3)), ("param:dense_1.b", (3,)),
                                        ("param:batchnorm_0.gamma", (4, 1)),
                                        ("param:dense_0.W", ())])
def test_weight_with_the_wrong_shape(saved, key, shape):
    tmp_path, arrays, config = saved
    arrays[key] = np.zeros(shape, np.float32)
    rejected(write(tmp_path, arrays, config), rf"{key} has shape {shape}".replace("(", r"\(")
             .replace(")", r"\)"))


def test_buffer_with_the_wrong_shape(saved):
    tmp_path, arrays, config = saved
    arrays["buffer:batchnorm_0.running_var"] = np.ones(5, np.float32)
    rejected(write(tmp_path, arrays, config), r"running_var must have shape \(4,\)")


def test_missing_and_extra_arrays(saved):
    tmp_path, arrays, config = saved
    missing = {k: v for k, v in arrays.items() if k != "param:dense_1.b"}
    rejected(write(tmp_path, missing, config), r"missing \['param:dense_1.b'\]")
    missing = {k: v for k, v in arrays.items() if k != "buffer:batchnorm_0.running_mean"}
    rejected(write(tmp_path, missing, config), "missing.*running_mean")
    extra = {**arrays, "param:dense_9.W": np.zeros((2, 2), np.float32)}
    rejected(write(tmp_path, extra, config), r"unexpected \['param:dense_9.W'\]")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights(saved, bad):
    tmp_path, arrays, config = saved
    w = arrays["param:dense_1.W"].copy()
    w[1, 1] = bad
    rejected(write(tmp_path, {**arrays, "param:dense_1.W": w}, config),
             "param:dense_1.W contains NaN or inf")
    rv = arrays["buffer:batchnorm_0.running_var"].copy()
    rv[0] = bad
    rejected(write(tmp_path, {**arrays, "buffer:batchnorm_0.running_var": rv}, config),
             "running_var must be finite floats")


def test_non_float_weights(saved):
    tmp_path, arrays, config = saved
    rejected(write(tmp_path, {**arrays, "param:dense_0.b": np.zeros(4, np.int64)}, config),
             "param:dense_0.b.*dtype int64")
    rejected(write(tmp_path, {**arrays, "param:dense_0.b": np.array(["a"] * 4)}, config),
             "param:dense_0.b.*dtype <U1")


def test_zip_member_that_is_not_an_array(saved):
    tmp_path, arrays, config = saved
    path = write(tmp_path, {k: v for k, v in arrays.items() if k != "param:dense_1.b"}, config)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("param:dense_1.b", b"raw bytes, not an .npy array")
    rejected(path, "param:dense_1.b")


@pytest.mark.parametrize("section, spec, match", [
    ("loss", {"class": "Hinge", "config": {}}, "unknown or malformed loss entry"),
    ("loss", {"class": "CrossEntropy", "config": {"gamma": 2}}, "bad loss config"),
    ("optimizer", {"class": "LBFGS", "config": {}}, "unknown or malformed optimizer entry"),
    ("optimizer", {"class": "Adam", "config": {"lr": -1}}, "bad optimizer config"),
    ("metrics", ["accuracy", 3], "bad metrics list"),
    ("metrics", ["top_k"], "unknown metric 'top_k'"),  # 'auc' is a metric since issue 17
])
def test_bad_compile_settings(saved, section, spec, match):
    tmp_path, arrays, config = saved
    config[section] = spec
    rejected(write(tmp_path, arrays, config), match)
